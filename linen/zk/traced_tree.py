"""The prover's copy of the account tree, rebuilt from the state manager's traces alone.

A segment witness needs a Merkle path for every account a transfer touches, after every transfer;
the state manager's traces give, per block, the paths of every touched leaf (after the block's
earlier operations, in its own order: accounts sorted by key hash). `TracedTree` holds exactly the
nodes those paths determine: before a block it absorbs the block's traces, taking each sibling hash
the first time it is seen from a subtree no earlier operation of the block wrote under (so it is
still the block's parent value), and each leaf as the trace found it. On those nodes a
`SparseMerkleTree` then applies the transfers in transaction order, which is another order than
the state manager's, and the roots agree because a leaf's position does not depend on the order:
each INSERT goes to the slot the state manager gave it (`insert_positions`). Anything the traces do
not open (a storage trace, a deletion) is outside the provable class and refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from linen.errors import InvalidInput
from linen.state.encoding import hkey_of
from linen.state.hashers import Hasher
from linen.state.model import HEAD_INDEX, TAIL_INDEX, TREE_DEPTH, FlatLeaf, LeafOpening
from linen.state.store import MemoryNodeStore
from linen.state.trace_replay import (
    DELETE,
    INSERT,
    READ,
    READ_ZERO,
    UPDATE,
    _int,
    _leaf,
    _proof,
    hex_bytes,
)
from linen.state.tree import SparseMerkleTree


class UntraceableBlock(InvalidInput):
    """A block whose traces cannot seed a transfer witness (storage or deletions, or paths missing)."""


def _path(index: int) -> list[tuple[int, int]]:
    """The positions (depth, index) from a leaf up to, not including, the root."""
    return [(depth, index >> (TREE_DEPTH - depth)) for depth in range(TREE_DEPTH, 0, -1)]


@dataclass
class _Opening:
    index: int
    siblings: tuple[bytes, ...]
    leaf: LeafOpening | None  # as the operation found it (None: an empty slot)
    written: bool
    value: bytes | None = None  # the unhashed account, when the trace gives it


def _openings(trace: dict) -> tuple[bytes, int, list[_Opening]]:
    """(key, next free node before the operation, the leaves it opens in the order it writes them)."""
    kind = _int(trace, "type")
    key = hex_bytes(trace, "key", (20,))
    if kind == READ:
        index, siblings = _proof(trace, "proof")
        return key, _int(trace, "nextFreeNode"), [_Opening(index, siblings, _leaf(trace, "leaf"), False,
                                                           hex_bytes(trace, "value", (192,)))]
    if kind == READ_ZERO:
        (li, ls), (ri, rs) = _proof(trace, "leftProof"), _proof(trace, "rightProof")
        return key, _int(trace, "nextFreeNode"), [_Opening(li, ls, _leaf(trace, "leftLeaf"), False),
                                                  _Opening(ri, rs, _leaf(trace, "rightLeaf"), False)]
    if kind == INSERT:
        (li, ls), (ni, ns), (ri, rs) = (_proof(trace, n) for n in ("leftProof", "newProof", "rightProof"))
        return key, _int(trace, "newNextFreeNode") - 1, [
            _Opening(li, ls, _leaf(trace, "priorLeftLeaf"), True), _Opening(ni, ns, None, True),
            _Opening(ri, rs, _leaf(trace, "priorRightLeaf"), True)]
    if kind == UPDATE:
        index, siblings = _proof(trace, "proof")
        return key, _int(trace, "newNextFreeNode"), [_Opening(index, siblings, _leaf(trace, "priorUpdatedLeaf"), True,
                                                              hex_bytes(trace, "oldValue", (192,)))]
    if kind == DELETE:
        raise UntraceableBlock("a deletion is not part of a plain transfer")
    raise UntraceableBlock(f"unknown trace type {kind}")


@dataclass
class TracedTree:
    """A `SparseMerkleTree` that knows only what traces opened, at the state between two blocks."""

    hasher: Hasher
    tree: SparseMerkleTree | None = None
    known: set[tuple[int, int]] = field(default_factory=set)  # positions whose hash is the true one
    leaves: set[int] = field(default_factory=set)  # leaf indices whose opening is held

    def absorb(self, number: int, parent_root: bytes, traces: list) -> dict[bytes, int]:
        """Take what block `number`'s traces (checked beforehand: `verify_traces`) say about its parent
        state; returns the leaf index the state manager gave each key the block inserts. The tree's root
        must then be `parent_root`: UntraceableBlock otherwise."""
        written: set[tuple[int, int]] = set()  # positions under which this block wrote before the current trace
        inserts: dict[bytes, int] = {}
        for i, trace in enumerate(traces):
            if not isinstance(trace, dict) or trace.get("location") not in ("0x", ""):
                raise UntraceableBlock(f"block {number}, trace {i}: a storage trace is not part of a plain transfer")
            key, next_free, openings = _openings(trace)
            if self.tree is None:
                store = MemoryNodeStore()
                store.set_next_free_node(next_free)
                # the sentinels' keys bound every search; their leaves are seeded only where traces open them
                store.put_flat(bytes(32), FlatLeaf(HEAD_INDEX, bytes(32)))
                store.put_flat((self.hasher.modulus - 1).to_bytes(32, "big"), FlatLeaf(TAIL_INDEX, bytes(32)))
                self.tree = SparseMerkleTree(self.hasher, store)
            for opening in openings:
                self._take(opening, written)
                if opening.written:
                    written.update(_path(opening.index))
            if _int(trace, "type") == INSERT:
                inserts[key] = openings[1].index
            value = openings[0].value
            if value is not None:
                hkey = hkey_of(self.hasher, key)
                self.tree.store.put_flat(hkey, FlatLeaf(openings[0].index, value))
        if self.tree is None:
            raise UntraceableBlock(f"block {number} has no account traces: a block of transfers has some")
        if self.tree.root != parent_root:
            raise UntraceableBlock(f"block {number}: the traced paths do not rebuild the parent root 0x{parent_root.hex()}")
        return inserts

    def _take(self, opening: _Opening, written: set[tuple[int, int]]) -> None:
        tree = self.tree
        assert tree is not None
        for (depth, index), sibling in zip(_path(opening.index), opening.siblings, strict=True):
            position = (depth, index ^ 1)
            if position in written or position in self.known:
                continue
            tree._put_node(depth, index ^ 1, sibling, tree._empty[TREE_DEPTH - depth])
            self.known.add(position)
        # a leaf's hash may be known (as another path's sibling) before its opening is
        if (TREE_DEPTH, opening.index) in written or opening.index in self.leaves:
            return
        tree._write_leaf(opening.index, opening.leaf)
        self.leaves.add(opening.index)
        self.known.update(_path(opening.index))
        if opening.leaf is not None and tree.store.get_flat(opening.leaf.hkey) is None:
            tree.store.put_flat(opening.leaf.hkey, FlatLeaf(opening.index, b""))  # a neighbour: key known, value not
