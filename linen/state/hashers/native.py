"""The state-tree hashers backed by the Rust extension `linen_native` (native/, built by `./run setup`).

They keep the names, moduli, outputs and errors of the pure-Python references in mimc.py and
poseidon2.py (tests/unit/test_native_hashers.py checks both on the shared vectors and on random
inputs) and run ~20x faster per hash; their batch forms (`hash_many`, `hash_pairs`, `path_hashes`)
also drop the per-call Python overhead and release the GIL, and long batches use every core.
`get_hasher` in this package picks them whenever the extension imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from linen.state.hashers.base import FieldElementOutOfRange, FieldHasher
from linen.state.hashers.mimc import R_BLS12_377
from linen.state.hashers.poseidon2 import R_BN254

try:
    import linen_native as _native
except ImportError as exc:  # not built: `./run setup` (or `pip install ./native`) builds it
    _native = None
    IMPORT_ERROR: ImportError | None = exc
else:
    IMPORT_ERROR = None

AVAILABLE = _native is not None


class _NativeHasher(FieldHasher):
    """One field hash delegated to four functions of the extension; ValueError becomes FieldElementOutOfRange."""

    native = True
    _hash: Any
    _many: Any
    _pairs: Any
    _path: Any

    def __init__(self) -> None:
        if _native is None:
            raise ImportError(f"the linen_native extension is not installed ({IMPORT_ERROR})")

    def hash(self, words: Sequence[bytes]) -> bytes:
        try:
            return self._hash(words)
        except ValueError as exc:
            raise FieldElementOutOfRange(str(exc)) from None

    def hash_ints(self, values: Sequence[int]) -> int:
        p = self.modulus
        return int.from_bytes(self.hash([(v % p).to_bytes(32, "big") for v in values]), "big")

    def hash_many(self, inputs: Iterable[Sequence[bytes]]) -> list[bytes]:
        try:
            return self._many(inputs)
        except ValueError as exc:
            raise FieldElementOutOfRange(str(exc)) from None

    def hash_pairs(self, left: Sequence[bytes], right: Sequence[bytes]) -> list[bytes]:
        if len(left) != len(right):
            raise ValueError(f"hash_pairs needs as many left as right words ({len(left)} != {len(right)})")
        try:
            return self._pairs(left, right)
        except ValueError as exc:
            raise FieldElementOutOfRange(str(exc)) from None

    def path_hashes(self, leaf_index: int, node: bytes, siblings: Sequence[bytes]) -> list[bytes]:
        try:
            return self._path(leaf_index, node, siblings)
        except ValueError as exc:
            raise FieldElementOutOfRange(str(exc)) from None


class NativeMimcBls12377(_NativeHasher):
    """Linea-exact MiMC-BLS12-377 in Rust (same outputs as `MimcBls12377`)."""

    name = "mimc-bls12-377"
    modulus = R_BLS12_377
    if _native is not None:
        _hash = staticmethod(_native.mimc_bls12_377)
        _many = staticmethod(_native.mimc_bls12_377_many)
        _pairs = staticmethod(_native.mimc_bls12_377_pairs)
        _path = staticmethod(_native.mimc_bls12_377_path)


class NativePoseidon2Bn254(_NativeHasher):
    """Barretenberg/Noir Poseidon2-BN254 sponge in Rust (same outputs as `Poseidon2Bn254`)."""

    name = "poseidon2-bn254"
    modulus = R_BN254
    if _native is not None:
        _hash = staticmethod(_native.poseidon2_bn254)
        _many = staticmethod(_native.poseidon2_bn254_many)
        _pairs = staticmethod(_native.poseidon2_bn254_pairs)
        _path = staticmethod(_native.poseidon2_bn254_path)


def poseidon2_permutation(state: Sequence[bytes]) -> list[bytes]:
    """Noir's `poseidon2_permutation` on four 32-byte words, in Rust."""
    if _native is None:
        raise ImportError(f"the linen_native extension is not installed ({IMPORT_ERROR})")
    try:
        return _native.poseidon2_bn254_permutation(state)
    except ValueError as exc:
        raise FieldElementOutOfRange(str(exc)) from None


__all__ = ["AVAILABLE", "IMPORT_ERROR", "NativeMimcBls12377", "NativePoseidon2Bn254", "poseidon2_permutation"]
