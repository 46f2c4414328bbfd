"""Shomei's sparse Merkle tree: depth 40, leaves appended in insertion order, linked in key order.

Leaves are not placed by key but at the next free index, and each leaf names its predecessor and
successor in hkey order (HEAD at index 0 and TAIL at index 1 bound the list). An absent key is then
proven by two adjacent leaves, and an insertion touches only three leaves. The committed root binds
the free-slot counter too: root = H(u256(nextFreeNode) || subRoot); deletions free no slot, so
nextFreeNode only grows. Every operation returns the trace a prover needs to replay it.

Keys and values are handed in unhashed; their hashes come from `linen.state.encoding` (20-byte
address / 192-byte account, 32-byte slot / 32-byte value) unless the caller passes hkey/hval.
"""

from __future__ import annotations

from functools import cache

from linen.errors import InvalidInput
from linen.state.encoding import hkey_of, hval_of
from linen.state.hashers import Hasher, get_hasher
from linen.state.model import (
    FIRST_FREE_INDEX,
    HEAD_INDEX,
    MAX_LEAF_INDEX,
    TAIL_INDEX,
    TREE_DEPTH,
    FlatLeaf,
    LeafOpening,
    TraceProof,
    head_leaf,
    tail_leaf,
)
from linen.state.store import MemoryNodeStore, NodeStore
from linen.state.traces import DeletionTrace, InsertionTrace, ReadTrace, ReadZeroTrace, UpdateTrace

ZERO_WORD = bytes(32)


@cache
def empty_subtree_hashes(hasher_name: str) -> tuple[bytes, ...]:
    """Hash of an all-empty subtree by height: 0 for an empty leaf, then H(e || e) per level up."""
    hasher = get_hasher(hasher_name)
    hashes = [ZERO_WORD]
    for _ in range(TREE_DEPTH):
        hashes.append(hasher.hash([hashes[-1], hashes[-1]]))
    return tuple(hashes)


@cache
def empty_root(hasher_name: str) -> bytes:
    """Root of a tree holding only HEAD and TAIL (also every fresh account's storage root)."""
    return SparseMerkleTree(get_hasher(hasher_name)).root


