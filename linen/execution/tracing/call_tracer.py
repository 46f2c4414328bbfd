"""geth's callTracer: the tree of message frames (calls, creates, precompile calls) of a transaction.

Each frame is {type, from, to, value, gas, gasUsed, input, output, error, revertReason, calls}, and a
SELFDESTRUCT is a frame of its own (to the beneficiary, with the balance sent, no gas); with
`withLog` also the logs each frame emitted (dropped with a failing frame, as geth does; `index` is
the log's index among the transaction's logs (as anvil numbers them), `position` the number of the frame's calls before it); with
`onlyTopCall` only the transaction's own frame. The top frame's gas is the transaction's gas limit
and its gasUsed the receipt's, intrinsic gas and refund included.
"""

from __future__ import annotations

from typing import Any

from linen.execution.revert import revert_reason
from linen.execution.tracing.core import Tracer, error_text
from linen.execution.tracing.replay import TxRun
from linen.primitives.hexcodec import to_data


class CallTracer(Tracer):
    def __init__(self, only_top_call: bool = False, with_log: bool = False) -> None:
        self.only_top_call, self.with_log = only_top_call, with_log
        self._stack: list[dict[str, Any]] = []
        self.root: dict[str, Any] | None = None
        self._pending_log: tuple | None = None
        self._pending_selfdestruct: tuple | None = None
        self._live_logs = 0  # logs of this transaction still standing (a failing frame takes its own back)

    def enter(self, message: Any, parent: Any, call_type: str) -> None:
        if self.only_top_call and self._stack:
            self._stack.append({})  # a placeholder, dropped at exit
            return
        sender = bytes(message.sender) if parent is None else bytes(parent.msg.storage_address)
        if call_type in ("DELEGATECALL", "CALLCODE"):
            to = bytes(message.code_address)
        else:
            to = bytes(message.storage_address)
        frame: dict[str, Any] = {
            "from": to_data(sender),
            "gas": hex(message.gas),
            "gasUsed": "0x0",
            "to": to_data(to),
            "input": to_data(message.code if message.is_create else message.data_as_bytes),
            "type": call_type,
        }
        if call_type != "STATICCALL":
            frame["value"] = hex(message.value)
        self._stack.append(frame)

    def step_start(self, computation: Any, opcode: int) -> None:
        if opcode == 0xFF and self._stack and self._stack[-1] and computation._stack.values:
            beneficiary = computation._stack.values[-1]
            beneficiary = beneficiary if isinstance(beneficiary, int) else int.from_bytes(beneficiary, "big")
            address = bytes(computation.msg.storage_address)
            self._pending_selfdestruct = (
                address,
                (beneficiary % 2**160).to_bytes(20, "big"),
                computation.state.get_balance(address),
            )
            return
        if not self.with_log or not 0xA0 <= opcode <= 0xA4 or not self._stack or not self._stack[-1]:
            return
        values = [v if isinstance(v, int) else int.from_bytes(v, "big") for v in computation._stack.values[::-1]]
        topics = opcode - 0xA0
        if len(values) >= 2 + topics:
            self._pending_log = (values[0], values[1], values[2 : 2 + topics])

    def step_end(self, computation: Any, opcode: int, error: Any) -> None:
        if opcode == 0xFF:
            destructed, self._pending_selfdestruct = self._pending_selfdestruct, None
            if destructed is not None and error is None and not self.only_top_call:
                address, beneficiary, balance = destructed
                self._stack[-1].setdefault("calls", []).append(
                    {
                        "from": to_data(address),
                        "gas": "0x0",
                        "gasUsed": "0x0",
                        "to": to_data(beneficiary),
                        "input": "0x",
                        "value": hex(balance),
                        "type": "SELFDESTRUCT",
                    }
                )
            return
        pending, self._pending_log = self._pending_log, None
        if pending is None or error is not None:
            return
        offset, size, topics = pending
        data = bytes(computation._memory._bytes[offset : offset + size]) if size else b""
        frame = self._stack[-1]
        frame.setdefault("logs", []).append(
            {
                "address": to_data(computation.msg.storage_address),
                "topics": ["0x" + t.to_bytes(32, "big").hex() for t in topics],
                "data": to_data(data),
                "index": hex(self._live_logs),
                "position": hex(len(frame.get("calls", []))),
            }
        )
        self._live_logs += 1

    def exit(self, message: Any, computation: Any) -> None:
        frame = self._stack.pop()
        if not frame:
            return
        frame["gasUsed"] = hex(message.gas - computation.get_gas_remaining())
        output = bytes(computation.output)
        if computation.is_success:
            if output:
                frame["output"] = to_data(output)
        else:
            error = computation.error
            frame["error"] = error_text(error)
            if frame["type"] in ("CREATE", "CREATE2"):
                del frame["to"]
            if frame["error"] == "execution reverted" and output:
                frame["output"] = to_data(output)
                reason = revert_reason(output)
                if reason is not None:
                    frame["revertReason"] = reason
            self._live_logs -= _drop_logs(frame)
        if self._stack:
            self._stack[-1].setdefault("calls", []).append(frame)
        else:
            self.root = frame

    def result(self, run: TxRun) -> dict[str, Any]:
        root = self.root
        if root is None:  # the transaction failed before its frame started (a create collision)
            root = {
                "from": to_data(run.sender),
                "gas": "0x0",
                "gasUsed": "0x0",
                "input": to_data(run.data),
                "type": "CALL" if run.to is not None else "CREATE",
                "value": hex(run.value),
            }
            if run.to is not None:
                root["to"] = to_data(run.to)
            if not run.success:
                root["error"] = error_text(run.computation.error)
        root["gas"] = hex(run.gas_limit)
        root["gasUsed"] = hex(run.gas_used)
        return root


def _drop_logs(frame: dict[str, Any]) -> int:
    """Remove the logs of a failed frame and its children; returns how many there were."""
    dropped = len(frame.pop("logs", ()))
    for child in frame.get("calls", ()):
        dropped += _drop_logs(child)
    return dropped
