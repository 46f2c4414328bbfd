"""geth's access-list tracer: the addresses and storage slots a transaction touches.

Addresses come from BALANCE, EXTCODESIZE/COPY/HASH, SELFDESTRUCT and the CALL family; slots from
SLOAD and SSTORE of the running contract. The sender, the recipient (or the created contract) and
the precompiles are left out of the address list, since EIP-2929 makes them warm anyway; a slot
of the recipient still lists the recipient. Entries keep first-seen order.
"""

from __future__ import annotations

from typing import Any

from linen.execution.tracing.core import Tracer

_ADDRESS_AT_TOP = (0x31, 0x3B, 0x3C, 0x3F, 0xFF)
_CALLS = (0xF1, 0xF2, 0xF4, 0xFA)


def _int(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


class AccessListTracer(Tracer):
    def __init__(self, seed: tuple = (), excluded: set[bytes] | frozenset = frozenset()) -> None:
        self.excluded = excluded
        self.entries: dict[bytes, dict[int, None]] = {}
        for address, slots in seed:
            entry = self.entries.setdefault(bytes(address), {})
            for slot in slots:
                entry[slot] = None

    def _address(self, address: bytes) -> None:
        if address not in self.excluded:
            self.entries.setdefault(address, {})

    def step_start(self, computation: Any, opcode: int) -> None:
        values = computation._stack.values
        if opcode in (0x54, 0x55):
            if values:
                self.entries.setdefault(bytes(computation.msg.storage_address), {})[_int(values[-1])] = None
        elif opcode in _ADDRESS_AT_TOP:
            if values:
                self._address((_int(values[-1]) & (2**160 - 1)).to_bytes(20, "big"))
        elif opcode in _CALLS and len(values) >= 2:
            self._address((_int(values[-2]) & (2**160 - 1)).to_bytes(20, "big"))

    def access_list(self) -> tuple:
        """As `CallRequest.access_list` takes it: ((address, (slot, ...)), ...)."""
        return tuple((address, tuple(slots)) for address, slots in self.entries.items())

    def same_as(self, other: AccessListTracer) -> bool:
        return {a: set(s) for a, s in self.entries.items()} == {a: set(s) for a, s in other.entries.items()}
