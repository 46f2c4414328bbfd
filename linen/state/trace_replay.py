"""Checking the state manager's Merkle traces with nothing but their own content and one trusted root.

Each trace of `rollup_getZkEVMStateMerkleProofV0` is replayed on its sibling paths: the leaves it
opens must hash up to the sub-root before the operation, and the leaves it writes (in the order the
tree wrote them) must reach the sub-root after it. The tree root is H(u256(nextFreeNode) || subRoot),
so comparing roots binds the free-slot counter too. Account-tree traces chain from
zkParentStateRootHash through every block; a storage tree's traces chain from the storage root in the
account's prior value and must end at the storage root of its new value. What comes out is, per block,
the proven value before and after of every account and slot the block touched: the witness the
stateless re-execution runs on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from linen.errors import InvalidInput
from linen.state.encoding import AccountValue, hkey_of, hval_of, u256
from linen.state.hashers import HASHER_NAMES, POSEIDON2_BN254, Hasher, get_hasher
from linen.state.model import HEAD_INDEX, MAX_LEAF_INDEX, TAIL_INDEX, TREE_DEPTH, LeafOpening
from linen.state.proofs import path_root
from linen.state.tree import empty_root

READ, READ_ZERO, INSERT, UPDATE, DELETE = range(5)
TRACE_NAMES = ("READ", "READ_ZERO", "INSERT", "UPDATE", "DELETE")
ZERO_WORD = bytes(32)


class InvalidExecutionRequest(InvalidInput):
    """An execution request (or the trace file it names) that does not prove what it claims."""


# -- parsing ---------------------------------------------------------------------------------------


def _int(obj: dict, name: str) -> int:
    value = obj.get(name)
    if isinstance(value, bool):
        raise InvalidExecutionRequest(f"{name}: expected an integer")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.startswith("0x") else int(value)
        except ValueError:
            pass
    raise InvalidExecutionRequest(f"{name}: expected a non-negative integer, got {str(value)[:80]!r}")


def hex_bytes(obj: dict, name: str, sizes: tuple[int, ...] | None = None) -> bytes:
    """The 0x-hex field `name` of `obj` as bytes (of one of `sizes` if given)."""
    return parse_hex(obj.get(name), name, sizes)


def parse_hex(value: object, name: str, sizes: tuple[int, ...] | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise InvalidExecutionRequest(f"{name}: expected 0x-hex, got {str(value)[:80]!r}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidExecutionRequest(f"{name}: invalid hex") from None
    if sizes is not None and len(raw) not in sizes:
        raise InvalidExecutionRequest(f"{name}: expected {' or '.join(map(str, sizes))} bytes, got {len(raw)}")
    return raw


def _object(obj: dict, name: str) -> dict:
    value = obj.get(name)
    if not isinstance(value, dict):
        raise InvalidExecutionRequest(f"{name}: expected an object")
    return value


def _leaf(obj: dict, name: str) -> LeafOpening:
    leaf = _object(obj, name)
    return LeafOpening(
        _int(leaf, "prevLeaf"), _int(leaf, "nextLeaf"), hex_bytes(leaf, "hkey", (32,)), hex_bytes(leaf, "hval", (32,))
    )


def _proof(obj: dict, name: str) -> tuple[int, tuple[bytes, ...]]:
    proof = _object(obj, name)
    index = _int(proof, "leafIndex")
    siblings = proof.get("siblings")
    if index > MAX_LEAF_INDEX or not isinstance(siblings, list) or len(siblings) != TREE_DEPTH:
        raise InvalidExecutionRequest(f"{name}: expected a leaf index and {TREE_DEPTH} siblings")
    return index, tuple(parse_hex(s, f"{name}.siblings[]", (32,)) for s in siblings)


# -- replaying one trace ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceStep:
    """One verified tree operation: which tree, which key, the roots around it, the values around it."""

    location: bytes  # b"" for the account tree, else the address owning the storage tree
    kind: int
    key: bytes
    root_before: bytes
    root_after: bytes
    prior: bytes | None  # unhashed value before (None: absent)
    new: bytes | None


class _Replay:
    def __init__(self, hasher: Hasher, trace: dict) -> None:
        self.hasher, self.trace = hasher, trace

    def root(self, next_free: int, sub_root: bytes) -> bytes:
        return self.hasher.hash([u256(next_free), sub_root])

    def path(self, index: int, leaf: LeafOpening | None, siblings: tuple[bytes, ...]) -> bytes:
        return path_root(self.hasher, index, ZERO_WORD if leaf is None else leaf.hash(self.hasher), siblings)

    def require(self, ok: bool, what: str) -> None:
        if not ok:
            raise InvalidExecutionRequest(what)

    def key_and_hkey(self, account_tree: bool) -> tuple[bytes, bytes]:
        key = hex_bytes(self.trace, "key", (20,) if account_tree else (32,))
        return key, hkey_of(self.hasher, key)

    def value(self, name: str, account_tree: bool) -> bytes:
        return hex_bytes(self.trace, name, (192,) if account_tree else (32,))

    def between(self, left: LeafOpening, hkey: bytes, right: LeafOpening) -> None:
        self.require(
            int.from_bytes(left.hkey, "big") < int.from_bytes(hkey, "big") < int.from_bytes(right.hkey, "big"),
            "the neighbour leaves do not enclose the key",
        )


def replay_trace(hasher: Hasher, trace: dict) -> TraceStep:
    """Verify one trace's paths and return what it proves; InvalidExecutionRequest if anything is off."""
    if not isinstance(trace, dict):
        raise InvalidExecutionRequest("a trace must be a JSON object")
    r = _Replay(hasher, trace)
    kind = _int(trace, "type")
    location = hex_bytes(trace, "location", (0, 20))
    account_tree = location == b""
    try:
        key, hkey = r.key_and_hkey(account_tree)
        if kind == READ:
            next_free, sub_root = _int(trace, "nextFreeNode"), hex_bytes(trace, "subRoot", (32,))
            leaf = _leaf(trace, "leaf")
            index, siblings = _proof(trace, "proof")
            value = r.value("value", account_tree)
            r.require(index not in (HEAD_INDEX, TAIL_INDEX) and index < next_free, "the leaf index is not a key's")
            r.require(leaf.hkey == hkey and leaf.hval == hval_of(hasher, value), "the leaf does not hold key/value")
            r.require(r.path(index, leaf, siblings) == sub_root, "the leaf's path does not reach the sub-root")
            root = r.root(next_free, sub_root)
            return TraceStep(location, kind, key, root, root, value, value)
        if kind == READ_ZERO:
            next_free, sub_root = _int(trace, "nextFreeNode"), hex_bytes(trace, "subRoot", (32,))
            left, right = _leaf(trace, "leftLeaf"), _leaf(trace, "rightLeaf")
            (li, ls), (ri, rs) = _proof(trace, "leftProof"), _proof(trace, "rightProof")
            r.require(left.next == ri and right.prev == li, "the neighbour leaves are not linked")
            r.between(left, hkey, right)
            r.require(li < next_free and ri < next_free, "a neighbour index is beyond nextFreeNode")
            r.require(r.path(li, left, ls) == sub_root, "the left leaf's path does not reach the sub-root")
            r.require(r.path(ri, right, rs) == sub_root, "the right leaf's path does not reach the sub-root")
            root = r.root(next_free, sub_root)
            return TraceStep(location, kind, key, root, root, None, None)
        old_sub, new_sub = hex_bytes(trace, "oldSubRoot", (32,)), hex_bytes(trace, "newSubRoot", (32,))
        next_free = _int(trace, "newNextFreeNode")
        if kind == INSERT:
            value = r.value("value", account_tree)
            left, right = _leaf(trace, "priorLeftLeaf"), _leaf(trace, "priorRightLeaf")
            (li, ls), (ni, ns), (ri, rs) = (_proof(trace, n) for n in ("leftProof", "newProof", "rightProof"))
            r.require(next_free >= 3 and ni == next_free - 1, "the new leaf is not at the old nextFreeNode")
            r.require(left.next == ri and right.prev == li, "the neighbour leaves are not linked")
            r.between(left, hkey, right)
            r.require(r.path(li, left, ls) == old_sub, "the left leaf's path does not reach the old sub-root")
            step = r.path(li, left.with_next(ni), ls)
            r.require(r.path(ni, None, ns) == step, "the new leaf's slot is not empty")
            step = r.path(ni, LeafOpening(li, ri, hkey, hval_of(hasher, value)), ns)
            r.require(r.path(ri, right, rs) == step, "the right leaf's path does not chain")
            r.require(r.path(ri, right.with_prev(ni), rs) == new_sub, "the insertion does not reach the new sub-root")
            return TraceStep(
                location, kind, key, r.root(next_free - 1, old_sub), r.root(next_free, new_sub), None, value
            )
        if kind == UPDATE:
            old_value, new_value = r.value("oldValue", account_tree), r.value("newValue", account_tree)
            prior = _leaf(trace, "priorUpdatedLeaf")
            index, siblings = _proof(trace, "proof")
            r.require(index not in (HEAD_INDEX, TAIL_INDEX) and index < next_free, "the leaf index is not a key's")
            r.require(
                prior.hkey == hkey and prior.hval == hval_of(hasher, old_value), "the leaf does not hold the old value"
            )
            r.require(r.path(index, prior, siblings) == old_sub, "the leaf's path does not reach the old sub-root")
            updated = prior.with_hval(hval_of(hasher, new_value))
            r.require(r.path(index, updated, siblings) == new_sub, "the update does not reach the new sub-root")
            return TraceStep(
                location, kind, key, r.root(next_free, old_sub), r.root(next_free, new_sub), old_value, new_value
            )
        if kind == DELETE:
            value = r.value("deletedValue", account_tree)
            left, gone, right = (_leaf(trace, n) for n in ("priorLeftLeaf", "priorDeletedLeaf", "priorRightLeaf"))
            (li, ls), (di, ds), (ri, rs) = (_proof(trace, n) for n in ("leftProof", "deletedProof", "rightProof"))
            r.require(di not in (HEAD_INDEX, TAIL_INDEX) and di < next_free, "the deleted index is not a key's")
            r.require(gone.hkey == hkey and gone.hval == hval_of(hasher, value), "the leaf does not hold key/value")
            r.require(
                gone.prev == li and gone.next == ri and left.next == di and right.prev == di,
                "the deleted leaf is not linked to its neighbours",
            )
            r.require(r.path(li, left, ls) == old_sub, "the left leaf's path does not reach the old sub-root")
            step = r.path(li, left.with_next(ri), ls)
            r.require(r.path(di, gone, ds) == step, "the deleted leaf's path does not chain")
            step = r.path(di, None, ds)
            r.require(r.path(ri, right, rs) == step, "the right leaf's path does not chain")
            r.require(r.path(ri, right.with_prev(li), rs) == new_sub, "the deletion does not reach the new sub-root")
            return TraceStep(location, kind, key, r.root(next_free, old_sub), r.root(next_free, new_sub), value, None)
    except InvalidInput as exc:
        if isinstance(exc, InvalidExecutionRequest):
            raise
        raise InvalidExecutionRequest(str(exc)) from None
    raise InvalidExecutionRequest(f"unknown trace type {kind}")


