"""Shnarf, public input and calldata-submission functions against real Linea data.

The vectors are Linea mainnet blob-compression responses for L2 blocks 17865638–17865747, the
aggregation that finalized them, and the prover's calldata-submission samples (see
shared/vectors/linea/README.md). Every expected value is recomputed from the file's own inputs.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from functools import cache
from importlib import resources
from pathlib import Path

import ckzg
import pytest
from eth_hash.auto import keccak

from linen.protocol.calldata_submission import (
    calldata_data_hash,
    compute_calldata_shnarf,
    compute_calldata_submission,
    compute_calldata_y,
)
from linen.protocol.public_input import (
    FinalizationPublicInputFields,
    compute_finalized_state,
    compute_public_input,
    hash_l2_merkle_roots,
)
from linen.protocol.shnarf import (
    GENESIS_SHNARF,
    LINEA_DEV_GENESIS_STATE_ROOT,
    compute_shnarf,
    compute_x,
    data_hash_from_commitment,
    genesis_shnarf,
    point_evaluation_input,
    reduce_evaluation_point,
)
from linen.protocol.words import BLS12_381_SCALAR_MODULUS, BN254_SCALAR_MODULUS, InvalidProtocolInput

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "linea"
BLOBS = VECTORS / "blobs-mainnet"
AGGREGATION_FILE = BLOBS / "17865638-17865747-getZkAggregatedProof.json"
BLOB_BYTES = 131072

needs_vectors = pytest.mark.skipif(
    not BLOBS.is_dir(),
    reason=f"Linea vectors not found at {VECTORS} (a clone without the shared folder beside it)",
)


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _blob_files() -> list[Path]:
    if not BLOBS.is_dir():
        return []
    files = BLOBS.glob("*-getZkBlobCompressionProof.json")
    return sorted(files, key=lambda p: int(p.name.split("-")[0]))


@cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text())


@cache
def _trusted_setup():
    setup = resources.files("eth_account") / "typed_transactions" / "blob_transactions" / "kzg_trusted_setup.txt"
    if not setup.is_file():
        pytest.skip("the KZG trusted setup shipped with eth-account was not found")
    return ckzg.load_trusted_setup(str(setup), 0)


def _blob_of(compressed_data_b64: str) -> bytes:
    data = base64.b64decode(compressed_data_b64)
    assert len(data) <= BLOB_BYTES
    return data + bytes(BLOB_BYTES - len(data))


# --- genesis --------------------------------------------------------------------------------------

# (genesis state root, genesis shnarf) pairs written in Linea's coordinator configs: the local-dev
# config of the V6 contract era and the docker config of the current one.
GENESIS_VECTORS = [
    (
        "0x072ead6777750dc20232d1cee8dc9a395c2d350df4bbaa5096c6f59b214dcecd",
        "0x47452a1b9ebadfe02bdd02f580fa1eba17680d57eec968a591644d05d78ee84f",
    ),
    (
        "0x01d9afcd495c870f3ae9d8362cd0257a7de2057055058183596719285cae6101",
        "0xc286ff42414401ccdc23ea8e738775378e8f6c6f7b2966eb2747798d45571b79",
    ),
]


@pytest.mark.parametrize(("state_root", "expected"), GENESIS_VECTORS)
def test_genesis_shnarf_matches_coordinator_configs(state_root, expected):
    assert genesis_shnarf(_hex(state_root)) == _hex(expected)


def test_genesis_shnarf_constant_is_the_dev_state_roots():
    assert GENESIS_SHNARF == genesis_shnarf(LINEA_DEV_GENESIS_STATE_ROOT) == _hex(GENESIS_VECTORS[0][1])


# --- mainnet blobs -----------------------------------------------------------------------------------


@needs_vectors
def test_all_mainnet_blob_files_present():
    assert len(_blob_files()) == 21


@needs_vectors
@pytest.mark.parametrize("path", _blob_files(), ids=lambda p: p.name.split("-bcv")[0])
def test_mainnet_blob_x_data_hash_and_shnarf(path):
    blob = _load(path)
    snark_hash = _hex(blob["snarkHash"])
    data_hash = data_hash_from_commitment(_hex(blob["commitment"]))
    assert data_hash == _hex(blob["dataHash"])
    x = compute_x(snark_hash, data_hash)
    assert x == _hex(blob["expectedX"])
    shnarf = compute_shnarf(
        _hex(blob["prevShnarf"]), snark_hash, _hex(blob["finalStateRootHash"]), x, _hex(blob["expectedY"])
    )
    assert shnarf == _hex(blob["expectedShnarf"])


@needs_vectors
@pytest.mark.parametrize("path", _blob_files(), ids=lambda p: p.name.split("-bcv")[0])
def test_mainnet_blob_point_evaluation(path):
    """The KZG opening at x mod r381 gives the file's y, so the precompile input we build is valid."""
    blob_file = _load(path)
    setup = _trusted_setup()
    blob = _blob_of(blob_file["compressedData"])
    commitment = ckzg.blob_to_kzg_commitment(blob, setup)
    assert commitment == _hex(blob_file["commitment"])
    x = _hex(blob_file["expectedX"])
    z = reduce_evaluation_point(x).to_bytes(32, "big")
    proof, y = ckzg.compute_kzg_proof(blob, z, setup)
    assert y == _hex(blob_file["expectedY"])
    assert proof == _hex(blob_file["kzgProofContract"])
    call = point_evaluation_input(data_hash_from_commitment(commitment), x, y, commitment, proof)
    assert len(call) == 192 and call[32:64] == z
    assert ckzg.verify_kzg_proof(commitment, z, y, proof, setup)


