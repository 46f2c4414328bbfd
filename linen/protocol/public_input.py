"""Finalization public input: the one number an aggregation proof is verified against on L1.

finalizeBlocks does not pass its arguments to the verifier one by one; it hashes the claims the
proof must cover (the shnarf range, the block and timestamp range, the L1→L2 rolling hash range and
the L2→L1 message roots) into a single BN254 field element. The aggregation prover computes the same
number from its inputs, so the coordinator, the prover and the contract's test oracle all call
`compute_public_input` with the same fields (FinalizationDataV3 of LineaRollup ABI 7.0).

The contract's "finalized state" (message number, rolling hash, timestamp) is checked against a
hash rather than stored field by field; `compute_finalized_state` gives that hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_hash.auto import keccak

from linen.primitives.types import Hash32
from linen.protocol.words import BN254_SCALAR_MODULUS, bytes32, u256


@dataclass(frozen=True)
class FinalizationPublicInputFields:
    """What finalizeBlocks hashes into the public input, in contract terms.

    `last_finalized_*` values describe the chain as L1 knows it before this finalization (the
    contract takes the shnarf and block number from its own storage; the rest is supplied and
    checked against `currentFinalizedState`). `final_shnarf` is the shnarf of the aggregation's
    last blob, `end_block_number` its last L2 block.
    """

    last_finalized_shnarf: Hash32
    final_shnarf: Hash32
    last_finalized_timestamp: int
    final_timestamp: int
    last_finalized_block_number: int
    end_block_number: int
    last_finalized_l1_rolling_hash: Hash32
    l1_rolling_hash: Hash32
    last_finalized_l1_rolling_hash_message_number: int
    l1_rolling_hash_message_number: int
    l2_merkle_trees_depth: int
    l2_merkle_roots: tuple[Hash32, ...] = ()


def hash_l2_merkle_roots(roots: Sequence[bytes]) -> Hash32:
    """keccak of the roots packed back to back (keccak of empty input when there are none)."""
    return Hash32(keccak(b"".join(bytes32(root, f"l2_merkle_roots[{i}]") for i, root in enumerate(roots))))


def public_input_preimage(fields: FinalizationPublicInputFields) -> bytes:
    """The twelve words the contract hashes, in its order; exposed to debug a mismatch field by field."""
    f = fields
    return b"".join(
        (
            bytes32(f.last_finalized_shnarf, "last_finalized_shnarf"),
            bytes32(f.final_shnarf, "final_shnarf"),
            u256(f.last_finalized_timestamp, "last_finalized_timestamp"),
            u256(f.final_timestamp, "final_timestamp"),
            u256(f.last_finalized_block_number, "last_finalized_block_number"),
            u256(f.end_block_number, "end_block_number"),
            bytes32(f.last_finalized_l1_rolling_hash, "last_finalized_l1_rolling_hash"),
            bytes32(f.l1_rolling_hash, "l1_rolling_hash"),
            u256(f.last_finalized_l1_rolling_hash_message_number, "last_finalized_l1_rolling_hash_message_number"),
            u256(f.l1_rolling_hash_message_number, "l1_rolling_hash_message_number"),
            u256(f.l2_merkle_trees_depth, "l2_merkle_trees_depth"),
            hash_l2_merkle_roots(f.l2_merkle_roots),
        )
    )


def compute_public_input(fields: FinalizationPublicInputFields) -> int:
    """keccak(preimage) reduced mod the BN254 scalar field, the verifier's single public input.

    The reduction is needed because the PLONK verifier works over BN254 and a 256-bit hash may not
    be a canonical field element.
    """
    return int.from_bytes(keccak(public_input_preimage(fields)), "big") % BN254_SCALAR_MODULUS


def compute_finalized_state(l1_message_number: int, l1_rolling_hash: bytes, timestamp: int) -> Hash32:
    """keccak(u256(messageNumber) || rollingHash || u256(timestamp)): `currentFinalizedState` on L1.

    At initialisation it is compute_finalized_state(0, 0³², genesis timestamp); finalization checks
    the supplied last-finalized values against it and then stores the new one.
    """
    return Hash32(
        keccak(
            u256(l1_message_number, "l1_message_number")
            + bytes32(l1_rolling_hash, "l1_rolling_hash")
            + u256(timestamp, "timestamp")
        )
    )