# -- chaining a block's traces ---------------------------------------------------------------------


@dataclass
class BlockWitness:
    """What one block's traces prove about the state before and after it.

    `accounts` maps each address to (value at block start, value at block end), None for absent.
    `slot_priors` holds the proven block-start value of every slot read or written while the
    account's original storage was still in place; `slot_news` the block-end value of every traced
    slot (zero after the account's storage was deleted, unless written again).
    """

    number: int
    parent_root: bytes
    root: bytes
    accounts: dict[bytes, tuple[AccountValue | None, AccountValue | None]] = field(default_factory=dict)
    slot_priors: dict[tuple[bytes, int], int] = field(default_factory=dict)
    slot_news: dict[tuple[bytes, int], int] = field(default_factory=dict)

    def covers_account(self, address: bytes) -> bool:
        return address in self.accounts

    def covers_slot(self, address: bytes, slot: int) -> bool:
        """A slot's block-start value is proven: traced, or its account did not exist."""
        if (address, slot) in self.slot_priors:
            return True
        values = self.accounts.get(address)
        return values is not None and values[0] is None


@dataclass
class _StorageChain:
    """A storage tree's root within a block; `start` is set while no account trace has anchored it."""

    current: bytes | None  # None: the account is absent, no storage trace may follow
    start: bytes | None = None
    anchored: bool = False


