"""py-evm state and computation classes that record what the tracer and state manager need.

`RecordingAccountDB` notes, on the first touch of every account field or storage slot within a
transaction, its value before the transaction; at the end the engine reads the new values. Reads
are recorded too (prior == new), because the sparse Merkle state of issue 4 proves reads as well.
`RecordingComputation` appends each executed instruction to `state.opcode_log` when one is set.
"""

from __future__ import annotations

from typing import Any

from eth.db.account import AccountDB
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState

from linen.execution.types import AccountDiff, ExecutedOpcode, StateDiff


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


class _RecordingOpcode:
    """Wraps one py-evm opcode function to log (pc, opcode, depth, code address) before running it."""

    __slots__ = ("fn", "opcode", "mnemonic")

    def __init__(self, opcode: int, fn: Any) -> None:
        self.opcode = opcode
        self.fn = fn
        self.mnemonic = getattr(fn, "mnemonic", hex(opcode))

    def __call__(self, computation: Any) -> Any:
        log = computation.state.opcode_log
        if log is not None:
            msg = computation.msg
            log.append(ExecutedOpcode(computation.code.program_counter - 1, self.opcode, msg.depth, msg.code_address))
        return self.fn(computation=computation)


class RecordingComputation(PragueComputation):
    opcodes = {op: _RecordingOpcode(op, fn) for op, fn in PragueComputation.opcodes.items()}


class RecordingPragueState(PragueState):
    """Prague state whose account DB and computation record diffs and opcodes."""

    account_db_class = RecordingAccountDB
    computation_class = RecordingComputation
    opcode_log: list[ExecutedOpcode] | None = None

    @property
    def account_db(self) -> RecordingAccountDB:
        return self._account_db  # type: ignore[return-value]