@needs_vectors
def test_mainnet_blob_shnarfs_chain():
    files = _blob_files()
    blobs = [_load(p) for p in files]
    for previous, current in zip(blobs, blobs[1:], strict=False):
        assert (
            current["conflationOrder"]["startingBlockNumber"] == previous["conflationOrder"]["upperBoundaries"][-1] + 1
        )
        assert current["prevShnarf"] == previous["expectedShnarf"]
        assert current["parentStateRootHash"] == previous["finalStateRootHash"]
    aggregation = _load(AGGREGATION_FILE)
    assert blobs[0]["prevShnarf"] == aggregation["parentAggregationFinalShnarf"]
    assert blobs[-1]["expectedShnarf"] == aggregation["finalShnarf"]


def test_x_is_reduced_only_for_the_precompile():
    x = (BLS12_381_SCALAR_MODULUS + 5).to_bytes(32, "big")
    assert reduce_evaluation_point(x) == 5
    assert compute_shnarf(bytes(32), bytes(32), bytes(32), x, bytes(32)) == keccak(bytes(96) + x + bytes(32))


def test_bad_widths_are_refused():
    with pytest.raises(InvalidProtocolInput, match="snark_hash"):
        compute_x(b"\x01" * 31, bytes(32))
    with pytest.raises(InvalidProtocolInput, match="commitment"):
        data_hash_from_commitment(bytes(32))
    with pytest.raises(InvalidProtocolInput, match="parent_shnarf"):
        compute_shnarf(b"", bytes(32), bytes(32), bytes(32), bytes(32))


# --- aggregation public input ---------------------------------------------------------------------------


def _public_input_fields(agg: dict) -> FinalizationPublicInputFields:
    return FinalizationPublicInputFields(
        last_finalized_shnarf=_hex(agg["parentAggregationFinalShnarf"]),
        final_shnarf=_hex(agg["finalShnarf"]),
        last_finalized_timestamp=agg["parentAggregationLastBlockTimestamp"],
        final_timestamp=agg["finalTimestamp"],
        last_finalized_block_number=agg["lastFinalizedBlockNumber"],
        end_block_number=agg["finalBlockNumber"],
        last_finalized_l1_rolling_hash=_hex(agg["parentAggregationLastL1RollingHash"]),
        l1_rolling_hash=_hex(agg["l1RollingHash"]),
        last_finalized_l1_rolling_hash_message_number=agg["parentAggregationLastL1RollingHashMessageNumber"],
        l1_rolling_hash_message_number=agg["l1RollingHashMessageNumber"],
        l2_merkle_trees_depth=agg["l2MerkleTreesDepth"],
        l2_merkle_roots=tuple(_hex(root) for root in agg["l2MerkleRoots"]),
    )


