"""Where a tree keeps its state: the one interface every tree mutation goes through.

Three maps and a counter: node hashes by position (depth, index), leaf openings by leaf index, and
flat leaves (leaf index + unhashed value) by hkey, with an ordered view of the hkeys so the tree can
find a key's neighbours without a scan. A persistent store (LMDB, SQLite) implements the same
methods over ordered keys; `MemoryNodeStore` is the in-memory one for tests and the reference.
Absent nodes are empty subtrees: the tree substitutes the precomputed empty hash for their height.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Protocol

from linen.state.model import FlatLeaf, LeafOpening


class NodeStore(Protocol):
    def get_node(self, depth: int, index: int) -> bytes | None:
        """Hash of the node at `depth` (0 = sub-root, 40 = leaves) and `index`, None if empty."""
        ...

    def put_node(self, depth: int, index: int, node_hash: bytes) -> None: ...

    def delete_node(self, depth: int, index: int) -> None: ...

    def get_leaf(self, leaf_index: int) -> LeafOpening | None: ...

    def put_leaf(self, leaf_index: int, leaf: LeafOpening) -> None: ...

    def delete_leaf(self, leaf_index: int) -> None: ...

    def get_flat(self, hkey: bytes) -> FlatLeaf | None: ...

    def put_flat(self, hkey: bytes, flat: FlatLeaf) -> None:
        """Record (or overwrite) a key; the ordered hkey index must include it afterwards."""
        ...

    def delete_flat(self, hkey: bytes) -> None: ...

    def neighbours(self, hkey: bytes) -> tuple[bytes | None, bytes | None]:
        """The largest stored hkey strictly below `hkey` and the smallest strictly above it."""
        ...

    def get_next_free_node(self) -> int | None:
        """The next unused leaf index, None for a store that holds no tree yet."""
        ...

    def set_next_free_node(self, value: int) -> None: ...


class MemoryNodeStore:
    """Dict-backed store; the hkey order is a sorted list searched with bisect (O(log n) lookups)."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._leaves: dict[int, LeafOpening] = {}
        self._flat: dict[bytes, FlatLeaf] = {}
        self._sorted: list[bytes] = []
        self._next_free: int | None = None

    def get_node(self, depth: int, index: int) -> bytes | None:
        return self._nodes.get((depth, index))

    def put_node(self, depth: int, index: int, node_hash: bytes) -> None:
        self._nodes[(depth, index)] = node_hash

    def delete_node(self, depth: int, index: int) -> None:
        self._nodes.pop((depth, index), None)

    def get_leaf(self, leaf_index: int) -> LeafOpening | None:
        return self._leaves.get(leaf_index)

    def put_leaf(self, leaf_index: int, leaf: LeafOpening) -> None:
        self._leaves[leaf_index] = leaf

    def delete_leaf(self, leaf_index: int) -> None:
        self._leaves.pop(leaf_index, None)

    def get_flat(self, hkey: bytes) -> FlatLeaf | None:
        return self._flat.get(hkey)

    def put_flat(self, hkey: bytes, flat: FlatLeaf) -> None:
        if hkey not in self._flat:
            insort(self._sorted, hkey)
        self._flat[hkey] = flat

    def delete_flat(self, hkey: bytes) -> None:
        if self._flat.pop(hkey, None) is not None:
            del self._sorted[bisect_left(self._sorted, hkey)]

    def neighbours(self, hkey: bytes) -> tuple[bytes | None, bytes | None]:
        below = bisect_left(self._sorted, hkey)
        above = bisect_right(self._sorted, hkey)
        return (
            self._sorted[below - 1] if below > 0 else None,
            self._sorted[above] if above < len(self._sorted) else None,
        )

    def get_next_free_node(self) -> int | None:
        return self._next_free

    def set_next_free_node(self, value: int) -> None:
        self._next_free = value

    def node_count(self) -> int:
        """Stored non-empty nodes (lets tests check that deletions leave no garbage)."""
        return len(self._nodes)
