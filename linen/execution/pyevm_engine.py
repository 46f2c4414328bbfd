"""The py-evm engine: executes transactions and blocks with Prague rules over the LMDB state.

Each block is built on an `OverlayDB` over the stored trie nodes; `finish` hands the overlay's new
nodes to the chain store, which commits them with the block in one transaction. Calls and gas
estimates run on a throwaway overlay and never write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from eth._utils.address import generate_contract_address
from eth.abc import ComputationAPI
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.exceptions import Revert
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.byzantium.constants import (
    EIP658_TRANSACTION_STATUS_CODE_FAILURE,
    EIP658_TRANSACTION_STATUS_CODE_SUCCESS,
)
from eth.vm.forks.prague import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_utils import ValidationError

from linen.chain.kv import OverlayDB
from linen.chain.store import ChainStore
from linen.chain.types import BlockHeader
from linen.errors import ExecutionReverted, ExecutionTimeout, InvalidParams, InvalidTransaction
from linen.execution.deadline import current_budget, current_deadline
from linen.execution.engine import AccountOverride, CallRequest, SealedExecution
from linen.execution.recording import RecordingPragueState
from linen.execution.transactions import TRANSACTION_BUILDER, PooledTransaction
from linen.execution.types import CallResult, TransactionExecution
from linen.primitives.diffs import Log, merge_state_diffs
from linen.primitives.ordered_trie import ordered_trie_root

HISTORY_DEPTH = 256


class UnexecutableTransaction(Exception):
    """Executing a transaction raised inside the EVM (not a normal failure): it must leave the pool for good."""

CALL_GAS_CAP = 50_000_000


class _AncestorHashes:
    """BLOCKHASH's view of the chain: lazily walks parent hashes, newest first."""

    def __init__(self, store: ChainStore, parent_hash: bytes, parent_number: int) -> None:
        self._store, self._parent_hash, self._parent_number = store, parent_hash, parent_number

    def __iter__(self) -> Iterator[bytes]:
        if self._parent_number < 0:
            return
        yield self._parent_hash
        for number in range(self._parent_number - 1, max(-1, self._parent_number - HISTORY_DEPTH), -1):
            block_hash = self._store.hash_by_number(number)
            if block_hash is None:
                return
            yield block_hash


def _logs(computation: ComputationAPI) -> tuple[Log, ...]:
    return tuple(
        Log(bytes(address), tuple(t.to_bytes(32, "big") for t in topics), bytes(data))
        for address, topics, data in computation.get_log_entries()
    )


def _error_text(computation: ComputationAPI) -> str | None:
    if computation.is_success:
        return None
    error = computation.error
    if isinstance(error, Revert):  # py-evm's text for a revert is the payload's repr: say it plainly
        return "execution reverted"
    return str(error) or type(error).__name__


