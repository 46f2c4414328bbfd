"""The zk world state: one account tree plus one storage tree per account, fed one trielog per block.

Each tree lives in its own namespace of a `TreeForest` (in memory, or LMDB in `lmdb_store`), so a
deleted or self-destructed account's storage can be dropped as a whole. An account's 192-byte leaf
carries its storage tree's root, hence storage is written before its account. Accounts are processed
in account-hkey order and slots in slot-hkey order, and reads are traced too, as Shomei's
`ZkEvmWorldState` does, so the traces a prover replays come out in the order Linea's provers expect.
A trielog is checked against the state before anything is written: a trielog whose priors disagree
with the tree is refused whole (`TrieLogMismatch`), leaving the state at the previous block.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from eth_hash.auto import keccak

from linen.errors import InvalidInput
from linen.state.encoding import (
    EMPTY_KECCAK_CODE_HASH,
    AccountValue,
    account_hkey,
    code_hash,
    storage_hkey,
    u256,
)
from linen.state.hashers import Hasher
from linen.state.proofs import StateProof, get_proof
from linen.state.store import MemoryNodeStore, NodeStore
from linen.state.traces import Trace
from linen.state.tree import SparseMerkleTree, empty_root
from linen.state.trielog import AccountChange, SlotChange, TrieLog, TrieLogAccount, TrieLogEntry

ACCOUNT_NAMESPACE = b"a" + bytes(20)


def storage_namespace(address: bytes) -> bytes:
    return b"s" + address


class TrieLogMismatch(InvalidInput):
    """A trielog's prior values disagree with the zk state (wrong block order, or a corrupt trielog)."""


class TreeForest(Protocol):
    """Many trees in one store, each under a 21-byte namespace."""

    def tree_store(self, namespace: bytes) -> NodeStore: ...

    def drop_tree(self, namespace: bytes) -> None:
        """Forget every node, leaf and key of one tree (a deleted account's storage)."""
        ...


class MemoryForest:
    """Dict of `MemoryNodeStore`s: the reference forest for tests."""

    def __init__(self) -> None:
        self._trees: dict[bytes, MemoryNodeStore] = {}

    def tree_store(self, namespace: bytes) -> NodeStore:
        return self._trees.setdefault(namespace, MemoryNodeStore())

    def drop_tree(self, namespace: bytes) -> None:
        self._trees.pop(namespace, None)


@dataclass(frozen=True)
class BlockTraces:
    """What applying one block produced: its ordered traces and the zk roots around it."""

    block_number: int
    block_hash: bytes
    parent_root: bytes
    root: bytes
    traces: tuple[Trace, ...]

    def traces_json(self) -> list[dict]:
        return [t.to_json() for t in self.traces]


@dataclass
class _Plan:
    """One entry, resolved against the current state (validation pass, before any write)."""

    entry: TrieLogEntry
    hkey: bytes
    prior: AccountValue | None
    change: AccountChange


