"""The compression proof request of a sealed blob (spec §4): the blob plus every claim L1 will check.

For each blob the coordinator commits to it (KZG), derives the snark hash (MiMC over the blob, as the
decompression circuit computes it), the evaluation point x = keccak(snarkHash || dataHash), the value
y with the proof the rollup's point-evaluation call checks, the sidecar proof the network checks, and
the shnarf that chains it to the previous blob. The request carries all of it, so a prover can check
each claim from the request alone, and submitBlobs later sends exactly these values.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import ckzg

from linen.coordinator.conflation import Blob
from linen.primitives.hexcodec import to_data
from linen.protocol.blob import compute_snark_hash
from linen.protocol.blob.kzg import prepare_blob, trusted_setup
from linen.state.hashers import get_hasher

SNARK_HASHER = "mimc-bls12-377"  # blob v1's snark hash and dictionary checksum



@dataclass(frozen=True)
class CompressionRequest:
    start: int
    end: int
    expected_shnarf: bytes
    data_hash: bytes
    body: dict


def build_compression_request(
    blob: Blob, parent_zk_root: bytes, final_zk_root: bytes, prev_shnarf: bytes, parent_data_hash: bytes
) -> CompressionRequest:
    """The request of `blob`, whose blocks take the zk state from `parent_zk_root` to `final_zk_root`."""
    full = blob.sealed.blob
    snark_hash = compute_snark_hash(full, get_hasher(SNARK_HASHER))
    prepared = prepare_blob(full, snark_hash, final_zk_root, prev_shnarf)
    sidecar = bytes(ckzg.compute_blob_kzg_proof(full, prepared.commitment, trusted_setup()))
    body = {
        "compressedData": base64.b64encode(blob.sealed.packed).decode(),
        "conflationOrder": {"startingBlockNumber": blob.start, "upperBoundaries": [b.end for b in blob.batches]},
        "prevShnarf": to_data(prev_shnarf),
        "parentStateRootHash": to_data(parent_zk_root),
        "finalStateRootHash": to_data(final_zk_root),
        "parentDataHash": to_data(parent_data_hash),
        "dataHash": to_data(prepared.versioned_hash),
        "snarkHash": to_data(snark_hash),
        "expectedX": to_data(prepared.x),
        "expectedY": to_data(prepared.y),
        "expectedShnarf": to_data(prepared.shnarf),
        "eip4844Enabled": True,
        "commitment": to_data(prepared.commitment),
        "kzgProofContract": to_data(prepared.kzg_proof),
        "kzgProofSidecar": to_data(sidecar),
    }
    return CompressionRequest(blob.start, blob.end, prepared.shnarf, prepared.versioned_hash, body)
