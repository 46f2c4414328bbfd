"""geth's default tracer (the "struct logger"): one entry per executed instruction.

Each step is {pc, op, gas, gasCost, depth, stack} plus, when asked, memory, storage (on SLOAD and
SSTORE, the contract's slots seen so far) and returnData. `gas` is the gas left before the
instruction; `gasCost` is what the instruction took. For the CALL family that includes the gas
handed to the callee (as geth and anvil report it); for CREATE/CREATE2 the callee's gas is
included, as anvil reports it (geth leaves the callee's gas out of a CREATE's cost). `refund` is the
transaction's refund counter at the step, left out while it is zero (geth's omitempty). Steps are capped (`MAX_STEPS`, and an output size estimate) so one huge
transaction cannot exhaust the node's memory.
"""

from __future__ import annotations

from typing import Any

from eth.exceptions import OutOfGas

from linen.errors import LimitExceeded
from linen.execution.tracing.core import OPCODE_NAMES, Tracer, error_text
from linen.execution.tracing.replay import TxRun

MAX_STEPS = 1_000_000
MAX_OUTPUT_BYTES = 100 * 1024 * 1024


def _int(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


class StructLogger(Tracer):
    def __init__(
        self,
        disable_stack: bool = False,
        disable_storage: bool = False,
        enable_memory: bool = False,
        enable_return_data: bool = False,
        limit: int = 0,
        max_steps: int = MAX_STEPS,
        max_bytes: int = MAX_OUTPUT_BYTES,
    ) -> None:
        self.disable_stack, self.disable_storage = disable_stack, disable_storage
        self.enable_memory, self.enable_return_data = enable_memory, enable_return_data
        self.limit, self.max_steps, self.max_bytes = limit, max_steps, max_bytes
        self.logs: list[dict[str, Any]] = []
        self._open: list[list[Any]] = []  # [step, gas before, gas left when a child frame started, child gas]
        self._storage: dict[bytes, dict[str, str]] = {}
        self._size = 0
        self._frames: list[
            list[Any]
        ] = []  # [computation or None, refunds of the ancestors, child count, child refunds]

    def _refund(self, computation: Any) -> int:
        """The transaction-wide refund counter: this frame's, its finished children's and its ancestors'."""
        if not self._frames:
            self._frames.append([None, 0, 0, 0, -1])
        frame = self._frames[-1]
        if frame[0] is None:
            frame[0] = computation
        children = computation.children
        if len(children) != frame[2]:
            frame[2], frame[3] = len(children), sum(child.get_gas_refund() for child in children)
        return frame[1] + computation.msg.refund + computation._gas_meter.gas_refunded + frame[3]

    def _pc(self, computation: Any, opcode: int) -> int:
        counter = computation.code.program_counter
        if opcode == 0 and self._frames and self._frames[-1][4] == counter:
            return counter  # the STOP py-evm yields past the end of the code, without moving the counter
        return counter - 1

    def step_start(self, computation: Any, opcode: int) -> None:
        if opcode == 0 and not len(computation.code):  # no code: geth runs no instruction at all
            return
        gas = computation._gas_meter.gas_remaining
        step: dict[str, Any] = {
            "pc": self._pc(computation, opcode),
            "op": OPCODE_NAMES[opcode],
            "gas": gas,
            "gasCost": 0,
            "depth": computation.msg.depth + 1,
        }
        refund = self._refund(computation)
        if self.limit and len(self.logs) >= self.limit:  # past `limit`: only the gas bookkeeping goes on
            self._open.append([step, gas, None, 0])
            return
        if refund:
            step["refund"] = refund
        size = 80
        values = computation._stack.values
        if not self.disable_stack:
            step["stack"] = stack = [hex(_int(v)) for v in values]
            size += 12 * len(stack) + sum(len(s) for s in stack)
        if self.enable_memory:
            memory = bytes(computation._memory._bytes)
            step["memory"] = words = [memory[i : i + 32].hex() for i in range(0, len(memory), 32)]
            size += 68 * len(words)
        if self.enable_return_data:
            step["returnData"] = "0x" + bytes(computation.return_data).hex()
        if not self.disable_storage and opcode in (0x54, 0x55) and values:
            address = bytes(computation.msg.storage_address)
            slot = _int(values[-1])
            if opcode == 0x54:
                value = computation.state.get_storage(address, slot)
            else:
                value = _int(values[-2]) if len(values) > 1 else 0
            storage = self._storage.setdefault(address, {})
            storage[slot.to_bytes(32, "big").hex()] = value.to_bytes(32, "big").hex()
            step["storage"] = dict(storage)
            size += 140 * len(storage)
        self._size += size
        if len(self.logs) >= self.max_steps:
            raise LimitExceeded(f"trace too large: more than {self.max_steps} steps; use a `limit` or the callTracer")
        if self._size > self.max_bytes:
            raise LimitExceeded(
                f"trace too large: more than {self.max_bytes} bytes of struct logs; "
                "use disableStack/disableStorage/enableMemory=false, a `limit`, or the callTracer"
            )
        self.logs.append(step)
        self._open.append([step, gas, None, 0])

    def enter(self, message: Any, parent: Any, call_type: str) -> None:
        if parent is not None and self._open:
            entry = self._open[-1]
            entry[2], entry[3] = parent._gas_meter.gas_remaining, message.gas
        base = 0
        if parent is not None and self._frames and self._frames[-1][0] is parent:
            base = self._refund(parent)
        self._frames.append([None, base, 0, 0, -1])

    def exit(self, message: Any, computation: Any) -> None:
        if self._frames:
            self._frames.pop()

    def step_end(self, computation: Any, opcode: int, error: Any) -> None:
        if opcode == 0 and not len(computation.code):
            return
        step, before, at_child, child_gas = self._open.pop()
        if self._frames:
            self._frames[-1][4] = computation.code.program_counter
        if isinstance(error, OutOfGas):
            step["gasCost"] = before  # the failing instruction takes all the gas left, as anvil reports it
        elif at_child is None:
            step["gasCost"] = before - computation._gas_meter.gas_remaining
        else:
            step["gasCost"] = before - at_child
        if error is not None and opcode != 0xFD and not _is_revert(error):
            step["error"] = error_text(error)

    @property
    def size(self) -> int:
        """An estimate of the JSON size of the steps kept so far, in bytes."""
        return self._size

    def result(self, run: TxRun) -> dict[str, Any]:
        return {
            "gas": run.gas_used,
            "failed": not run.success,
            "returnValue": "0x" + run.output.hex(),
            "structLogs": self.logs,
        }


def _is_revert(error: Any) -> bool:
    from eth.exceptions import Revert

    return isinstance(error, Revert)
