"""Results the execution engine returns, independent of the EVM implementation behind it.

The state diff and the executed opcodes are what the tracer and the state manager consume, so they
are plain frozen data here, not py-evm objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from linen.primitives.diffs import Log, StateDiff


class ExecutedOpcode(NamedTuple):
    """One executed instruction: enough for per-module line counting by the tracer.

    `operands` are the stack inputs the instruction consumes, top of stack first, as unsigned
    ints; `memory_size` is the frame's active memory in bytes before it ran (memory expansion is
    the difference to the next instruction of the same frame). A NamedTuple, not a dataclass:
    one is made per executed instruction, so it must be cheap.
    """

    pc: int
    opcode: int
    depth: int
    code_address: bytes
    operands: tuple[int, ...] = ()
    memory_size: int = 0


class ExecutedFrame(NamedTuple):
    """One message frame (call, create or precompile call), recorded when it returns.

    Frames are listed in the order they finished (children before their parent). `code` is what
    ran: the callee's bytecode, the init code of a create, empty for a precompile. `input` is the
    call data (kept in full only for precompiles, whose line counts depend on it; other frames
    keep b"" and give the length in `input_size`).
    """

    depth: int
    code_address: bytes
    is_create: bool
    is_precompile: bool
    code: bytes
    input: bytes
    input_size: int
    output_size: int
    success: bool


@dataclass(frozen=True)
class TransactionExecution:
    """What executing one transaction produced (the receipt fields plus tracer and state inputs)."""

    tx_hash: bytes
    sender: bytes
    success: bool
    gas_used: int
    cumulative_gas_used: int
    logs: tuple[Log, ...]
    contract_address: bytes | None
    return_data: bytes
    error: str | None
    state_diff: StateDiff
    opcodes: tuple[ExecutedOpcode, ...]
    effective_gas_price: int
    receipt: object  # the py-evm receipt, for the receipt trie and storage
    frames: tuple[ExecutedFrame, ...] = ()
    receipt_rlp: bytes = b""  # the receipt's consensus encoding, made once for the receipt trie and the tracer


@dataclass(frozen=True)
class CallResult:
    success: bool
    gas_used: int
    return_data: bytes
    error: str | None
    logs: tuple[Log, ...]