class ZkWorldState:
    def __init__(self, hasher: Hasher, forest: TreeForest) -> None:
        self.hasher = hasher
        self.forest = forest
        self.empty_root = empty_root(hasher.name)

    # -- reading ------------------------------------------------------------------------------

    def _tree(self, namespace: bytes, create: bool = False) -> SparseMerkleTree | None:
        store = self.forest.tree_store(namespace)
        if store.get_next_free_node() is None and not create:
            return None
        return SparseMerkleTree(self.hasher, store)

    def _accounts(self) -> SparseMerkleTree:
        tree = self._tree(ACCOUNT_NAMESPACE, create=True)
        assert tree is not None
        return tree

    @property
    def root(self) -> bytes:
        tree = self._tree(ACCOUNT_NAMESPACE)
        return tree.root if tree is not None else self.empty_root

    def account(self, address: bytes) -> AccountValue | None:
        tree = self._tree(ACCOUNT_NAMESPACE)
        value = tree.get(address) if tree is not None else None
        return None if value is None else AccountValue.decode(value)

    def storage(self, address: bytes, slot: bytes) -> int:
        """A slot's value (0 when absent or when the account does not exist)."""
        if self.account(address) is None:
            return 0
        tree = self._tree(storage_namespace(address))
        value = tree.get(slot) if tree is not None else None
        return 0 if value is None else int.from_bytes(value, "big")

    def account_proof(self, address: bytes) -> StateProof:
        tree = self._tree(ACCOUNT_NAMESPACE) or SparseMerkleTree(self.hasher)
        return get_proof(tree, address)

    def storage_proof(self, address: bytes, slot: bytes) -> StateProof:
        """Proof against the account's storage root (an empty tree's proof if it has no storage yet)."""
        tree = self._tree(storage_namespace(address)) or SparseMerkleTree(self.hasher)
        return get_proof(tree, slot)

    # -- applying -----------------------------------------------------------------------------

    def _plan(self, trielog: TrieLog) -> list[_Plan]:
        """Resolve and check every entry against the current state; raise before anything changes."""
        plans = []
        for entry in trielog.entries:
            who = f"account 0x{entry.address.hex()}"
            current = self.account(entry.address)
            change = entry.account
            if change is None:  # storage-only entry: the account itself is untouched
                same = _as_trielog_account(current)
                change = AccountChange(same, same)
            prior = change.prior
            if (prior is None) != (current is None):
                state = "exists" if current is not None else "does not exist"
                raise TrieLogMismatch(f"trielog of block {trielog.block_number}: {who} {state} in the zk state")
            if prior is not None and current is not None:
                have = (current.nonce, current.balance, current.keccak_code_hash)
                if (prior.nonce, prior.balance, prior.keccak_code_hash) != have:
                    raise TrieLogMismatch(
                        f"trielog of block {trielog.block_number}: {who} prior (nonce, balance, codeHash) "
                        f"differs from the zk state's ({have[0]}, {have[1]}, 0x{have[2].hex()})"
                    )
            if change.updated is not None:
                if entry.code is not None:
                    expected = keccak(entry.code.new)
                else:  # no code change: the code stays what it was (Shomei keeps the prior account's code)
                    expected = current.keccak_code_hash if current is not None else EMPTY_KECCAK_CODE_HASH
                if change.updated.keccak_code_hash != expected:
                    raise TrieLogMismatch(
                        f"trielog of block {trielog.block_number}: {who} codeHash has no matching code"
                    )
            if current is not None and not change.cleared and entry.storage:
                tree = self._tree(storage_namespace(entry.address))
                for s in entry.storage:
                    raw = tree.get(s.slot) if tree is not None else None
                    found = 0 if raw is None else int.from_bytes(raw, "big")
                    if found != (s.prior or 0):
                        raise TrieLogMismatch(
                            f"trielog of block {trielog.block_number}: {who} slot 0x{s.slot.hex()} prior "
                            f"{s.prior or 0} differs from the zk state's {found}"
                        )
            plans.append(_Plan(entry, account_hkey(self.hasher, entry.address), current, change))
        plans.sort(key=lambda p: p.hkey)
        return plans

    def apply_trielog(self, trielog: TrieLog) -> BlockTraces:
        """Apply one block's changes; returns its traces in Shomei order and the roots around it."""
        parent_root = self.root
        plans = self._plan(trielog)
        traces: list[Trace] = []
        for plan in plans:
            traces.extend(self._apply_account(plan))
        return BlockTraces(trielog.block_number, trielog.block_hash, parent_root, self.root, tuple(traces))

    def _slots_sorted(self, slots: list[SlotChange]) -> list[SlotChange]:
        return sorted(slots, key=lambda s: storage_hkey(self.hasher, s.slot))

    def _apply_account(self, plan: _Plan) -> list[Trace]:
        entry, change, prior = plan.entry, plan.change, plan.prior
        address, hkey = entry.address, plan.hkey
        location = address
        accounts = self._accounts()
        cleared = change.cleared
        reads = [s for s in entry.storage if (s.prior or 0) == (s.new or 0) and not cleared]
        writes = [s for s in entry.storage if (s.prior or 0) != (s.new or 0) or (cleared and s.new)]
        p, u = change.prior, change.updated
        changed = (
            cleared
            or writes
            or (p is None) != (u is None)
            or (
                p is not None
                and u is not None
                and (p.nonce, p.balance, p.keccak_code_hash) != (u.nonce, u.balance, u.keccak_code_hash)
            )
        )
        traces: list[Trace] = []
        if prior is None and u is None:
            # Touched but absent before and after (a 0-value transfer to a fresh address that EIP-161
            # removes, a precompile call): the prover re-executes the touch, so it needs the absence proven.
            return [accounts.read(address, hkey=hkey)]
        if not changed:
            traces.append(accounts.read(address, hkey=hkey))
        if prior is not None and reads:
            storage = self._tree(storage_namespace(address), create=True)
            assert storage is not None
            for s in self._slots_sorted(reads):
                traces.append(replace(storage.read(s.slot), location=location))
        if not changed:
            return traces
        if prior is not None and (cleared or u is None):
            deletion = accounts.delete(address, hkey=hkey)
            assert deletion is not None
            traces.append(deletion)
            self.forest.drop_tree(storage_namespace(address))
        if u is None:
            return traces
        if writes:
            storage = self._tree(storage_namespace(address), create=True)
            assert storage is not None
            for s in self._slots_sorted(writes):
                if s.new:
                    traces.append(replace(storage.put(s.slot, u256(s.new)), location=location))
                else:
                    deletion = storage.delete(s.slot)
                    if deletion is not None:
                        traces.append(replace(deletion, location=location))
            storage_root = storage.root
        elif prior is not None and not cleared:
            storage_root = prior.storage_root  # untouched storage: no need to open its tree
        else:
            storage_root = self.empty_root  # a new or wiped account's storage tree is made on its first write
        if entry.code is not None:
            code = entry.code.new
            code_fields = (code_hash(self.hasher, code), keccak(code), len(code))
        elif prior is not None:
            code_fields = (prior.code_hash, prior.keccak_code_hash, prior.code_size)
        else:
            code_fields = (code_hash(self.hasher, b""), EMPTY_KECCAK_CODE_HASH, 0)
        value = AccountValue(u.nonce, u.balance, storage_root, *code_fields)
        traces.append(accounts.put(address, value.encode(), hkey=hkey))
        return traces


def _as_trielog_account(value: AccountValue | None) -> TrieLogAccount | None:
    return None if value is None else TrieLogAccount(value.nonce, value.balance, value.keccak_code_hash)
