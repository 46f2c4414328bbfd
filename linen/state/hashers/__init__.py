"""Hash functions the state tree can be built with, looked up by the name a config file uses.

`mimc-bls12-377` reproduces Linea's state roots and proofs; `poseidon2-bn254` is the default of a
Linen chain because the circuits proven by Barretenberg hash it natively. Both are pure Python
reference implementations; a native extension may replace the inner loop later, and must match
these on the shared known answers.
"""

from __future__ import annotations

from linen.errors import ConfigError
from linen.state.hashers.base import FieldElementOutOfRange, FieldHasher, Hasher
from linen.state.hashers.mimc import MimcBls12377
from linen.state.hashers.poseidon2 import Poseidon2Bn254

MIMC_BLS12_377 = "mimc-bls12-377"
POSEIDON2_BN254 = "poseidon2-bn254"
HASHER_NAMES = (MIMC_BLS12_377, POSEIDON2_BN254)

_INSTANCES: dict[str, Hasher] = {
    MIMC_BLS12_377: MimcBls12377(),
    POSEIDON2_BN254: Poseidon2Bn254(),
}


class UnknownHasher(ConfigError):
    """A configuration names a hash function Linen does not implement."""


def get_hasher(name: str) -> Hasher:
    """The hasher called `name`; the error lists the names that exist, so a typo is easy to fix."""
    try:
        return _INSTANCES[name]
    except (KeyError, TypeError):
        raise UnknownHasher(f"unknown state hash function {name!r}; choose one of: {', '.join(HASHER_NAMES)}") from None


__all__ = [
    "HASHER_NAMES",
    "MIMC_BLS12_377",
    "POSEIDON2_BN254",
    "FieldElementOutOfRange",
    "FieldHasher",
    "Hasher",
    "MimcBls12377",
    "Poseidon2Bn254",
    "UnknownHasher",
    "get_hasher",
]
