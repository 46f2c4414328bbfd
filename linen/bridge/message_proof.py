"""What a user needs to claim an L2→L1 message on L1, rebuilt from events alone (as Linea's SDK does).

Nothing here keeps state: the message is found by its indexed hash among the L2 message service's
MessageSent logs; the L1 finalization whose block range holds it, by its DataFinalizedV3 event;
every message the service sent in that range, in block and log order, is packed into the depth-5
mini-trees the prover built; the message's leaf gives the root, leaf index and siblings, and the root
must be one L1 recorded (`l2MerkleRootsDepths`), which catches an L2 node that disagrees with what
was finalized before the user pays for a doomed claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3 import Web3

from linen.bridge.abi import DATA_FINALIZED_V3_TOPIC, L1_MESSAGE_SERVICE_ABI
from linen.bridge.logs import (
    DEFAULT_CHUNK,
    SentMessage,
    decode_message_sent,
    find_log_backwards,
    get_logs,
    message_sent_logs,
)
from linen.errors import OperationalError, ResourceNotFound
from linen.primitives.hexcodec import to_data
from linen.protocol.messaging import L2_MESSAGE_TREE_DEPTH, MESSAGE_SENT_TOPIC, l2_message_proof


class MessageNotFinalized(OperationalError):
    """The message exists on L2 but no finalization on L1 covers its block yet; retry later."""

    def __init__(self, message_hash: bytes, l2_block: int, finalized_block: int) -> None:
        super().__init__(f"message 0x{message_hash.hex()} was sent in L2 block {l2_block}; L1 has finalized L2 "
                         f"up to block {finalized_block}: it can be claimed once that block is finalized")
        self.l2_block = l2_block
        self.finalized_block = finalized_block


class UnknownMessage(ResourceNotFound):
    """No MessageSent event of the L2 message service carries this hash."""


class ClaimDataMismatch(OperationalError):
    """The root rebuilt from the L2 node's logs is not one L1 recorded: the node does not hold the finalized chain."""


@dataclass(frozen=True)
class L2ToL1Claim:
    """Everything claimMessageWithProof needs, plus where the message and its finalization are."""

    message_hash: bytes
    message_number: int
    leaf_index: int
    proof: list[bytes]
    merkle_root: bytes
    sender: str
    recipient: str
    fee: int
    value: int
    data: bytes
    l2_block_number: int = 0
    finalized_range: tuple[int, int] = (0, 0)

    def as_abi(self, fee_recipient: str) -> tuple:
        """The ClaimMessageWithProofParams tuple; `fee_recipient` gets the fee (zero address: the caller)."""
        return (list(self.proof), self.message_number, self.leaf_index, self.sender, self.recipient, self.fee,
                self.value, Web3.to_checksum_address(fee_recipient), self.merkle_root, self.data)



def l1_message_service(l1: Web3, rollup: str):  # type: ignore[no-untyped-def]
    return l1.eth.contract(address=Web3.to_checksum_address(rollup), abi=L1_MESSAGE_SERVICE_ABI)


def find_l2_message(l2: Web3, l2_message_service: str, message_hash: bytes, *, l2_block: int | None = None,
                    l2_from_block: int = 0, chunk: int = DEFAULT_CHUNK) -> SentMessage:
    """The MessageSent event carrying `message_hash` (in `l2_block` if known, else searched from the head down)."""
    topics = [MESSAGE_SENT_TOPIC, None, None, bytes(message_hash)]
    if l2_block is not None:
        logs = get_logs(l2, l2_message_service, topics, l2_block, l2_block, chunk)
        log = logs[0] if logs else None
    else:
        log = find_log_backwards(l2, l2_message_service, topics, l2_from_block, l2.eth.block_number, chunk=chunk)
    if log is None:
        where = f"in L2 block {l2_block}" if l2_block is not None else f"since L2 block {l2_from_block}"
        raise UnknownMessage(f"no message with hash {to_data(message_hash)} was sent by the L2 message service "
                             f"{l2_message_service} {where}")
    return decode_message_sent(log)


