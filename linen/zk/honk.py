"""Linen's own verifier for bb's UltraHonk proofs (native/src/honk.rs, in `linen_native`).

bb 5.0.0's `verify` pairs against Aztec's [x]_2 compiled into bb, so it refuses every proof made
under Linen's SRS; this verifier takes the SRS's [tau]_2 (bn254_g2.dat) as a parameter and checks
the whole proof: encodings, the sumcheck of every Ultra relation with the Libra masking, the
Shplemini opening with the small-subgroup IPA's check, and one pairing, with any pairing points the
proof carries (its own inner recursive verifications) folded into that pairing. Targets: `evm`
(keccak transcript, the proofs L1 checks) and `noir-recursive` (Poseidon2 transcript, the proofs
other circuits verify). It takes milliseconds (`linen bench prover-network --parts verifier`).

What it does not do: decide which vk a proof should be checked against, or what its public inputs
mean. The caller binds those (the scheduler checks a job's proof against the job's circuit key and
statement).
"""

from __future__ import annotations

from collections.abc import Sequence

TARGETS = ("evm", "noir-recursive")


def available() -> bool:
    """True when `linen_native` is built with the verifier (`./run setup` builds it where cargo is)."""
    try:
        import linen_native
    except ImportError:
        return False
    return hasattr(linen_native, "honk_verify")


def verify(target: str, vk: bytes, proof: bytes, public_inputs: Sequence[bytes] | bytes, tau_g2: bytes) -> str | None:
    """None if `proof` holds for `vk` and `public_inputs` under the SRS whose [tau]_2 is `tau_g2`
    (bn254_g2.dat's 128 bytes), else why not. ValueError for an unknown target or a bad tau_g2."""
    import linen_native

    if target not in TARGETS:
        raise ValueError(f"unknown bb target {target!r} ({' or '.join(TARGETS)})")
    public = public_inputs if isinstance(public_inputs, bytes | bytearray) else b"".join(public_inputs)
    return linen_native.honk_verify(target, bytes(vk), bytes(proof), bytes(public), bytes(tau_g2))


def vk_hash(target: str, vk: bytes) -> bytes:
    """The hash a proof's transcript starts from: bb's vk_hash file for noir-recursive keys, the
    Solidity verifier's VK_HASH for evm keys."""
    import linen_native

    return linen_native.honk_vk_hash(target, bytes(vk))