def _account(value: bytes | None) -> AccountValue | None:
    return None if value is None else AccountValue.decode(value)


class _BlockChecker:
    def __init__(self, hasher: Hasher, number: int, parent_root: bytes) -> None:
        self.hasher = hasher
        self.empty = empty_root(hasher.name)
        self.root = parent_root
        self.witness = BlockWitness(number, parent_root, parent_root)
        self.chains: dict[bytes, _StorageChain] = {}
        self.now: dict[bytes, AccountValue | None] = {}
        self.deleted: set[bytes] = set()

    def storage(self, step: TraceStep) -> None:
        address, slot = step.location, int.from_bytes(step.key, "big")
        chain = self.chains.get(address)
        if chain is None:
            chain = self.chains[address] = _StorageChain(step.root_before, start=step.root_before)
        if chain.current is None:
            raise InvalidExecutionRequest(f"storage trace of account 0x{address.hex()}, which does not exist")
        if step.root_before != chain.current:
            raise InvalidExecutionRequest(
                f"storage traces of account 0x{address.hex()} do not chain (slot 0x{step.key.hex()})"
            )
        chain.current = step.root_after
        key = (address, slot)
        if key not in self.witness.slot_news and address not in self.deleted:
            self.witness.slot_priors[key] = int.from_bytes(step.prior or ZERO_WORD, "big")
        self.witness.slot_news[key] = int.from_bytes(step.new or ZERO_WORD, "big")

    def account(self, step: TraceStep) -> None:
        if step.root_before != self.root:
            raise InvalidExecutionRequest("the account-tree traces do not chain from the previous root")
        self.root = step.root_after
        address = step.key
        prior, new = _account(step.prior), _account(step.new)
        prior_storage = prior.storage_root if prior is not None else self.empty
        chain = self.chains.get(address)
        if chain is not None and not chain.anchored and chain.start != prior_storage:
            raise InvalidExecutionRequest(
                f"the storage traces of account 0x{address.hex()} do not start at its storage root"
            )
        current = chain.current if chain is not None else prior_storage
        if new is not None and new.storage_root != current:
            raise InvalidExecutionRequest(
                f"the storage root of account 0x{address.hex()} is not where its storage traces end"
            )
        if step.kind == DELETE:
            if current != prior_storage:
                raise InvalidExecutionRequest(f"account 0x{address.hex()} is deleted after its storage changed")
            self.deleted.add(address)
            for key in [k for k in self.witness.slot_news if k[0] == address]:
                self.witness.slot_news[key] = 0
            self.chains[address] = _StorageChain(self.empty, anchored=True)
        else:
            self.chains[address] = _StorageChain(None if new is None else new.storage_root, anchored=True)
        before = self.witness.accounts.get(address)
        self.witness.accounts[address] = (prior if before is None else before[0], new)
        self.now[address] = new

    def finish(self) -> BlockWitness:
        for address, chain in self.chains.items():
            if not chain.anchored:
                raise InvalidExecutionRequest(f"storage traces of account 0x{address.hex()} without its account trace")
            value = self.now.get(address)
            expected = value.storage_root if value is not None else self.empty
            if chain.current is not None and chain.current != expected:
                raise InvalidExecutionRequest(
                    f"the storage traces of account 0x{address.hex()} do not end at its storage root"
                )
        self.witness.root = self.root
        return self.witness


