"""Results the execution engine returns, independent of the EVM implementation behind it.

The state diff and the executed opcodes are what the tracer and the state manager consume, so they
are plain frozen data here, not py-evm objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


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


@dataclass
class AccountDiff:
    """Every field of one account that a transaction or block read or wrote: (prior, new) pairs.

    A field only read has prior == new. `storage` maps slot -> (prior, new). `existed_before` /
    `exists_after` distinguish an empty-but-present account from an absent one (the sparse Merkle
    state of issue 4 inserts and deletes leaves on those transitions).
    """

    existed_before: bool
    exists_after: bool
    nonce: tuple[int, int]
    balance: tuple[int, int]
    code_hash: tuple[bytes, bytes]
    storage: dict[int, tuple[int, int]] = field(default_factory=dict)
    storage_wiped: bool = False

    def merge_later(self, later: AccountDiff) -> None:
        """Fold a later diff of the same account into this one (keeps the earliest priors)."""
        self.exists_after = later.exists_after
        self.nonce = (self.nonce[0], later.nonce[1])
        self.balance = (self.balance[0], later.balance[1])
        self.code_hash = (self.code_hash[0], later.code_hash[1])
        if later.storage_wiped:
            self.storage_wiped = True
        for slot, (prior, new) in later.storage.items():
            if slot in self.storage:
                self.storage[slot] = (self.storage[slot][0], new)
            else:
                self.storage[slot] = (prior, new)


StateDiff = dict[bytes, AccountDiff]


def merge_state_diffs(diffs: list[StateDiff]) -> StateDiff:
    """The block-level diff: first prior and last new value of every touched field."""
    merged: StateDiff = {}
    for diff in diffs:
        for address, account in diff.items():
            if address in merged:
                merged[address].merge_later(account)
            else:
                merged[address] = AccountDiff(
                    account.existed_before,
                    account.exists_after,
                    account.nonce,
                    account.balance,
                    account.code_hash,
                    dict(account.storage),
                    account.storage_wiped,
                )
    return merged


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