class PyEvmEngine:
    state_class: type[RecordingPragueState] = RecordingPragueState  # a tracing engine runs a subclass

    def __init__(self, store: ChainStore, chain_id: int, record_opcodes: bool = True) -> None:
        self.store = store
        self.chain_id = chain_id
        self.record_opcodes = record_opcodes

    # -- state --------------------------------------------------------------------------------
    def _state_nodes(self) -> Any:
        """Where trie nodes are read from: the chain store (a stateless run gives its own witness db)."""
        from linen.chain.kv import StateNodeReader

        return StateNodeReader(self.store.kv)

    def _prev_hashes(self, header: BlockHeader) -> Iterable[bytes]:
        """What BLOCKHASH can see from `header`: its ancestors' hashes, newest first."""
        return _AncestorHashes(self.store, header.parent_hash, header.block_number - 1)

    def _state(self, header: BlockHeader, base_fee: int | None = None) -> tuple[RecordingPragueState, OverlayDB]:
        overlay = OverlayDB(self._state_nodes())
        context = ExecutionContext(
            coinbase=header.coinbase,
            timestamp=header.timestamp,
            block_number=header.block_number,
            difficulty=header.difficulty,
            mix_hash=header.mix_hash,
            gas_limit=header.gas_limit,
            prev_hashes=self._prev_hashes(header),
            chain_id=self.chain_id,
            base_fee_per_gas=header.base_fee_per_gas if base_fee is None else base_fee,
            excess_blob_gas=header.excess_blob_gas,
        )
        state = self.state_class(AtomicDB(overlay), context, header.state_root)
        state.deadline, state.deadline_budget = current_deadline(), current_budget() or 0.0
        return state, overlay

    def state_for_new_block(self, header: BlockHeader, parent_state_root: bytes) -> tuple[RecordingPragueState, OverlayDB]:
        state, overlay = self._state(header.copy(state_root=parent_state_root))
        return state, overlay

    def genesis_state(self, alloc: dict) -> tuple[bytes, dict[bytes, bytes]]:
        """Build the genesis state from an alloc; returns (state root, trie nodes to store)."""
        from linen.chain.kv import StateNodeReader

        overlay = OverlayDB(StateNodeReader(self.store.kv))
        state = RecordingPragueState(AtomicDB(overlay), _GENESIS_CONTEXT, BLANK_ROOT_HASH)
        for address, account in alloc.items():
            state.set_balance(address, account.balance)
            state.set_nonce(address, account.nonce)
            if account.code:
                state.set_code(address, account.code)
            for slot, value in account.storage.items():
                state.set_storage(address, slot, value)
        state.persist()
        return bytes(state.state_root), overlay.writes

    def _read_state(self, header: BlockHeader) -> RecordingPragueState:
        return self._state(header)[0]

    def read_account(self, address: bytes, header: BlockHeader) -> tuple[int, int]:
        """(nonce, balance) at `header`: the pool's hot path, so a bare AccountDB, no EVM state."""
        from linen.chain.kv import StateNodeReader

        accounts = AccountDB(AtomicDB(StateNodeReader(self.store.kv)), header.state_root)
        return accounts.get_nonce(address), accounts.get_balance(address)

    def get_balance(self, address: bytes, header: BlockHeader) -> int:
        return self._read_state(header).get_balance(address)

    def get_nonce(self, address: bytes, header: BlockHeader) -> int:
        return self._read_state(header).get_nonce(address)

    def get_code(self, address: bytes, header: BlockHeader) -> bytes:
        return bytes(self._read_state(header).get_code(address))

    def get_storage(self, address: bytes, slot: int, header: BlockHeader) -> int:
        return self._read_state(header).get_storage(address, slot)

    # -- blocks -------------------------------------------------------------------------------
    def begin_block(self, header: BlockHeader, parent_state_root: bytes) -> BlockBuilder:
        return BlockBuilder(self, header, parent_state_root)

    # -- calls --------------------------------------------------------------------------------
    def _prepare_call(
        self, request: CallRequest, header: BlockHeader, overrides: dict[bytes, AccountOverride], gas: int
    ) -> tuple[RecordingPragueState, SpoofTransaction]:
        price = request.gas_price if request.gas_price is not None else request.max_fee_per_gas
        # Like geth, a call that names no fee runs with a zero base fee so it needs no balance for gas.
        state, _ = self._state(header, base_fee=0 if not price else None)
        _apply_overrides(state, overrides)
        # geth and anvil skip the nonce check in calls: wallets estimate their next transactions with the
        # pending nonce. The call runs at the account's own nonce (a CREATE's address follows that nonce).
        nonce = state.get_nonce(request.sender)
        to = request.to if request.to is not None else CREATE_CONTRACT_ADDRESS
        if request.max_fee_per_gas is not None or request.max_priority_fee_per_gas is not None:
            max_fee = request.max_fee_per_gas or 0
            unsigned = TRANSACTION_BUILDER.new_unsigned_dynamic_fee_transaction(
                chain_id=self.chain_id,
                nonce=nonce,
                max_priority_fee_per_gas=min(request.max_priority_fee_per_gas or 0, max_fee),
                max_fee_per_gas=max_fee,
                gas=gas,
                to=to,
                value=request.value,
                data=request.data,
                access_list=list(request.access_list),
            )
        else:
            unsigned = TRANSACTION_BUILDER.new_unsigned_access_list_transaction(
                chain_id=self.chain_id,
                nonce=nonce,
                gas_price=price or 0,
                gas=gas,
                to=to,
                value=request.value,
                data=request.data,
                access_list=list(request.access_list),
            )
        return state, SpoofTransaction(unsigned, from_=request.sender)

    def _run_call(
        self, request: CallRequest, header: BlockHeader, overrides: dict[bytes, AccountOverride], gas: int
    ) -> CallResult:
        state, spoof = self._prepare_call(request, header, overrides, gas)
        try:
            computation = state.apply_transaction(spoof)
        except ValidationError as exc:
            raise InvalidParams(f"call cannot execute: {exc}") from None
        return CallResult(
            success=computation.is_success,
            gas_used=PragueVM.finalize_gas_used(spoof, computation),
            return_data=bytes(computation.output),
            error=_error_text(computation),
            logs=_logs(computation) if computation.is_success else (),
        )

    def call(
        self, request: CallRequest, header: BlockHeader, overrides: dict[bytes, AccountOverride],
        gas_cap: int = CALL_GAS_CAP,
    ) -> CallResult:
        """Run a call; its gas is the request's, else the block's limit, never above `gas_cap` (geth's RPCGasCap)."""
        gas = min(request.gas or header.gas_limit, gas_cap)
        return self._run_call(request, header, overrides, gas)

    def estimate_gas(
        self, request: CallRequest, header: BlockHeader, overrides: dict[bytes, AccountOverride],
        gas_cap: int = CALL_GAS_CAP,
    ) -> int:
        """Smallest gas limit at which the call succeeds (binary search, as geth does), at most `gas_cap`."""
        cap = min(request.gas or header.gas_limit, header.gas_limit, gas_cap)
        result = self._run_call(request, header, overrides, cap)
        if not result.success:
            if result.error and "revert" in result.error.lower():
                raise ExecutionReverted("execution reverted", result.return_data)
            raise InvalidParams(f"gas required exceeds allowance ({cap}) or always failing transaction: {result.error}")
        low, high = result.gas_used - 1, cap
        # Refunds and the 63/64 rule make gas_used a lower bound; search the smallest limit that works.
        probe = min(high, max(result.gas_used * 64 // 63 + 2300, low + 1))
        if self._run_call(request, header, overrides, probe).success:
            high = probe
        else:
            low = probe
        while high - low > 1:
            mid = (low + high) // 2
            if self._run_call(request, header, overrides, mid).success:
                high = mid
            else:
                low = mid
        return high


_GENESIS_CONTEXT = ExecutionContext(
    coinbase=b"\x00" * 20,
    timestamp=0,
    block_number=0,
    difficulty=0,
    mix_hash=b"\x00" * 32,
    gas_limit=0,
    prev_hashes=(),
    chain_id=0,
    base_fee_per_gas=0,
    excess_blob_gas=0,
)


def _apply_overrides(state: RecordingPragueState, overrides: dict[bytes, AccountOverride]) -> None:
    for address, override in overrides.items():
        if override.balance is not None:
            state.set_balance(address, override.balance)
        if override.nonce is not None:
            state.set_nonce(address, override.nonce)
        if override.code is not None:
            state.set_code(address, override.code)
        if override.state is not None:
            state.delete_storage(address)
            for slot, value in override.state.items():
                state.set_storage(address, slot, value)
        for slot, value in override.state_diff.items():
            state.set_storage(address, slot, value)


class BlockBuilder:
    """Applies transactions one at a time to a block under construction."""

    def __init__(self, engine: PyEvmEngine, header: BlockHeader, parent_state_root: bytes) -> None:
        self.engine = engine
        self.header = header
        self.state, self.overlay = engine.state_for_new_block(header, parent_state_root)
        self.gas_used = 0
        self.executions: list[TransactionExecution] = []
        self.transactions: list[PooledTransaction] = []
        self.receipts: list = []
        self._undo_snapshot = None  # the snapshot taken before the last applied transaction

    @property
    def gas_remaining(self) -> int:
        return self.header.gas_limit - self.gas_used

    def apply(self, ptx: PooledTransaction, deadline: float | None = None, budget: float = 0.0) -> TransactionExecution:
        """Execute `ptx` on the block. Stopped at `deadline` (monotonic) with ExecutionTimeout; any
        failure leaves the block's state as it was before the transaction."""
        tx = ptx.tx
        if tx.gas > self.gas_remaining:
            raise InvalidTransaction(f"gas limit reached: transaction gas {tx.gas} exceeds the block's remaining {self.gas_remaining}")
        state = self.state
        state.lock_changes()
        snapshot = state.snapshot()
        self._undo_snapshot = None
        state.account_db.start_recording()
        opcodes: list | None = [] if self.engine.record_opcodes else None
        frames: list | None = [] if self.engine.record_opcodes else None
        state.opcode_log, state.frame_log = opcodes, frames
        state.deadline, state.deadline_budget = deadline, budget
        try:
            computation = state.apply_transaction(tx)
        except ValidationError as exc:
            state.revert(snapshot)
            raise InvalidTransaction(_translate_validation_error(str(exc))) from None
        except ExecutionTimeout:
            state.revert(snapshot)
            raise
        except Exception as exc:  # py-evm raised where a transaction should only fail: it can never go in
            state.revert(snapshot)
            raise UnexecutableTransaction(f"executing the transaction raised {type(exc).__name__}: {exc}") from exc
        finally:
            state.opcode_log = state.frame_log = None
            state.deadline = None
        gas_used = PragueVM.finalize_gas_used(tx, computation)
        self.gas_used += gas_used
        status = EIP658_TRANSACTION_STATUS_CODE_SUCCESS if computation.is_success else EIP658_TRANSACTION_STATUS_CODE_FAILURE
        receipt = tx.make_receipt(status, self.gas_used, computation.get_log_entries())
        base_fee = self.header.base_fee_per_gas
        execution = TransactionExecution(
            tx_hash=ptx.hash,
            sender=ptx.sender,
            success=computation.is_success,
            gas_used=gas_used,
            cumulative_gas_used=self.gas_used,
            logs=_logs(computation),
            contract_address=generate_contract_address(ptx.sender, tx.nonce) if tx.to == CREATE_CONTRACT_ADDRESS else None,
            return_data=bytes(computation.output),
            error=_error_text(computation),
            state_diff=state.account_db.collect_diff(),
            opcodes=tuple(opcodes or ()),
            effective_gas_price=min(ptx.max_fee_per_gas, base_fee + ptx.max_priority_fee_per_gas),
            receipt=receipt,
            frames=tuple(frames or ()),
            receipt_rlp=receipt.encode(),
        )
        self.executions.append(execution)
        self.transactions.append(ptx)
        self.receipts.append(receipt)
        self._undo_snapshot = snapshot
        return execution

    def undo_last(self) -> None:
        """Take the last applied transaction back out (a selection rule refused it after it ran)."""
        if self._undo_snapshot is None:
            raise RuntimeError("no transaction to undo: only the last one applied can be taken back")
        self.state.revert(self._undo_snapshot)
        self._undo_snapshot = None
        execution = self.executions.pop()
        self.transactions.pop()
        self.receipts.pop()
        self.gas_used -= execution.gas_used

    def finish(self) -> SealedExecution:
        """Compute the roots and bloom; the header still needs its Clique seal."""
        self._undo_snapshot = None
        self.state.persist()
        tx_root = ordered_trie_root([p.raw for p in self.transactions])
        receipt_root = ordered_trie_root([e.receipt_rlp for e in self.executions])
        bloom = 0
        for receipt in self.receipts:
            bloom |= receipt.bloom
        header = self.header.copy(
            state_root=self.state.state_root,
            transaction_root=tx_root,
            receipt_root=receipt_root,
            bloom=bloom,
            gas_used=self.gas_used,
        )
        return SealedExecution(
            header=header,
            executions=self.executions,
            transactions=self.transactions,
            state_writes=self.overlay.writes,
            state_diff=merge_state_diffs([e.state_diff for e in self.executions]),
        )


def _translate_validation_error(message: str) -> str:
    """py-evm's validation messages, reworded the way geth says them (clients match on these)."""
    lowered = message.lower()
    if "nonce" in lowered:
        return f"nonce too low or too high for this block: {message}"
    if "insufficient" in lowered or "balance" in lowered:
        return f"insufficient funds for gas * price + value: {message}"
    if "base fee" in lowered:
        return f"max fee per gas less than block base fee: {message}"
    return message
