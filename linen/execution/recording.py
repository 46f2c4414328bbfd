"""py-evm state and computation classes that record what the tracer and state manager need.

`RecordingAccountDB` notes, on the first touch of every account field or storage slot within a
transaction, its value before the transaction; at the end the engine reads the new values. Reads
are recorded too (prior == new), because the sparse Merkle state of issue 4 proves reads as well.
`RecordingComputation` appends each executed instruction, with the stack operands it consumes and
the memory size before it, to `state.opcode_log`, and each finished message frame to
`state.frame_log`, when those logs are set (the tracer's inputs). Before each instruction it also
checks `state.deadline`, so a wall-clock budget can stop any execution.
"""

from __future__ import annotations

import time
from typing import Any

from eth.db.account import AccountDB
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState

from linen.errors import ExecutionTimeout
from linen.execution.types import ExecutedFrame, ExecutedOpcode
from linen.primitives.diffs import AccountDiff, StateDiff


class RecordingAccountDB(AccountDB):
    """AccountDB that remembers the pre-transaction value of everything touched."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start_recording()

    def start_recording(self) -> None:
        self._noted_accounts: dict[bytes, tuple[bool, int, int, bytes]] = {}
        self._noted_slots: dict[bytes, dict[int, int]] = {}
        self._wiped: set[bytes] = set()

    def collect_diff(self) -> StateDiff:
        """The (prior, new) values of every field touched since `start_recording`."""
        diff: StateDiff = {}
        for address, (existed, nonce, balance, code_hash) in self._noted_accounts.items():
            slots = self._noted_slots.get(address, {})
            diff[address] = AccountDiff(
                existed_before=existed,
                exists_after=AccountDB.account_exists(self, address),
                nonce=(nonce, AccountDB.get_nonce(self, address)),
                balance=(balance, AccountDB.get_balance(self, address)),
                code_hash=(code_hash, AccountDB.get_code_hash(self, address)),
                storage={slot: (prior, AccountDB.get_storage(self, address, slot)) for slot, prior in slots.items()},
                storage_wiped=address in self._wiped,
            )
        return diff

    def _note(self, address: bytes) -> None:
        if address not in self._noted_accounts:
            self._noted_accounts[address] = (
                AccountDB.account_exists(self, address),
                AccountDB.get_nonce(self, address),
                AccountDB.get_balance(self, address),
                AccountDB.get_code_hash(self, address),
            )

    def _note_slot(self, address: bytes, slot: int) -> None:
        self._note(address)
        slots = self._noted_slots.setdefault(address, {})
        if slot not in slots:
            slots[slot] = AccountDB.get_storage(self, address, slot)

    # Every public accessor notes first, then defers to py-evm.
    def get_balance(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        return super().get_balance(address)

    def set_balance(self, address, balance):  # type: ignore[no-untyped-def]
        self._note(address)
        super().set_balance(address, balance)

    def get_nonce(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        return super().get_nonce(address)

    def set_nonce(self, address, nonce):  # type: ignore[no-untyped-def]
        self._note(address)
        super().set_nonce(address, nonce)

    def get_code(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        return super().get_code(address)

    def set_code(self, address, code):  # type: ignore[no-untyped-def]
        self._note(address)
        super().set_code(address, code)

    def get_code_hash(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        return super().get_code_hash(address)

    def delete_code(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        super().delete_code(address)

    def get_storage(self, address, slot, from_journal=True):  # type: ignore[no-untyped-def]
        self._note_slot(address, slot)
        return super().get_storage(address, slot, from_journal)

    def set_storage(self, address, slot, value):  # type: ignore[no-untyped-def]
        self._note_slot(address, slot)
        super().set_storage(address, slot, value)

    def delete_storage(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        self._wiped.add(address)
        super().delete_storage(address)

    def delete_account(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        self._wiped.add(address)
        super().delete_account(address)

    def account_exists(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        return super().account_exists(address)

    def touch_account(self, address):  # type: ignore[no-untyped-def]
        self._note(address)
        super().touch_account(address)


def _stack_inputs() -> list[int]:
    """How many stack items each opcode consumes (the operands the tracer sees)."""
    inputs = [0] * 256
    for first, last, count in (
        (0x01, 0x07, 2), (0x08, 0x09, 3), (0x0A, 0x0B, 2), (0x10, 0x14, 2), (0x15, 0x15, 1),
        (0x16, 0x18, 2), (0x19, 0x19, 1), (0x1A, 0x1D, 2), (0x20, 0x20, 2), (0x31, 0x31, 1),
        (0x35, 0x35, 1), (0x37, 0x37, 3), (0x39, 0x39, 3), (0x3B, 0x3B, 1), (0x3C, 0x3C, 4),
        (0x3E, 0x3E, 3), (0x3F, 0x3F, 1), (0x40, 0x40, 1), (0x49, 0x49, 1), (0x50, 0x51, 1),
        (0x52, 0x53, 2), (0x54, 0x54, 1), (0x55, 0x55, 2), (0x56, 0x56, 1), (0x57, 0x57, 2),
        (0x5C, 0x5C, 1), (0x5D, 0x5D, 2), (0x5E, 0x5E, 3), (0xF0, 0xF0, 3), (0xF1, 0xF2, 7),
        (0xF3, 0xF3, 2), (0xF4, 0xF4, 6), (0xF5, 0xF5, 4), (0xFA, 0xFA, 6), (0xFD, 0xFD, 2),
        (0xFF, 0xFF, 1),
    ):  # fmt: skip
        for opcode in range(first, last + 1):
            inputs[opcode] = count
    for topics in range(5):
        inputs[0xA0 + topics] = 2 + topics
    return inputs


STACK_INPUTS = _stack_inputs()


def _as_int(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


class _RecordingOpcode:
    """Wraps one py-evm opcode function to log the instruction, its operands and memory size first."""

    __slots__ = ("fn", "opcode", "inputs", "mnemonic")

    def __init__(self, opcode: int, fn: Any) -> None:
        self.opcode = opcode
        self.fn = fn
        self.inputs = STACK_INPUTS[opcode]
        self.mnemonic = getattr(fn, "mnemonic", hex(opcode))

    def __call__(self, computation: Any) -> Any:
        state = computation.state
        deadline = state.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise ExecutionTimeout(f"execution aborted (timeout = {state.deadline_budget:g}s)")
        log = state.opcode_log
        if log is not None:
            msg = computation.msg
            operands: tuple[int, ...] = ()
            if self.inputs:
                stack = computation._stack.values
                operands = tuple(_as_int(v) for v in stack[: -self.inputs - 1 : -1])
            log.append(
                ExecutedOpcode(
                    computation.code.program_counter - 1,
                    self.opcode,
                    msg.depth,
                    msg.code_address,
                    operands,
                    len(computation._memory._bytes),
                )
            )
        return self.fn(computation=computation)


class RecordingComputation(PragueComputation):
    opcodes = {op: _RecordingOpcode(op, fn) for op, fn in PragueComputation.opcodes.items()}

    @classmethod
    def apply_computation(cls, state: Any, message: Any, transaction_context: Any, parent_computation: Any = None) -> Any:
        computation = super().apply_computation(state, message, transaction_context, parent_computation)
        frames = state.frame_log
        if frames is not None:
            is_precompile = message.code_address in computation.precompiles
            data = bytes(message.data)
            frames.append(
                ExecutedFrame(
                    message.depth,
                    bytes(message.code_address),
                    bool(message.is_create),
                    is_precompile,
                    b"" if is_precompile else bytes(message.code),
                    data if is_precompile else b"",
                    len(data),
                    len(computation.output),
                    computation.is_success,
                )
            )
        return computation


class RecordingPragueState(PragueState):
    """Prague state whose account DB and computation record diffs and opcodes."""

    account_db_class = RecordingAccountDB
    computation_class = RecordingComputation
    opcode_log: list[ExecutedOpcode] | None = None
    frame_log: list[ExecutedFrame] | None = None
    # `time.monotonic()` past which the next instruction raises ExecutionTimeout (see execution.deadline);
    # not a py-evm VMError, so it unwinds the whole transaction instead of failing one frame.
    deadline: float | None = None
    deadline_budget: float = 0.0

    @property
    def account_db(self) -> RecordingAccountDB:
        return self._account_db  # type: ignore[return-value]