def find_finalization(l1: Web3, rollup: str, l2_block: int, *, l1_from_block: int = 0,
                      chunk: int = DEFAULT_CHUNK) -> tuple[int, int]:
    """(start, end) of the DataFinalizedV3 on L1 whose L2 block range contains `l2_block`."""

    def contains(log) -> bool:  # type: ignore[no-untyped-def]
        start, end = (int.from_bytes(bytes(t), "big") for t in log["topics"][1:3])
        return start <= l2_block <= end

    log = find_log_backwards(l1, rollup, [DATA_FINALIZED_V3_TOPIC], l1_from_block, l1.eth.block_number, contains,
                             chunk)
    if log is None:
        raise OperationalError(f"L2 block {l2_block} is finalized, but no DataFinalizedV3 event since L1 block "
                               f"{l1_from_block} covers it (it predates the rollup's first finalization?)")
    return tuple(int.from_bytes(bytes(t), "big") for t in log["topics"][1:3])  # type: ignore[return-value]


def claim_from_range(l1: Web3, rollup: str, range_messages: Sequence[SentMessage], message_hash: bytes,
                     finalized_range: tuple[int, int] = (0, 0)) -> L2ToL1Claim:
    """The claim of `message_hash` given every message the L2 service sent in its finalization's range, in order."""
    hashes = [m.message_hash for m in range_messages]
    try:
        index = hashes.index(bytes(message_hash))
    except ValueError:
        raise UnknownMessage(f"message {to_data(message_hash)} is not among the {len(hashes)} messages of L2 blocks "
                             f"{finalized_range[0]}-{finalized_range[1]}") from None
    root, leaf_index, siblings = l2_message_proof(hashes, index, L2_MESSAGE_TREE_DEPTH)
    depth = int(l1_message_service(l1, rollup).functions.l2MerkleRootsDepths(root).call())
    if depth != L2_MESSAGE_TREE_DEPTH:
        raise ClaimDataMismatch(
            f"the tree of message {to_data(message_hash)} has root {to_data(root)}, which L1 did not record "
            f"(depth {depth}): the L2 node's logs for blocks {finalized_range[0]}-{finalized_range[1]} differ "
            "from what was finalized"
        )
    m = range_messages[index]
    return L2ToL1Claim(
        message_hash=bytes(message_hash), message_number=m.nonce, leaf_index=leaf_index,
        proof=[bytes(s) for s in siblings], merkle_root=bytes(root), sender=m.sender, recipient=m.recipient,
        fee=m.fee, value=m.value, data=m.calldata, l2_block_number=m.block_number, finalized_range=finalized_range,
    )


def build_l2_to_l1_claim(l1: Web3, rollup: str, l2: Web3, l2_message_service: str, message_hash: bytes, *,
                         l2_block: int | None = None, l1_from_block: int = 0, l2_from_block: int = 0,
                         chunk: int = DEFAULT_CHUNK) -> L2ToL1Claim:
    """The claim of an L2→L1 message; raises UnknownMessage, MessageNotFinalized or ClaimDataMismatch.

    `l2_block` (where the message was sent, when known) spares the search for it; `*_from_block`
    bound the searches on chains with a long history before the bridge existed.
    """
    message = find_l2_message(l2, l2_message_service, message_hash, l2_block=l2_block, l2_from_block=l2_from_block,
                              chunk=chunk)
    finalized = int(l1_message_service(l1, rollup).functions.currentL2BlockNumber().call())
    if message.block_number > finalized:
        raise MessageNotFinalized(bytes(message_hash), message.block_number, finalized)
    start, end = find_finalization(l1, rollup, message.block_number, l1_from_block=l1_from_block, chunk=chunk)
    range_messages = message_sent_logs(l2, l2_message_service, start, end, chunk)
    return claim_from_range(l1, rollup, range_messages, message_hash, (start, end))


def claim_to_json(claim: L2ToL1Claim) -> dict:
    """The claim as `linen_getMessageProof` answers it (quantities in 0x-hex, as JSON-RPC does)."""
    return {
        "messageHash": to_data(claim.message_hash),
        "messageNumber": hex(claim.message_number),
        "leafIndex": hex(claim.leaf_index),
        "proof": [to_data(p) for p in claim.proof],
        "merkleRoot": to_data(claim.merkle_root),
        "from": claim.sender,
        "to": claim.recipient,
        "fee": hex(claim.fee),
        "value": hex(claim.value),
        "calldata": to_data(claim.data),
        "l2BlockNumber": hex(claim.l2_block_number),
        "finalizedRange": [hex(claim.finalized_range[0]), hex(claim.finalized_range[1])],
    }
