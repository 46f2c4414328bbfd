"""The py-evm hooks the tracers use.

`TracingComputation` wraps every opcode wrapper of `RecordingComputation` (so the recording and the
deadline check inside `_RecordingOpcode` still run) with one that calls `state.tracer` before and
after the instruction, and reports each message frame as it starts and ends. With no tracer set
the wrappers only pass through, so the transactions replayed before a traced one run at full speed.
"""

from __future__ import annotations

import re
from typing import Any

from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    Halt,
    InsufficientFunds,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfBoundsRead,
    OutOfGas,
    Revert,
    StackDepthLimit,
    VMError,
    WriteProtection,
)
from eth.vm.logic.invalid import InvalidOpcode

from linen.execution.recording import RecordingComputation, RecordingPragueState

# geth's names where py-evm's differ.
_UNNAMED = {0xFF: "SELFDESTRUCT"}
_RENAMES = {"SHA3": "KECCAK256", "PREVRANDAO": "DIFFICULTY"}  # geth and anvil still call 0x44 DIFFICULTY


def opcode_name(opcode: int) -> str:
    fn = RecordingComputation.opcodes.get(opcode)
    if fn is None:
        return "INVALID" if opcode == 0xFE else f"opcode {opcode:#x} not defined"
    mnemonic = fn.mnemonic
    if mnemonic.startswith("0x"):  # py-evm's SELFDESTRUCT is a bare function without a mnemonic
        return _UNNAMED.get(opcode, mnemonic)
    return _RENAMES.get(mnemonic, mnemonic)


OPCODE_NAMES = [opcode_name(op) for op in range(256)]
CALL_OPCODES = {
    0xF1: "CALL",
    0xF2: "CALLCODE",
    0xF4: "DELEGATECALL",
    0xFA: "STATICCALL",
    0xF0: "CREATE",
    0xF5: "CREATE2",
}


def error_text(error: BaseException) -> str:
    """A py-evm failure in geth's words (clients and debuggers show these)."""
    if isinstance(error, Revert):
        return "execution reverted"
    if isinstance(error, OutOfGas):
        text = str(error).lower()
        if "code size" in text or "exceeds" in text and "code" in text:
            return "max code size exceeded"
        return "out of gas"
    if isinstance(error, InvalidJumpDestination):
        return "invalid jump destination"
    if isinstance(error, InvalidInstruction):  # py-evm: "Invalid opcode 0xc @ 0"
        found = re.search(r"0x([0-9a-fA-F]+)", str(error))
        opcode = int(found.group(1), 16) if found else 0xFE
        return f"invalid opcode: {OPCODE_NAMES[opcode] if opcode < 256 else 'INVALID'}"
    if isinstance(error, InsufficientStack):
        return "stack underflow"
    if isinstance(error, FullStack):
        return "stack limit reached 1024 (1023)"
    if isinstance(error, WriteProtection):
        return "write protection"
    if isinstance(error, OutOfBoundsRead):
        return "return data out of bounds"
    if isinstance(error, ContractCreationCollision):
        return "contract address collision"
    if isinstance(error, InsufficientFunds):
        return "insufficient balance for transfer"
    if isinstance(error, StackDepthLimit):
        return "max call depth exceeded"
    return str(error) or type(error).__name__


class Tracer:
    """Callbacks from the EVM; every method is optional. `depth` is py-evm's (0 = the transaction)."""

    def step_start(self, computation: Any, opcode: int) -> None:
        pass

    def step_end(self, computation: Any, opcode: int, error: VMError | None) -> None:
        pass

    def enter(self, message: Any, parent: Any, call_type: str) -> None:
        pass

    def exit(self, message: Any, computation: Any) -> None:
        pass

    def result(self, run: Any) -> Any:
        """The JSON-ready result for the finished run (a `replay.TxRun`)."""
        return None


class _TracingOpcode:
    __slots__ = ("inner", "opcode", "mnemonic")
    # py-evm calls `opcode_fn(computation=...)`; the wrapped one is a `_RecordingOpcode` (or py-evm's own).

    def __init__(self, opcode: int, inner: Any) -> None:
        self.opcode, self.inner = opcode, inner
        self.mnemonic = getattr(inner, "mnemonic", OPCODE_NAMES[opcode])

    def __call__(self, computation: Any) -> Any:
        tracer = computation.state.tracer
        if tracer is None:
            return self.inner(computation=computation)
        call_type = CALL_OPCODES.get(self.opcode)
        if call_type is not None:
            computation.state.pending_call_op = call_type
        tracer.step_start(computation, self.opcode)
        try:
            result = self.inner(computation=computation)
        except Halt:
            tracer.step_end(computation, self.opcode, None)
            raise
        except VMError as exc:
            tracer.step_end(computation, self.opcode, exc)
            raise
        tracer.step_end(computation, self.opcode, None)
        return result


def _opcode_table() -> dict[int, Any]:
    table = {op: _TracingOpcode(op, fn) for op, fn in RecordingComputation.opcodes.items()}
    for op in range(256):  # undefined opcodes: py-evm makes an InvalidOpcode on the fly, which a tracer would miss
        if op not in table:
            table[op] = _TracingOpcode(op, InvalidOpcode(op))
    return table


class TracingComputation(RecordingComputation):
    opcodes = _opcode_table()

    @classmethod
    def apply_message(cls, state: Any, message: Any, transaction_context: Any, parent_computation: Any = None) -> Any:
        tracer = state.tracer
        if tracer is None or message.is_create:  # a create is reported by apply_create_message (code deposit included)
            return super().apply_message(state, message, transaction_context, parent_computation)
        tracer.enter(message, parent_computation, _call_type(state, message))
        computation = super().apply_message(state, message, transaction_context, parent_computation)
        tracer.exit(message, computation)
        return computation

    @classmethod
    def apply_create_message(
        cls, state: Any, message: Any, transaction_context: Any, parent_computation: Any = None
    ) -> Any:
        tracer = state.tracer
        if tracer is None:
            return super().apply_create_message(state, message, transaction_context, parent_computation)
        tracer.enter(message, parent_computation, _call_type(state, message))
        computation = super().apply_create_message(state, message, transaction_context, parent_computation)
        tracer.exit(message, computation)
        return computation


def _call_type(state: Any, message: Any) -> str:
    """The opcode that made this frame (set by the step hook), or CALL/CREATE for the transaction's own."""
    pending = state.pending_call_op
    state.pending_call_op = None
    if pending is not None and message.depth > 0:
        return pending
    return "CREATE" if message.is_create else "CALL"


class TracingPragueState(RecordingPragueState):
    computation_class = TracingComputation
    tracer: Tracer | None = None
    pending_call_op: str | None = None
