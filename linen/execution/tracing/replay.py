"""Re-running what the chain ran, with a tracer attached.

A sealed transaction is traced by building its block's state over the parent's state root (an
in-memory overlay, nothing is written), applying the block's earlier transactions without a
tracer, then the traced one with it. A call is traced on the state of the block it names, with
eth_call's defaults and state overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from eth._utils.address import generate_contract_address
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.vm.forks.prague import PragueVM
from eth_utils import ValidationError

from linen.chain.types import BlockHeader, BlockTransaction
from linen.errors import InvalidParams, ResourceNotFound
from linen.execution.engine import AccountOverride, CallRequest
from linen.execution.pyevm_engine import CALL_GAS_CAP, PyEvmEngine
from linen.execution.tracing.core import Tracer, TracingPragueState


@dataclass
class TxRun:
    """One traced execution: the transaction's fields, py-evm's result and the state after it."""

    sender: bytes
    to: bytes | None  # None: a contract creation
    created: bytes | None  # the new contract's address (creations)
    value: int
    gas_limit: int
    data: bytes
    computation: Any
    gas_used: int
    state: TracingPragueState

    @property
    def success(self) -> bool:
        return bool(self.computation.is_success)

    @property
    def output(self) -> bytes:
        return bytes(self.computation.output)

    def code(self, code_hash: bytes) -> bytes:
        """Bytecode by hash, from the replay's own journal first (code deployed earlier in the block)."""
        if code_hash == _EMPTY_CODE_HASH:
            return b""
        return bytes(self.state._account_db._journaldb[code_hash])


_EMPTY_CODE_HASH = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


class TracingEngine(PyEvmEngine):
    """The node's engine with the tracing state class; reads the same store, never writes."""

    def __init__(self, engine: PyEvmEngine) -> None:
        super().__init__(engine.store, engine.chain_id, record_opcodes=False)
        self._base = engine

    def _state_nodes(self) -> Any:
        return self._base._state_nodes()

    state_class = TracingPragueState


def _apply(state: TracingPragueState, tx: Any, tracer: Tracer | None) -> Any:
    state.lock_changes()
    state.account_db.start_recording()
    state.tracer, state.pending_call_op = tracer, None
    try:
        return state.apply_transaction(tx)
    finally:
        state.tracer = None


def _run(state: TracingPragueState, tx: Any, sender: bytes, tracer: Tracer) -> TxRun:
    try:
        computation = _apply(state, tx, tracer)
    except ValidationError as exc:
        raise InvalidParams(f"transaction cannot execute: {exc}") from None
    create = tx.to == CREATE_CONTRACT_ADDRESS
    return TxRun(
        sender=sender,
        to=None if create else bytes(tx.to),
        created=generate_contract_address(sender, tx.nonce) if create else None,
        value=tx.value,
        gas_limit=tx.gas,
        data=bytes(tx.data),
        computation=computation,
        gas_used=PragueVM.finalize_gas_used(tx, computation),
        state=state,
    )


def block_parent(engine: PyEvmEngine, header: BlockHeader) -> BlockHeader:
    if header.block_number == 0:
        raise InvalidParams("genesis is not traceable")
    parent = engine.store.header_by_hash(header.parent_hash)
    if parent is None:
        raise ResourceNotFound(f"parent of block {header.block_number} not found")
    return parent


def trace_block(
    engine: PyEvmEngine, header: BlockHeader, make_tracer: Callable[[], Tracer], only: int | None = None
) -> Iterator[tuple[BlockTransaction, Tracer, TxRun]]:
    """Trace the block's transactions in order (or only the one at index `only`; earlier ones run untraced)."""
    parent = block_parent(engine, header)
    tracing = TracingEngine(engine)
    state, _ = tracing.state_for_new_block(header, parent.state_root)
    transactions = engine.store.transactions(bytes(header.hash))
    for index, btx in enumerate(transactions):
        if only is not None and index > only:
            return
        if only is not None and index < only:
            _apply(state, btx.decoded, None)
            continue
        tracer = make_tracer()
        yield btx, tracer, _run(state, btx.decoded, btx.sender, tracer)


def trace_transaction(engine: PyEvmEngine, tx_hash: bytes, tracer: Tracer) -> TxRun:
    location = engine.store.tx_location(tx_hash)
    if location is None:
        raise ResourceNotFound("transaction not found")
    number, index = location
    header = engine.store.header_by_number(number)
    if header is None:
        raise ResourceNotFound(f"block {number} not found")
    for _btx, _tracer, run in trace_block(engine, header, lambda: tracer, only=index):
        return run
    raise ResourceNotFound("transaction not found in its block")


def call_gas(request: CallRequest, header: BlockHeader) -> int:
    """eth_call's gas: the request's (at most the RPC cap), else the block limit capped."""
    if request.gas is None:
        return min(header.gas_limit, CALL_GAS_CAP)
    return min(request.gas, CALL_GAS_CAP)


def trace_call(
    engine: PyEvmEngine,
    request: CallRequest,
    header: BlockHeader,
    overrides: dict[bytes, AccountOverride],
    tracer: Tracer,
    gas: int | None = None,
) -> TxRun:
    tracing = TracingEngine(engine)
    state, spoof = tracing._prepare_call(request, header, overrides, call_gas(request, header) if gas is None else gas)
    return _run(state, spoof, request.sender, tracer)
