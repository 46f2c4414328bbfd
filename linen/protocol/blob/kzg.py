"""Blobs for L1 without the L1: KZG commitments and proofs (ckzg with the Ethereum ceremony's setup),
the rollup's evaluation point and shnarf chain (`PreparedBlob`), and the type-3 network form. Pure:
no network; linen/l1/blobs.py sends them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ckzg
import rlp

from linen.protocol.blob.packing import BLOB_SIZE
from linen.protocol.shnarf import compute_shnarf, compute_x, data_hash_from_commitment, reduce_evaluation_point

FIELD_ELEMENTS_PER_BLOB = 4096


MAX_BLOBS_PER_TRANSACTION = 6  # the rollup's operational target (Prague allows 9 per block)


@cache
def trusted_setup() -> object:
    """The Ethereum KZG ceremony output, as shipped with eth-account (loaded once per process)."""
    import eth_account

    path = Path(eth_account.__file__).parent / "typed_transactions" / "blob_transactions" / "kzg_trusted_setup.txt"
    return ckzg.load_trusted_setup(str(path), 0)


def random_blob(seed: int) -> bytes:
    """A blob of seeded random field elements (each word's top byte zero, so always canonical)."""
    rng = random.Random(seed)
    return b"".join(b"\0" + rng.randbytes(31) for _ in range(FIELD_ELEMENTS_PER_BLOB))


@dataclass(frozen=True)
class PreparedBlob:
    """One blob with everything submitBlobs needs for it, and the shnarf it will produce."""

    blob: bytes
    commitment: bytes
    versioned_hash: bytes
    snark_hash: bytes
    final_state_root: bytes
    x: bytes
    y: bytes
    kzg_proof: bytes
    parent_shnarf: bytes
    shnarf: bytes

    def submission(self) -> tuple:
        """The `BlobSubmission` struct as web3 encodes it."""
        return (int.from_bytes(self.y, "big"), self.commitment, self.kzg_proof, self.final_state_root, self.snark_hash)


def prepare_blob(blob: bytes, snark_hash: bytes, final_state_root: bytes, parent_shnarf: bytes) -> PreparedBlob:
    """Commit to `blob`, open it at the rollup's x, and chain its shnarf onto `parent_shnarf`."""
    if len(blob) != BLOB_SIZE:
        raise ValueError(f"a blob is {BLOB_SIZE} bytes, got {len(blob)}")
    setup = trusted_setup()
    commitment = bytes(ckzg.blob_to_kzg_commitment(blob, setup))
    versioned_hash = data_hash_from_commitment(commitment)
    x = compute_x(snark_hash, versioned_hash)
    proof, y = ckzg.compute_kzg_proof(blob, reduce_evaluation_point(x).to_bytes(32, "big"), setup)
    shnarf = compute_shnarf(parent_shnarf, snark_hash, final_state_root, x, bytes(y))
    return PreparedBlob(
        blob, commitment, versioned_hash, snark_hash, final_state_root, x, bytes(y), bytes(proof), parent_shnarf, shnarf
    )


def prepare_blobs(
    blobs: list[bytes], snark_hashes: list[bytes], state_roots: list[bytes], parent: bytes
) -> list[PreparedBlob]:
    """Several blobs of one submitBlobs call, each chained onto the previous one's shnarf."""
    prepared: list[PreparedBlob] = []
    for blob, snark_hash, root in zip(blobs, snark_hashes, state_roots, strict=True):
        prepared.append(prepare_blob(blob, snark_hash, root, prepared[-1].shnarf if prepared else parent))
    return prepared


def submit_blobs_args(prepared: list[PreparedBlob]) -> tuple[list[tuple], bytes, bytes]:
    """(blobSubmissions, parentShnarf, finalBlobShnarf) for `submitBlobs`."""
    return [p.submission() for p in prepared], prepared[0].parent_shnarf, prepared[-1].shnarf


def blob_sidecar(blobs: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(commitments, blob proofs) of a type-3 transaction's sidecar; computed once, reused by every re-signing."""
    setup = trusted_setup()
    commitments = [bytes(ckzg.blob_to_kzg_commitment(blob, setup)) for blob in blobs]
    proofs = [bytes(ckzg.compute_blob_kzg_proof(b, c, setup)) for b, c in zip(blobs, commitments, strict=True)]
    return commitments, proofs


def versioned_hashes(commitments: list[bytes]) -> list[bytes]:
    return [data_hash_from_commitment(c) for c in commitments]


def blob_network_transaction(
    signed_without_blobs: bytes, blobs: list[bytes], sidecar: tuple[list[bytes], list[bytes]] | None = None
) -> bytes:
    """Attach the sidecar to a signed type-3 transaction: 0x03 || rlp([tx fields, blobs, commitments, proofs]).

    eth-account can attach blobs itself but computes the KZG parts in pure Python (~10 s a blob);
    ckzg does it in milliseconds, so we sign without blobs and wrap the signed fields here.
    """
    if signed_without_blobs[:1] != b"\x03":
        raise ValueError("not a type-3 transaction")
    fields = rlp.decode(bytes(signed_without_blobs[1:]))
    commitments, proofs = sidecar or blob_sidecar(blobs)
    return b"\x03" + rlp.encode([fields, list(blobs), commitments, proofs])
