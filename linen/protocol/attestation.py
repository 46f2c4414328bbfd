"""Attestations for the AttestationVerifier: prover keys sign the finalization public input.

This is the off-chain half of the contract's `attestationDigest` and `Verify`: the digest binds the
chain id and the verifier's address, and the proof bytes are the 65-byte signatures sorted by signer
address (the contract refuses duplicates by requiring that order).
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_account import Account
from eth_hash.auto import keccak

ATTESTATION_TYPEHASH = keccak(b"LinenProofAttestation(uint256 chainId,address verifier,uint256 publicInput)")


def attestation_digest(chain_id: int, verifier: str, public_input: int) -> bytes:
    """keccak(abi.encode(typehash, chainId, verifier, publicInput)), signed raw (no message prefix)."""
    return keccak(
        ATTESTATION_TYPEHASH
        + chain_id.to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(verifier.removeprefix("0x"))
        + public_input.to_bytes(32, "big")
    )


def sign_attestation(private_keys: Iterable[str], chain_id: int, verifier: str, public_input: int) -> bytes:
    """The `proof` argument of finalizeBlocks: each key's signature, ordered by signer address."""
    digest = attestation_digest(chain_id, verifier, public_input)
    signatures = []
    for key in private_keys:
        account = Account.from_key(key)
        signed = Account.unsafe_sign_hash(digest, key)
        signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
        signatures.append((int(account.address, 16), signature))
    return b"".join(signature for _, signature in sorted(signatures))
