"""Shnarf: the hash chain that binds every data submission to the one before it.

LineaRollup does not store what each blob contains; it stores only that a shnarf exists. A shnarf
commits to its parent shnarf, the snark-friendly hash of the submitted data, the state root after
it, and an opening (x, y) of the data polynomial at a point x derived from both data hashes. The
coordinator predicts it (`expectedShnarf`), the compression prover proves it, the contract
recomputes it, and finalization proves the range between two shnarfs — so all of them call the
functions here.

The blob path's y needs a KZG evaluation of the blob and lives with the blob code; everything else
about a blob's shnarf is pure and is here.
"""

from __future__ import annotations

import hashlib

from eth_hash.auto import keccak

from linen.primitives.types import Hash32
from linen.protocol.words import BLS12_381_SCALAR_MODULUS, InvalidProtocolInput, bytes32, word_to_int

KZG_COMMITMENT_SIZE = 48
VERSIONED_HASH_VERSION_KZG = b"\x01"

ZERO_WORD = bytes(32)

# The genesis state root Linea's local-dev coordinator config and its V6 LineaRollup constant use
# (its genesis shnarf 0x47452a1b… is listed in the same config). A Linen chain derives its own
# genesis shnarf from its own genesis state root with `genesis_shnarf`.
LINEA_DEV_GENESIS_STATE_ROOT = Hash32(bytes.fromhex("072ead6777750dc20232d1cee8dc9a395c2d350df4bbaa5096c6f59b214dcecd"))


def compute_shnarf(parent_shnarf: bytes, snark_hash: bytes, final_state_root: bytes, x: bytes, y: bytes) -> Hash32:
    """keccak(parent || snarkHash || finalStateRoot || x || y), five 32-byte words.

    x is hashed unreduced (the contract reduces it only for the point-evaluation precompile), and
    y is the 32-byte big-endian claim.
    """
    return Hash32(
        keccak(
            bytes32(parent_shnarf, "parent_shnarf")
            + bytes32(snark_hash, "snark_hash")
            + bytes32(final_state_root, "final_state_root")
            + bytes32(x, "x")
            + bytes32(y, "y")
        )
    )


def genesis_shnarf(genesis_state_root: bytes) -> Hash32:
    """The shnarf the rollup contract marks as existing at initialisation.

    It is a shnarf whose parent, snark hash, x and y are all zero and whose state root is the L2
    genesis state root, so the first submission chains onto the genesis state like any other.
    """
    return compute_shnarf(ZERO_WORD, ZERO_WORD, genesis_state_root, ZERO_WORD, ZERO_WORD)


GENESIS_SHNARF = genesis_shnarf(LINEA_DEV_GENESIS_STATE_ROOT)


def compute_x(snark_hash: bytes, data_hash: bytes) -> Hash32:
    """Evaluation point keccak(snarkHash || dataHash).

    Deriving x from both hashes (Fiat-Shamir) is what lets one opening prove that the data under the
    KZG commitment (or in calldata) and the data the circuit hashed with MiMC are the same.
    """
    return Hash32(keccak(bytes32(snark_hash, "snark_hash") + bytes32(data_hash, "data_hash")))


def data_hash_from_commitment(commitment: bytes) -> Hash32:
    """The blob's versioned hash 0x01 || sha256(commitment)[1:], which `blobhash(i)` returns on L1."""
    if not isinstance(commitment, bytes | bytearray) or len(commitment) != KZG_COMMITMENT_SIZE:
        raise InvalidProtocolInput(f"commitment: expected a {KZG_COMMITMENT_SIZE}-byte KZG commitment")
    return Hash32(VERSIONED_HASH_VERSION_KZG + hashlib.sha256(bytes(commitment)).digest()[1:])


def reduce_evaluation_point(x: bytes) -> int:
    """x mod r381, the point the contract hands to the point-evaluation precompile.

    A 256-bit keccak output can exceed the BLS12-381 scalar field, and the precompile refuses
    non-canonical field elements, so the contract reduces x first (only there; the shnarf keeps x).
    """
    return word_to_int(x, "x") % BLS12_381_SCALAR_MODULUS


def point_evaluation_input(versioned_hash: bytes, x: bytes, y: bytes, commitment: bytes, proof: bytes) -> bytes:
    """The 192 bytes submitBlobs sends to the point-evaluation precompile for one blob.

    versioned_hash || u256(x mod r381) || y || commitment || proof — useful to check a blob
    submission off-chain with the same bytes the contract will use.
    """
    if len(commitment) != KZG_COMMITMENT_SIZE or len(proof) != KZG_COMMITMENT_SIZE:
        raise InvalidProtocolInput("commitment and proof must be 48-byte compressed G1 points")
    return (
        bytes32(versioned_hash, "versioned_hash")
        + reduce_evaluation_point(x).to_bytes(32, "big")
        + bytes32(y, "y")
        + bytes(commitment)
        + bytes(proof)
    )