@needs_vectors
def test_aggregated_proof_public_input():
    agg = _load(AGGREGATION_FILE)
    expected = int(agg["aggregatedProofPublicInput"], 16)
    assert hex(expected).startswith("0x183bc7") and hex(expected).endswith("fc65")
    fields = _public_input_fields(agg)
    assert compute_public_input(fields) == expected
    # every field is bound: changing any one of them changes the public input
    for name, changed in (
        ("final_timestamp", fields.final_timestamp + 1),
        ("end_block_number", fields.end_block_number - 1),
        ("l2_merkle_roots", (bytes(32),)),
        ("last_finalized_shnarf", _hex(agg["finalShnarf"])),
    ):
        altered = dataclasses.replace(fields, **{name: changed})
        assert compute_public_input(altered) != expected


def test_public_input_is_a_bn254_element_and_roots_hash_packed():
    roots = (b"\x11" * 32, b"\x22" * 32)
    assert hash_l2_merkle_roots(roots) == keccak(roots[0] + roots[1])
    assert hash_l2_merkle_roots(()) == keccak(b"")
    fields = FinalizationPublicInputFields(bytes(32), b"\xff" * 32, 1, 2, 3, 4, bytes(32), bytes(32), 0, 0, 5, roots)
    assert 0 <= compute_public_input(fields) < BN254_SCALAR_MODULUS


def test_finalized_state_hash_layout():
    assert compute_finalized_state(0, bytes(32), 1700000000) == keccak(
        bytes(32) + bytes(32) + (1700000000).to_bytes(32, "big")
    )


# --- calldata submission samples -----------------------------------------------------------------------

CALLDATA_SAMPLES = ["calldata-sample0", "calldata-sample1", "calldata-sample-empty"]


@needs_vectors
@pytest.mark.parametrize("name", CALLDATA_SAMPLES)
def test_calldata_sample(name):
    request = _load(VECTORS / f"{name}.json")
    response = _load(VECTORS / f"{name}-response.json")
    data = base64.b64decode(request["compressedData"])
    assert request["compressedData"] == response["compressedData"]
    assert request["prevShnarf"] == response["prevShnarf"]
    snark_hash = _hex(response["snarkHash"])
    parent = _hex(request["prevShnarf"])
    final_root = _hex(request["finalStateRootHash"])

    if not response["eip4844Enabled"]:
        # the calldata path: the contract hashes and opens the data itself
        result = compute_calldata_submission(parent, snark_hash, final_root, data)
        assert result.data_hash == calldata_data_hash(data) == _hex(response["dataHash"])
        assert result.x == _hex(response["expectedX"])
        assert result.y == _hex(response["expectedY"])
        assert result.shnarf == _hex(response["expectedShnarf"])
        assert compute_calldata_shnarf(parent, snark_hash, final_root, data) == result.shnarf
        return

    # the same data sent as a blob: y is the KZG opening of the zero-padded blob at x mod r381
    setup = _trusted_setup()
    blob = _blob_of(request["compressedData"])
    commitment = ckzg.blob_to_kzg_commitment(blob, setup)
    assert commitment == _hex(response["commitment"])
    data_hash = data_hash_from_commitment(commitment)
    assert data_hash == _hex(response["dataHash"])
    x = compute_x(snark_hash, data_hash)
    assert x == _hex(response["expectedX"])
    proof, y = ckzg.compute_kzg_proof(blob, reduce_evaluation_point(x).to_bytes(32, "big"), setup)
    assert y == _hex(response["expectedY"])
    assert proof == _hex(response["kzgProofContract"])
    assert compute_shnarf(parent, snark_hash, final_root, x, y) == _hex(response["expectedShnarf"])


def test_calldata_y_is_horner_over_chunks():
    x = (7).to_bytes(32, "big")
    chunks = [3, 5, 11]
    data = b"".join(c.to_bytes(32, "big") for c in chunks)
    assert int.from_bytes(compute_calldata_y(data, x), "big") == 3 + 5 * 7 + 11 * 49
    assert compute_calldata_y(b"", x) == bytes(32)


def test_calldata_refusals_match_the_contract():
    x = bytes(32)
    with pytest.raises(InvalidProtocolInput, match="multiple of 32"):
        compute_calldata_y(bytes(33), x)
    with pytest.raises(InvalidProtocolInput, match="zero byte"):
        compute_calldata_y(bytes(32) + b"\x01" + bytes(31), x)
    with pytest.raises(InvalidProtocolInput, match="empty"):
        compute_calldata_submission(bytes(32), bytes(32), bytes(32), b"")
