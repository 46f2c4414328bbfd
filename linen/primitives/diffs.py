"""The plain records execution produces and the chain, the tracer and the state manager consume:
logs and state diffs (every field of every account a transaction read or wrote, as (prior, new)).

Frozen data with no py-evm objects, so the pure layers can share them without importing the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


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
