"""Values the tree stores and hands out: leaf openings, flat leaves, sibling paths.

Kept apart from the tree so the store, the traces and the proof verifier can share them without
importing the tree's update logic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from linen.errors import InvalidInput
from linen.primitives.hexcodec import to_data
from linen.state.hashers import Hasher

TREE_DEPTH = 40
MAX_LEAF_INDEX = 2**TREE_DEPTH - 1
HEAD_INDEX = 0
TAIL_INDEX = 1
FIRST_FREE_INDEX = 2
LEAF_OPENING_SIZE = 128



@dataclass(frozen=True)
class LeafOpening:
    """A leaf's content: its neighbours in key order (by leaf index), its key hash and value hash.

    The prev/next links make the sorted order part of the committed state, which is what lets a
    pair of adjacent leaves prove that a key is absent.
    """

    prev: int
    next: int
    hkey: bytes
    hval: bytes

    def encode(self) -> bytes:
        return self.prev.to_bytes(32, "big") + self.next.to_bytes(32, "big") + self.hkey + self.hval

    @classmethod
    def decode(cls, data: bytes) -> LeafOpening:
        if len(data) != LEAF_OPENING_SIZE:
            raise InvalidInput(f"a leaf opening is {LEAF_OPENING_SIZE} bytes, got {len(data)}")
        return cls(int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big"), data[64:96], data[96:])

    def hash(self, hasher: Hasher) -> bytes:
        return hasher.hash([self.prev.to_bytes(32, "big"), self.next.to_bytes(32, "big"), self.hkey, self.hval])

    def with_prev(self, prev: int) -> LeafOpening:
        return replace(self, prev=prev)

    def with_next(self, next_: int) -> LeafOpening:
        return replace(self, next=next_)

    def with_hval(self, hval: bytes) -> LeafOpening:
        return replace(self, hval=hval)

    def to_json(self) -> dict:
        return {"hkey": to_data(self.hkey), "hval": to_data(self.hval), "prevLeaf": self.prev, "nextLeaf": self.next}


def head_leaf() -> LeafOpening:
    """The sentinel below every key (hkey 0), first leaf of every tree."""
    return LeafOpening(HEAD_INDEX, TAIL_INDEX, bytes(32), bytes(32))


def tail_leaf(hasher: Hasher) -> LeafOpening:
    """The sentinel above every key: hkey = modulus - 1, the largest field element."""
    return LeafOpening(HEAD_INDEX, TAIL_INDEX, (hasher.modulus - 1).to_bytes(32, "big"), bytes(32))


@dataclass(frozen=True)
class FlatLeaf:
    """Where a key lives and its unhashed value, found by hkey without walking the tree."""

    leaf_index: int
    value: bytes


@dataclass(frozen=True)
class TraceProof:
    """A leaf's index and its 40 sibling hashes, bottom (sibling leaf) to top (child of the sub-root)."""

    leaf_index: int
    siblings: tuple[bytes, ...]

    def to_json(self) -> dict:
        return {"leafIndex": self.leaf_index, "siblings": [to_data(s) for s in self.siblings]}