class SparseMerkleTree:
    """One account tree or one storage tree, over any `NodeStore` (in memory by default)."""

    def __init__(self, hasher: Hasher, store: NodeStore | None = None) -> None:
        self.hasher = hasher
        self.store: NodeStore = store if store is not None else MemoryNodeStore()
        self._empty = empty_subtree_hashes(hasher.name)
        self._tail_hkey = (hasher.modulus - 1).to_bytes(32, "big")
        self._stale: set[tuple[int, int]] = set()  # inner nodes above a written leaf, not yet rehashed
        if self.store.get_next_free_node() is None:
            self._write_leaf(HEAD_INDEX, head_leaf())
            self.store.put_flat(ZERO_WORD, FlatLeaf(HEAD_INDEX, ZERO_WORD))
            self._write_leaf(TAIL_INDEX, tail_leaf(hasher))
            self.store.put_flat(self._tail_hkey, FlatLeaf(TAIL_INDEX, ZERO_WORD))
            self.store.set_next_free_node(FIRST_FREE_INDEX)
            self.node_hash(0, 0)  # rehash what the sentinels made stale before anything is committed

    # -- committed values -------------------------------------------------------------------------

    @property
    def next_free_node(self) -> int:
        value = self.store.get_next_free_node()
        assert value is not None
        return value

    @property
    def sub_root(self) -> bytes:
        return self.node_hash(0, 0)

    @property
    def root(self) -> bytes:
        return self.hasher.hash([self.next_free_node.to_bytes(32, "big"), self.sub_root])

    def node_hash(self, depth: int, index: int) -> bytes:
        """Hash at a position, the empty-subtree hash where nothing is stored.

        A node made stale by a leaf write is rehashed here, from its children, the first time
        anything asks for it (see `_write_leaf`).
        """
        if (depth, index) in self._stale:
            left = self.node_hash(depth + 1, 2 * index)
            right = self.node_hash(depth + 1, 2 * index + 1)
            node = self.hasher.hash([left, right])
            self._put_node(depth, index, node, self._empty[TREE_DEPTH - depth])
            self._stale.discard((depth, index))
            return node
        stored = self.store.get_node(depth, index)
        return stored if stored is not None else self._empty[TREE_DEPTH - depth]

    def leaf(self, leaf_index: int) -> LeafOpening | None:
        return self.store.get_leaf(leaf_index)

    def siblings(self, leaf_index: int) -> tuple[bytes, ...]:
        """The 40 sibling hashes of a leaf's path, bottom to top."""
        out = []
        index = leaf_index
        for depth in range(TREE_DEPTH, 0, -1):
            out.append(self.node_hash(depth, index ^ 1))
            index >>= 1
        return tuple(out)

    # -- lookups ----------------------------------------------------------------------------------

    def hkey(self, key: bytes, hkey: bytes | None = None) -> bytes:
        """The key's hash, checked to lie strictly between the HEAD and TAIL sentinels."""
        hkey = hkey if hkey is not None else hkey_of(self.hasher, key)
        if len(hkey) != 32 or not 0 < int.from_bytes(hkey, "big") < self.hasher.modulus - 1:
            raise InvalidInput(f"hkey 0x{hkey.hex()} is not strictly between the tree's HEAD and TAIL keys")
        return hkey

    def get(self, key: bytes, *, hkey: bytes | None = None) -> bytes | None:
        """The unhashed value stored under `key`, None if absent."""
        flat = self.store.get_flat(self.hkey(key, hkey))
        return flat.value if flat is not None else None

    def find(self, hkey: bytes) -> tuple[FlatLeaf | None, FlatLeaf, FlatLeaf]:
        """The key's own flat leaf (if present) and its left and right neighbours in hkey order."""
        below, above = self.store.neighbours(hkey)
        if below is None or above is None:
            raise InvalidInput(f"hkey 0x{hkey.hex()} has no neighbour; the tree's sentinels are missing")
        left, right = self.store.get_flat(below), self.store.get_flat(above)
        assert left is not None and right is not None
        return self.store.get_flat(hkey), left, right

    def _leaf_at(self, leaf_index: int) -> LeafOpening:
        leaf = self.store.get_leaf(leaf_index)
        if leaf is None:
            raise InvalidInput(f"the tree's index points at empty leaf {leaf_index}; the store is inconsistent")
        return leaf

    # -- operations -------------------------------------------------------------------------------

    def read(self, key: bytes, *, hkey: bytes | None = None) -> ReadTrace | ReadZeroTrace:
        """Witness of a read: the key's leaf if present (READ), else its two neighbours (READ_ZERO)."""
        hkey = self.hkey(key, hkey)
        center, left, right = self.find(hkey)
        if center is not None:
            return ReadTrace(
                self.next_free_node,
                self.sub_root,
                self._leaf_at(center.leaf_index),
                TraceProof(center.leaf_index, self.siblings(center.leaf_index)),
                key,
                center.value,
            )
        return ReadZeroTrace(
            self.next_free_node,
            self.sub_root,
            self._leaf_at(left.leaf_index),
            self._leaf_at(right.leaf_index),
            TraceProof(left.leaf_index, self.siblings(left.leaf_index)),
            TraceProof(right.leaf_index, self.siblings(right.leaf_index)),
            key,
        )

    def put(
        self, key: bytes, value: bytes, *, hkey: bytes | None = None, hval: bytes | None = None
    ) -> InsertionTrace | UpdateTrace:
        """Set `key` to `value`: an INSERT if the key is new, else an UPDATE of its leaf's hval."""
        hkey = self.hkey(key, hkey)
        hval = hval if hval is not None else hval_of(self.hasher, value)
        center, left, right = self.find(hkey)
        old_sub_root = self.sub_root
        if center is not None:
            prior = self._leaf_at(center.leaf_index)
            self.store.put_flat(hkey, FlatLeaf(center.leaf_index, value))
            proof = self._write_leaf(center.leaf_index, prior.with_hval(hval), alone=True)
            return UpdateTrace(self.next_free_node, old_sub_root, self.sub_root, proof, key, center.value, value, prior)

        new_index = self.next_free_node
        if new_index > MAX_LEAF_INDEX:
            raise InvalidInput("the state tree is full (2^40 leaves used)")
        prior_left = self._leaf_at(left.leaf_index)
        left_proof = self._write_leaf(left.leaf_index, prior_left.with_next(new_index))
        self.store.put_flat(hkey, FlatLeaf(new_index, value))
        new_proof = self._write_leaf(new_index, LeafOpening(left.leaf_index, right.leaf_index, hkey, hval))
        prior_right = self._leaf_at(right.leaf_index)
        right_proof = self._write_leaf(right.leaf_index, prior_right.with_prev(new_index))
        self.store.set_next_free_node(new_index + 1)
        return InsertionTrace(
            new_index + 1,
            old_sub_root,
            self.sub_root,
            left_proof,
            new_proof,
            right_proof,
            key,
            value,
            prior_left,
            prior_right,
        )

    def delete(self, key: bytes, *, hkey: bytes | None = None) -> DeletionTrace | None:
        """Remove `key`: relink its neighbours and empty its slot; None (no trace) if it is absent."""
        hkey = self.hkey(key, hkey)
        center, left, right = self.find(hkey)
        if center is None:
            return None
        old_sub_root = self.sub_root
        prior_left = self._leaf_at(left.leaf_index)
        left_proof = self._write_leaf(left.leaf_index, prior_left.with_next(right.leaf_index))
        prior_deleted = self._leaf_at(center.leaf_index)
        self.store.delete_flat(hkey)
        deleted_proof = self._write_leaf(center.leaf_index, None)
        prior_right = self._leaf_at(right.leaf_index)
        right_proof = self._write_leaf(right.leaf_index, prior_right.with_prev(left.leaf_index))
        return DeletionTrace(
            self.next_free_node,
            old_sub_root,
            self.sub_root,
            left_proof,
            deleted_proof,
            right_proof,
            key,
            center.value,
            prior_left,
            prior_deleted,
            prior_right,
        )

    def _write_leaf(self, leaf_index: int, leaf: LeafOpening | None, alone: bool = False) -> TraceProof:
        """Store a leaf (None empties the slot), mark its path stale, and return the path's siblings.

        The path is rehashed lazily, by `node_hash`: an insertion or deletion writes three leaves,
        and each proof only needs the siblings as they are after the writes before it, so a node
        shared by several paths is hashed once per operation, not once per leaf (an insertion costs
        the union of three paths instead of three full paths). Every operation ends by asking for
        the sub-root, which rehashes whatever is still stale. A write `alone` in its operation (an
        update) rehashes its whole path at once instead, in one call the native hashers run without
        the GIL. Nodes equal to the empty-subtree hash of their height are deleted rather than
        stored, so a store holds only what differs from the empty tree.
        """
        if leaf is None:
            self.store.delete_leaf(leaf_index)
            node = ZERO_WORD
        else:
            self.store.put_leaf(leaf_index, leaf)
            node = leaf.hash(self.hasher)
        self._put_node(TREE_DEPTH, leaf_index, node, self._empty[0])
        if alone and not self._stale:
            siblings = self.siblings(leaf_index)
            path = self.hasher.path_hashes(leaf_index, node, siblings)
            for depth, ancestor in zip(range(TREE_DEPTH - 1, -1, -1), path, strict=True):
                self._put_node(depth, leaf_index >> (TREE_DEPTH - depth), ancestor, self._empty[TREE_DEPTH - depth])
            return TraceProof(leaf_index, siblings)
        stale = self._stale
        for depth in range(TREE_DEPTH - 1, -1, -1):
            stale.add((depth, leaf_index >> (TREE_DEPTH - depth)))
        siblings = tuple(
            self.node_hash(depth, (leaf_index >> (TREE_DEPTH - depth)) ^ 1) for depth in range(TREE_DEPTH, 0, -1)
        )
        return TraceProof(leaf_index, siblings)

    def _put_node(self, depth: int, index: int, node: bytes, empty_hash: bytes) -> None:
        if node == empty_hash:
            self.store.delete_node(depth, index)
        else:
            self.store.put_node(depth, index, node)
