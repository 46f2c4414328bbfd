"""Reading the bridge's events in bounded block ranges, and MessageSent logs as messages.

Nodes cap `eth_getLogs` by block range or result count (Linen at 10,000 blocks by default, hosted
providers far lower), so every query here is cut into chunks of at most `chunk` blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from web3 import Web3

from linen.errors import OperationalError
from linen.primitives.hexcodec import to_data
from linen.protocol.messaging import MESSAGE_SENT_TOPIC, compute_message_hash

DEFAULT_CHUNK = 1000


@dataclass(frozen=True)
class SentMessage:
    """One MessageSent event: the message's fields as hashed, and where it was emitted."""

    message_hash: bytes
    sender: str
    recipient: str
    fee: int
    value: int
    nonce: int
    calldata: bytes
    block_number: int
    log_index: int
    transaction_hash: str



def _topic(value: bytes | int | str) -> str:
    if isinstance(value, int):
        return to_data(value.to_bytes(32, "big"))
    if isinstance(value, str):
        return to_data(bytes(12) + bytes.fromhex(value.removeprefix("0x"))) if len(value) == 42 else value
    return to_data(value)


def get_logs(w3: Web3, address: str, topics: Sequence, from_block: int, to_block: int,
             chunk: int = DEFAULT_CHUNK) -> list:
    """Logs of `address` matching `topics` in [from_block, to_block], in chain order, `chunk` blocks per query."""
    if chunk < 1:
        raise ValueError("chunk must be at least one block")
    query_topics = [None if t is None else _topic(t) for t in topics]
    out: list = []
    start = max(from_block, 0)
    while start <= to_block:
        end = min(to_block, start + chunk - 1)
        out += w3.eth.get_logs({"address": Web3.to_checksum_address(address), "topics": query_topics,
                                "fromBlock": start, "toBlock": end})
        start = end + 1
    return sorted(out, key=lambda log: (log["blockNumber"], log["logIndex"]))


def find_log_backwards(w3: Web3, address: str, topics: Sequence, from_block: int, to_block: int,
                       accept: Callable[[object], bool] = lambda _log: True, chunk: int = DEFAULT_CHUNK):
    """The latest log in [from_block, to_block] that `accept`s, searching from `to_block` down; None if none.

    Recent events are what callers look for (the finalization of a recent message), so the search
    usually ends in the first chunk instead of reading the chain from its start.
    """
    end = to_block
    while end >= max(from_block, 0):
        start = max(from_block, end - chunk + 1, 0)
        for log in reversed(get_logs(w3, address, topics, start, end, chunk)):
            if accept(log):
                return log
        end = start - 1
    return None


def _address_of(topic: bytes) -> str:
    return Web3.to_checksum_address(bytes(topic)[-20:])


def decode_message_sent(log) -> SentMessage:  # type: ignore[no-untyped-def]
    """A MessageSent log as a message; refuses a log whose fields do not hash to its indexed hash."""
    topics = [bytes(t) for t in log["topics"]]
    if len(topics) != 4 or topics[0] != MESSAGE_SENT_TOPIC:
        raise OperationalError(f"log {log['logIndex']} of block {log['blockNumber']} is not a MessageSent event")
    fee, value, nonce, calldata = abi_decode(["uint256", "uint256", "uint256", "bytes"], bytes(log["data"]))
    message = SentMessage(
        message_hash=topics[3], sender=_address_of(topics[1]), recipient=_address_of(topics[2]), fee=fee,
        value=value, nonce=nonce, calldata=bytes(calldata), block_number=log["blockNumber"],
        log_index=log["logIndex"], transaction_hash=to_data(log["transactionHash"]),
    )
    expected = compute_message_hash(topics[1][-20:], topics[2][-20:], fee, value, nonce, message.calldata)
    if expected != message.message_hash:
        raise OperationalError(f"MessageSent in block {message.block_number} carries hash {to_data(topics[3])}, "
                               f"its fields hash to {to_data(expected)}")
    return message


def message_sent_logs(w3: Web3, service: str, from_block: int, to_block: int,
                      chunk: int = DEFAULT_CHUNK) -> list[SentMessage]:
    """Every message `service` sent in [from_block, to_block], in block and log order."""
    return [decode_message_sent(log) for log in get_logs(w3, service, [MESSAGE_SENT_TOPIC], from_block, to_block,
                                                          chunk)]