def verify_block_traces(hasher: Hasher, number: int, parent_root: bytes, traces: list) -> BlockWitness:
    """Replay one block's traces from `parent_root`; the witness's `root` is the block's end root."""
    if not isinstance(traces, list):
        raise InvalidExecutionRequest(f"zkStateMerkleProof of block {number}: expected a list of traces")
    checker = _BlockChecker(hasher, number, parent_root)
    for index, trace in enumerate(traces):
        where = f"zkStateMerkleProof of block {number}, trace {index}"
        try:
            step = replay_trace(hasher, trace)
            if step.location == b"":
                checker.account(step)
            else:
                checker.storage(step)
        except InvalidExecutionRequest as exc:
            kind = trace.get("type") if isinstance(trace, dict) else None
            name = TRACE_NAMES[kind] if isinstance(kind, int) and 0 <= kind < len(TRACE_NAMES) else "?"
            raise InvalidExecutionRequest(f"{where} ({name}): {exc}") from None
    try:
        return checker.finish()
    except InvalidExecutionRequest as exc:
        raise InvalidExecutionRequest(f"zkStateMerkleProof of block {number}: {exc}") from None


def _first_account_trace(blocks: list) -> dict | None:
    for traces in blocks:
        for trace in traces if isinstance(traces, list) else ():
            if isinstance(trace, dict) and trace.get("location") in ("0x", ""):
                return trace
    return None


def _root_before(hasher: Hasher, trace: dict) -> bytes | None:
    """The root an account-tree trace starts from under `hasher` (its paths unchecked); None if not computable."""
    try:
        kind = _int(trace, "type")
        if kind in (READ, READ_ZERO):
            return hasher.hash([u256(_int(trace, "nextFreeNode")), hex_bytes(trace, "subRoot", (32,))])
        offset = 1 if kind == INSERT else 0
        return hasher.hash([u256(_int(trace, "newNextFreeNode") - offset), hex_bytes(trace, "oldSubRoot", (32,))])
    except (InvalidInput, ValueError, OverflowError):
        return None


def choose_hasher(name: str | None, parent_root: bytes, blocks: list) -> Hasher:
    """The configured tree hasher, else the one under which the traces start at `parent_root`.

    A range without any account trace proves nothing with either hasher; the default one is used.
    """
    if name:
        return get_hasher(name)
    first = _first_account_trace(blocks)
    if first is None:
        return get_hasher(POSEIDON2_BN254)
    for candidate in (POSEIDON2_BN254, *[n for n in HASHER_NAMES if n != POSEIDON2_BN254]):
        hasher = get_hasher(candidate)
        if _root_before(hasher, first) == parent_root:
            return hasher
    raise InvalidExecutionRequest(
        "zkParentStateRootHash is not the root the first account trace starts from, under any known tree hasher"
    )


def verify_traces(hasher: Hasher, parent_root: bytes, blocks: list, first_block: int) -> list[BlockWitness]:
    """Every block's witness, the roots chained: each block starts where the previous one ended."""
    witnesses = []
    root = parent_root
    for offset, traces in enumerate(blocks):
        witness = verify_block_traces(hasher, first_block + offset, root, traces)
        witnesses.append(witness)
        root = witness.root
    return witnesses
