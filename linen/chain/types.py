"""Blocks, transactions and receipts as the chain stores and serves them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlockHeader

from linen.primitives.diffs import Log

BlockHeader = PragueBlockHeader
TRANSACTION_BUILDER = PragueVM.get_transaction_builder()  # legacy and typed transactions, as blocks carry them


@dataclass(frozen=True)
class BlockTransaction:
    """A transaction inside a block: its bytes and its sender (recovered once, at submission)."""

    raw: bytes
    sender: bytes
    hash: bytes

    @cached_property
    def decoded(self) -> Any:
        return TRANSACTION_BUILDER.decode(self.raw)

    @property
    def type(self) -> int:
        return self.raw[0] if self.raw[0] < 0x7F else 0


@dataclass(frozen=True)
class Receipt:
    tx_type: int
    status: int
    cumulative_gas_used: int
    gas_used: int
    effective_gas_price: int
    contract_address: bytes | None
    logs: tuple[Log, ...]


@dataclass(frozen=True)
class Block:
    header: BlockHeader
    transactions: tuple[BlockTransaction, ...]
    receipts: tuple[Receipt, ...]

    @property
    def number(self) -> int:
        return self.header.block_number

    @property
    def hash(self) -> bytes:
        return bytes(self.header.hash)
