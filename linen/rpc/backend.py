"""What the RPC layer needs from the node, as one small interface.

The RPC handlers see only this: the chain store (blocks, receipts, indexes), the execution engine
(state reads, calls), the pool, and hooks to submit transactions and follow new blocks. `node.py`
provides the real one; nothing in `rpc/` imports the sequencer's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from linen.chain.store import ChainStore
from linen.chain.types import Block
from linen.config import SequencerRules
from linen.execution.pyevm_engine import PyEvmEngine
from linen.execution.transactions import PooledTransaction


@dataclass(frozen=True)
class RpcLimits:
    max_batch_size: int = 1000  # requests in one JSON-RPC batch
    max_request_bytes: int = 5 * 1024 * 1024  # HTTP body / WebSocket message
    max_logs_block_range: int = 10_000  # eth_getLogs block span
    max_logs_results: int = 10_000  # eth_getLogs result count
    max_filters: int = 1_000  # installed filters
    filter_timeout_seconds: float = 300.0  # filters not polled for this long are removed
    max_fee_history_blocks: int = 1024
    gas_cap: int = 50_000_000  # geth's RPCGasCap for eth_call, eth_estimateGas and traces
    evm_timeout_seconds: float = 5.0  # geth's RPCEVMTimeout: wall clock for one offloaded call
    max_offloaded_calls: int = 64  # calls running or waiting for an EVM thread; past that -32005
    idle_timeout_seconds: float = 120.0  # a connection with no request in flight is closed after this


class PoolView(Protocol):
    """What the RPC layer reads of the transaction pool (the sequencer's TxPool provides it)."""

    def get(self, tx_hash: bytes) -> PooledTransaction | None: ...

    def next_nonce(self, address: bytes) -> int: ...

    def status(self) -> dict[str, int]: ...

    def content(self) -> dict[str, dict[bytes, dict[int, PooledTransaction]]]: ...


class RpcBackend(Protocol):
    chain_id: int
    store: ChainStore
    engine: PyEvmEngine
    pool: PoolView
    limits: RpcLimits
    client_version: str
    min_gas_price: int  # wei; the floor the sequencer accepts
    rules: SequencerRules  # profitability for linea_estimateGas
    exclusions: object  # linen.sequencer.exclusions.ExclusionStore: refused transactions and why
    traces_dir: Path  # where linea_generateConflatedTracesToFileV2 writes

    def pending_base_fee(self) -> int:
        """The base fee of the next block."""

    def submit_raw_transaction(self, raw: bytes) -> bytes:
        """Decode, validate and pool a raw transaction; returns its hash or raises InvalidTransaction."""

    def add_block_listener(self, listener: Callable[[Block], None]) -> None:
        """Call `listener(block)` (in the event loop thread) after each sealed block is committed."""

    def safe_block_number(self) -> int:
        """Head for 'safe' (the single sequencer's blocks are final once sealed; later: L1-finalized)."""

    def finalized_block_number(self) -> int: ...
