"""What the coordinator reads from the L2 node, over its public JSON-RPC only.

A block for conflation is its consensus RLP (`debug_getRawBlock`: the signed envelopes), the senders
and timestamp (`eth_getBlockByNumber` with full transactions: recovered once by the node, not again
here) and its trace counts (`linea_getBlockTracesCountersV2`). The parent state of an aggregation is
the L2 message service's anchoring record at the block before it (`eth_call` at that block).
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak

from linen.coordinator.conflation import ConflationBlock
from linen.errors import OperationalError
from linen.protocol.blob import BlobBlock
from linen.rpc.client import RpcClient

LAST_ANCHORED_SELECTOR = keccak(b"lastAnchoredL1MessageNumber()")[:4]
ROLLING_HASHES_SELECTOR = keccak(b"l1RollingHashes(uint256)")[:4]


class BlockNotReady(OperationalError):
    """The node (or its tracer) has no such block yet."""


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def fetch_conflation_block(node: RpcClient, number: int) -> ConflationBlock:
    full = node.call("eth_getBlockByNumber", hex(number), True)
    if full is None:
        raise BlockNotReady(f"the node has no block {number} yet")
    raw = _bytes(node.call("debug_getRawBlock", hex(number)))
    _header, items, *_ = rlp.decode(raw)
    envelopes = [item if isinstance(item, bytes) else rlp.encode(item) for item in items]
    senders = [_bytes(tx["from"]) for tx in full["transactions"]]
    if len(envelopes) != len(senders):
        raise OperationalError(f"block {number}: the raw block and the JSON block disagree on the transactions")
    counts = node.call("linea_getBlockTracesCountersV2", {"blockNumber": number})["tracesCounters"]
    timestamp = int(full["timestamp"], 16)
    blob_block = BlobBlock(timestamp, _bytes(full["hash"]), tuple(zip(senders, envelopes, strict=True)))
    return ConflationBlock(number, timestamp, {k: int(v) for k, v in counts.items()}, blob_block)


@dataclass(frozen=True)
class L2ParentState:
    """The L2 at the block before an aggregation: what finalization continues from."""

    block_number: int
    timestamp: int
    l1_message_number: int
    l1_rolling_hash: bytes


def read_parent_state(node: RpcClient, l2_message_service: str, block_number: int) -> L2ParentState:
    block = node.call("eth_getBlockByNumber", hex(block_number), False)
    if block is None:
        raise BlockNotReady(f"the node has no block {block_number}")
    tag = hex(block_number)
    number = 0
    rolling = bytes(32)
    code = node.call("eth_getCode", l2_message_service, tag)
    if code not in ("0x", None):  # before the service is deployed nothing is anchored
        answer = node.call("eth_call", {"to": l2_message_service, "data": "0x" + LAST_ANCHORED_SELECTOR.hex()}, tag)
        number = int(answer, 16)
        if number:
            data = "0x" + (ROLLING_HASHES_SELECTOR + number.to_bytes(32, "big")).hex()
            rolling = _bytes(node.call("eth_call", {"to": l2_message_service, "data": data}, tag))
    return L2ParentState(block_number, int(block["timestamp"], 16), number, rolling)
