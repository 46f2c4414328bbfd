"""Hash functions the state tree can be built with, looked up by the name a config file uses.

`mimc-bls12-377` reproduces Linea's state roots and proofs; `poseidon2-bn254` is the default of a
Linen chain because the circuits proven by Barretenberg hash it natively. Each has a pure Python
reference implementation (mimc.py, poseidon2.py) and a Rust one (native.py, over the `linen_native`
extension built from native/ by `./run setup`), equal on the shared known answers and on random
inputs. `get_hasher` returns the native one when the extension imports, else the Python one after
a one-time warning; `get_hasher(name, native=False)` always gives the reference, and the
environment variable LINEN_PURE_PYTHON_HASHERS=1 makes that the default.
"""

from __future__ import annotations

import os
import warnings

from linen.errors import ConfigError
from linen.state.hashers import native as _native
from linen.state.hashers.base import FieldElementOutOfRange, FieldHasher, Hasher
from linen.state.hashers.mimc import MimcBls12377
from linen.state.hashers.poseidon2 import Poseidon2Bn254

MIMC_BLS12_377 = "mimc-bls12-377"
POSEIDON2_BN254 = "poseidon2-bn254"
HASHER_NAMES = (MIMC_BLS12_377, POSEIDON2_BN254)

NATIVE_AVAILABLE = _native.AVAILABLE

_PYTHON: dict[str, Hasher] = {
    MIMC_BLS12_377: MimcBls12377(),
    POSEIDON2_BN254: Poseidon2Bn254(),
}
_NATIVE: dict[str, Hasher] = (
    {MIMC_BLS12_377: _native.NativeMimcBls12377(), POSEIDON2_BN254: _native.NativePoseidon2Bn254()}
    if NATIVE_AVAILABLE
    else {}
)
_PREFER_NATIVE = os.environ.get("LINEN_PURE_PYTHON_HASHERS", "").strip().lower() in ("", "0", "false", "no")
_warned_missing = False


class UnknownHasher(ConfigError):
    """A configuration names a hash function Linen does not implement."""


def get_hasher(name: str, native: bool | None = None) -> Hasher:
    """The hasher called `name`; the error lists the names that exist, so a typo is easy to fix.

    `native=None` (default) gives the Rust implementation when the extension is installed (and
    LINEN_PURE_PYTHON_HASHERS is not set), else the Python one; `native=False` always gives the
    Python reference; `native=True` requires the extension (ImportError without it).
    """
    global _warned_missing
    try:
        reference = _PYTHON[name]
    except (KeyError, TypeError):
        raise UnknownHasher(f"unknown state hash function {name!r}; choose one of: {', '.join(HASHER_NAMES)}") from None
    if native is False or (native is None and not _PREFER_NATIVE):
        return reference
    if NATIVE_AVAILABLE:
        return _NATIVE[name]
    if native:
        raise ImportError(f"the native {name} hasher needs the linen_native extension: {_native.IMPORT_ERROR}")
    if not _warned_missing:
        _warned_missing = True
        warnings.warn(
            f"linen_native is not installed ({_native.IMPORT_ERROR}); hashing the state tree in pure Python, "
            "~20x slower. `./run setup` (or `pip install ./native`) builds it.",
            RuntimeWarning,
            stacklevel=2,
        )
    return reference


__all__ = [
    "HASHER_NAMES",
    "MIMC_BLS12_377",
    "NATIVE_AVAILABLE",
    "POSEIDON2_BN254",
    "FieldElementOutOfRange",
    "FieldHasher",
    "Hasher",
    "MimcBls12377",
    "Poseidon2Bn254",
    "UnknownHasher",
    "get_hasher",
]
