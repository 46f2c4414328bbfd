"""The engine interface: what the sequencer and RPC need from an EVM.

`PyEvmEngine` (py-evm, Prague rules) is the implementation; a native engine may replace it
behind the same interface for speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from linen.chain.types import Block, BlockHeader, BlockTransaction, Receipt
from linen.execution.transactions import PooledTransaction
from linen.execution.types import CallResult, TransactionExecution
from linen.primitives.diffs import StateDiff


@dataclass(frozen=True)
class CallRequest:
    """An eth_call / eth_estimateGas message (unsigned; `sender` defaults to the zero address)."""

    sender: bytes
    to: bytes | None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    data: bytes = b""
    nonce: int | None = None
    access_list: tuple = ()


@dataclass(frozen=True)
class AccountOverride:
    """State override for eth_call (geth's format): replace fields, or the whole storage."""

    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    state: dict[int, int] | None = None  # replaces all storage
    state_diff: dict[int, int] = field(default_factory=dict)  # patches single slots


@dataclass
class SealedExecution:
    """A finished block body: header fields filled except the seal, plus what the store writes."""

    header: BlockHeader
    executions: list[TransactionExecution]
    transactions: list[PooledTransaction]
    state_writes: dict[bytes, bytes]
    state_diff: StateDiff

    def to_block(self, header: BlockHeader) -> Block:
        """The block as the store keeps it, under `header` (the sealed form of `self.header`)."""
        transactions = tuple(BlockTransaction(p.raw, p.sender, p.hash) for p in self.transactions)
        receipts = tuple(
            Receipt(
                tx_type=p.type,
                status=int(e.success),
                cumulative_gas_used=e.cumulative_gas_used,
                gas_used=e.gas_used,
                effective_gas_price=e.effective_gas_price,
                contract_address=e.contract_address,
                logs=e.logs,
            )
            for p, e in zip(self.transactions, self.executions, strict=True)
        )
        return Block(header, transactions, receipts)


class BlockBuilderAPI(Protocol):
    gas_remaining: int

    def apply(self, ptx: PooledTransaction, deadline: float | None = None, budget: float = 0.0) -> TransactionExecution:
        """Execute one transaction on the block; raises InvalidTransaction (state untouched) if it cannot go in,
        ExecutionTimeout past `deadline` (time.monotonic()), UnexecutableTransaction if the EVM itself raised."""

    def undo_last(self) -> None:
        """Revert the last applied transaction (state, gas, receipts), e.g. when it overflows a limit."""

    def finish(self) -> SealedExecution: ...


class ExecutionEngine(Protocol):
    def begin_block(self, header: BlockHeader) -> BlockBuilderAPI: ...

    def call(self, request: CallRequest, header: BlockHeader, overrides: dict[bytes, AccountOverride]) -> CallResult: ...

    def estimate_gas(
        self, request: CallRequest, header: BlockHeader, overrides: dict[bytes, AccountOverride]
    ) -> int: ...

    def get_balance(self, address: bytes, header: BlockHeader) -> int: ...

    def get_nonce(self, address: bytes, header: BlockHeader) -> int: ...

    def get_code(self, address: bytes, header: BlockHeader) -> bytes: ...

    def get_storage(self, address: bytes, slot: int, header: BlockHeader) -> int: ...
