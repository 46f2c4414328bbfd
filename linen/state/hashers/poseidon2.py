"""Poseidon2 over the BN254 scalar field, as Barretenberg and Noir compute it.

A Linen chain proves its state transitions with Noir circuits run by Barretenberg, where Poseidon2
costs a few constraints per hash while MiMC-BLS12-377 would need non-native field arithmetic. The
tree therefore uses exactly the permutation Noir exposes as `std::hash::poseidon2_permutation`
(t = 4, x^5, 4 + 56 + 4 rounds, Barretenberg's constants) and the sponge of the `poseidon` Noir
library's `Poseidon2::hash` (rate 3, capacity 1, IV = len * 2^64 in the capacity word, one
permutation per full block and one at the end), so a circuit can recompute every node we store.
"""

from __future__ import annotations

from collections.abc import Sequence

from linen.state.hashers.base import FieldHasher
from linen.state.hashers.poseidon2_constants import (
    FIRST_FULL_ROUND_CONSTANTS,
    INTERNAL_DIAGONAL_MINUS_ONE,
    LAST_FULL_ROUND_CONSTANTS,
    PARTIAL_ROUND_CONSTANTS,
)

R_BN254 = 21888242871839275222246405745257275088548364400416034343698204186575808495617
RATE = 3


def _external(a: int, b: int, c: int, d: int) -> tuple[int, int, int, int]:
    """Multiply by the 4x4 MDS matrix [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]] with 8 additions."""
    p = R_BN254
    t0 = a + b
    t1 = c + d
    t2 = b + b + t1
    t3 = d + d + t0
    t4 = 4 * t1 + t3
    t5 = 4 * t0 + t2
    return (t3 + t5) % p, t5 % p, (t2 + t4) % p, t4 % p


def _full_round(s: tuple[int, int, int, int], rc: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    p = R_BN254
    a, b, c, d = s
    ca, cb, cc, cd = rc
    return _external(pow(a + ca, 5, p), pow(b + cb, 5, p), pow(c + cc, 5, p), pow(d + cd, 5, p))


def permute(state: Sequence[int]) -> list[int]:
    """The Poseidon2 permutation on four BN254 elements (Noir's `poseidon2_permutation`)."""
    p = R_BN254
    s = _external(*(v % p for v in state))
    for rc in FIRST_FULL_ROUND_CONSTANTS:
        s = _full_round(s, rc)
    s0, s1, s2, s3 = s
    d0, d1, d2, d3 = INTERNAL_DIAGONAL_MINUS_ONE
    for c in PARTIAL_ROUND_CONSTANTS:
        s0 = pow(s0 + c, 5, p)
        total = s0 + s1 + s2 + s3
        s0, s1, s2, s3 = (s0 * d0 + total) % p, (s1 * d1 + total) % p, (s2 * d2 + total) % p, (s3 * d3 + total) % p
    s = (s0, s1, s2, s3)
    for rc in LAST_FULL_ROUND_CONSTANTS:
        s = _full_round(s, rc)
    return list(s)


def sponge_hash(values: Sequence[int]) -> int:
    """Noir `poseidon` library `Poseidon2::hash(input, input.len())`: absorb in blocks of 3, squeeze one.

    A block is only permuted when the next element arrives or at the squeeze, so a message whose
    length is a multiple of 3 costs len/3 permutations, not one more (unlike the stdlib-internal
    hasher the vectors list apart).
    """
    p = R_BN254
    state = [0, 0, 0, (len(values) << 64) % p]
    for start in range(0, len(values), RATE):
        if start:
            state = permute(state)
        for i, v in enumerate(values[start : start + RATE]):
            state[i] = (state[i] + v) % p
    return permute(state)[0]


class Poseidon2Bn254(FieldHasher):
    """Barretenberg/Noir Poseidon2 sponge over BN254; the default hasher of a Linen chain."""

    name = "poseidon2-bn254"
    modulus = R_BN254

    def hash_ints(self, values: Sequence[int]) -> int:
        return sponge_hash(values)
