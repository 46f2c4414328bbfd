"""The contract every state-tree hash function keeps, and the checks they share.

The tree, the account/storage encodings and the proof verifier only ever call `hash(words)` on a
sequence of 32-byte big-endian field elements, so the hash function can be swapped (MiMC for
Linea-exact state, Poseidon2 for a tree that Barretenberg proves cheaply) without touching them.
Inputs are checked here rather than reduced silently: a word at or above the field modulus would
hash like a different word, which would let two distinct states share a root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from linen.errors import InvalidInput


class FieldElementOutOfRange(InvalidInput):
    """A 32-byte word handed to a field hash is not a canonical element of the hasher's field."""


@runtime_checkable
class Hasher(Protocol):
    """A hash of field elements: 32-byte big-endian words in, one 32-byte word out."""

    name: str
    modulus: int

    def hash(self, words: Sequence[bytes]) -> bytes:
        """Hash 32-byte words, each < `modulus`; raise `FieldElementOutOfRange` otherwise."""
        ...

    def hash_ints(self, values: Sequence[int]) -> int:
        """Same as `hash` on already-checked integers (the tree's inner loop)."""
        ...

    def hash_many(self, inputs: Iterable[Sequence[bytes]]) -> list[bytes]:
        """`[hash(words) for words in inputs]`; the native hashers do it in one call."""
        ...

    def hash_pairs(self, left: Sequence[bytes], right: Sequence[bytes]) -> list[bytes]:
        """`[hash([l, r]) for l, r in zip(left, right)]` (equal lengths)."""
        ...

    def path_hashes(self, leaf_index: int, node: bytes, siblings: Sequence[bytes]) -> list[bytes]:
        """The node hashes above `node` on a Merkle path, bottom-up (the last is the root).

        Level k hashes H(sibling_k, node) if bit k of `leaf_index` is set, else H(node, sibling_k).
        """
        ...


class FieldHasher:
    """Shared byte handling so each concrete hasher only writes its integer core."""

    name: str = ""
    modulus: int = 0

    def hash(self, words: Sequence[bytes]) -> bytes:
        return self.hash_ints([self.word_to_int(w) for w in words]).to_bytes(32, "big")

    def hash_ints(self, values: Sequence[int]) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def hash_many(self, inputs: Iterable[Sequence[bytes]]) -> list[bytes]:
        return [self.hash(words) for words in inputs]

    def hash_pairs(self, left: Sequence[bytes], right: Sequence[bytes]) -> list[bytes]:
        if len(left) != len(right):
            raise ValueError(f"hash_pairs needs as many left as right words ({len(left)} != {len(right)})")
        return [self.hash([a, b]) for a, b in zip(left, right, strict=True)]

    def path_hashes(self, leaf_index: int, node: bytes, siblings: Sequence[bytes]) -> list[bytes]:
        out = []
        index = leaf_index
        for sibling in siblings:
            node = self.hash([sibling, node] if index & 1 else [node, sibling])
            out.append(node)
            index >>= 1
        return out

    def word_to_int(self, word: bytes) -> int:
        """Decode one 32-byte word, refusing anything that is not a canonical field element."""
        if len(word) != 32:
            raise FieldElementOutOfRange(f"{self.name}: expected a 32-byte word, got {len(word)} bytes")
        value = int.from_bytes(word, "big")
        if value >= self.modulus:
            raise FieldElementOutOfRange(
                f"{self.name}: word 0x{word.hex()} is not below the field modulus; split wide values into "
                "16-byte halves (see linen.state.encoding.safe_words)"
            )
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
