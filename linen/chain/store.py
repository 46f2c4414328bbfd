"""The chain store: headers, bodies, receipts, indexes and trielogs over the LMDB tables.

`commit_block` writes a whole sealed block, the state trie nodes it created and the new head in a
single LMDB transaction, which is what makes a restart (or a `kill -9`) land exactly on the last
sealed block.
"""

from __future__ import annotations

from functools import lru_cache

import rlp

from linen.chain.codec import decode_body, decode_receipts, decode_state_diff, encode_body, encode_receipts
from linen.chain.kv import KeyValueStore
from linen.chain.types import Block, BlockHeader, BlockTransaction, Receipt
from linen.primitives.diffs import StateDiff

HEAD_KEY = b"head"
GENESIS_KEY = b"genesis"


def _number_key(number: int) -> bytes:
    return number.to_bytes(8, "big")


class ChainStore:
    """Canonical chain reader/writer; a single sequencer means no forks, so canonical == stored."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        self._head: BlockHeader | None = None
        head_hash = kv.get("meta", HEAD_KEY)
        if head_hash is not None:
            self._head = self.header_by_hash(head_hash)
        self.transactions = lru_cache(maxsize=256)(self._transactions)
        self.receipts = lru_cache(maxsize=256)(self._receipts)

    @property
    def is_initialized(self) -> bool:
        return self._head is not None

    def head(self) -> BlockHeader:
        if self._head is None:
            raise LookupError("chain store has no genesis yet")
        return self._head

    def genesis_hash(self) -> bytes | None:
        return self.kv.get("meta", GENESIS_KEY)

    def header_by_hash(self, block_hash: bytes) -> BlockHeader | None:
        data = self.kv.get("headers", block_hash)
        return None if data is None else rlp.decode(data, sedes=BlockHeader)

    def hash_by_number(self, number: int) -> bytes | None:
        return self.kv.get("canonical", _number_key(number))

    def header_by_number(self, number: int) -> BlockHeader | None:
        head = self._head
        if head is None or number > head.block_number or number < 0:
            return None
        if number == head.block_number:
            return head
        block_hash = self.hash_by_number(number)
        return None if block_hash is None else self.header_by_hash(block_hash)

    def _transactions(self, block_hash: bytes) -> tuple[BlockTransaction, ...]:
        data = self.kv.get("bodies", block_hash)
        return () if data is None else decode_body(data)

    def _receipts(self, block_hash: bytes) -> tuple[Receipt, ...]:
        data = self.kv.get("receipts", block_hash)
        return () if data is None else decode_receipts(data)

    def tx_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(block number, index in block) of a sealed transaction."""
        data = self.kv.get("txindex", tx_hash)
        if data is None:
            return None
        return int.from_bytes(data[:8], "big"), int.from_bytes(data[8:], "big")

    def state_diff(self, block_hash: bytes) -> StateDiff | None:
        data = self.kv.get("diffs", block_hash)
        return None if data is None else decode_state_diff(data)

    def trace_counts(self, block_hash: bytes) -> bytes | None:
        """The block's encoded per-module line counts (see `linen.execution.tracer.counts`), if it was traced."""
        return self.kv.get("traces", block_hash)

    def code(self, code_hash: bytes) -> bytes | None:
        """Contract bytecode by its keccak hash (py-evm keeps code in the state table under that key)."""
        return self.kv.get("state", code_hash)

    def commit_block(
        self, block: Block, state_writes: dict[bytes, bytes], encoded_diff: bytes, encoded_traces: bytes | None = None
    ) -> None:
        """Persist a sealed block (and its trace counts) atomically and make it the head."""
        block_hash = block.hash
        puts: list[tuple[str, bytes, bytes]] = [("state", k, v) for k, v in state_writes.items()]
        if encoded_traces is not None:
            puts.append(("traces", block_hash, encoded_traces))
        puts.append(("headers", block_hash, rlp.encode(block.header)))
        puts.append(("canonical", _number_key(block.number), block_hash))
        puts.append(("bodies", block_hash, encode_body(block.transactions)))
        puts.append(("receipts", block_hash, encode_receipts(block.receipts)))
        puts.append(("diffs", block_hash, encoded_diff))
        location = _number_key(block.number)
        for index, tx in enumerate(block.transactions):
            puts.append(("txindex", tx.hash, location + index.to_bytes(4, "big")))
        puts.append(("meta", HEAD_KEY, block_hash))
        if block.number == 0:
            puts.append(("meta", GENESIS_KEY, block_hash))
        self.kv.write(puts)
        self._head = block.header

    def block(self, block_hash: bytes) -> Block | None:
        header = self.header_by_hash(block_hash)
        if header is None:
            return None
        return Block(header, self.transactions(block_hash), self.receipts(block_hash))
