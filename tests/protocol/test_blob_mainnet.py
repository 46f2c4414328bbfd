"""Blob v1 against 21 real Linea mainnet blobs (L2 blocks 17865638–17865747).

Each file is the compression prover's response for one blob. From its `compressedData` alone we
decode header, batches, blocks and transactions with Linea's dictionary, then recompute what L1 and
the prover saw: snark hash, commitment, versioned hash, x, y, both KZG proofs and the shnarf chain.
Re-encoding the decoded blocks with our encoder and header gives back the same bytes, and our own
compressor, fed the same blocks, produces a blob that decodes to the same payload.
"""

from __future__ import annotations

import base64
import time
from functools import cache
from pathlib import Path

import ckzg
import pytest
import rlp

from linen.protocol.blob import (
    BlobBlock,
    BlobCompressor,
    BlobHeader,
    DecodedTransaction,
    compute_snark_hash,
    decode_blob,
    dictionary_checksum,
    encode_block,
    pack,
    packed_size,
    unpack,
)
from linen.protocol.blob.kzg import prepare_blob, trusted_setup
from linen.protocol.blob.lzss import compress, decompress
from linen.state.hashers import get_hasher
from tests.protocol.test_protocol_functions import VECTORS, _blob_files, _hex, _load, needs_vectors

LINEA_DICTIONARY_CHECKSUM = "0cb70ec08d853070271baeb40c736723e2d2468ba50631d5e11176a2c55a3f70"
MIMC = get_hasher("mimc-bls12-377")
BLOB_IDS = [p.name.split("-bcv")[0] for p in _blob_files()]


@cache
def linea_dictionary() -> bytes:
    return (VECTORS / "compressor_dict.bin").read_bytes()


def _packed(path: Path) -> bytes:
    return base64.b64decode(_load(path)["compressedData"])


@cache
def _decoded(path: Path):
    return decode_blob(_packed(path), linea_dictionary(), MIMC)


def placeholder_envelope(tx: DecodedTransaction) -> bytes:
    """A signed envelope with the decoded fields and a dummy signature (a blob carries no signature).

    Its signing payload is the decoded one, which is all the blob encoding keeps of a transaction.
    """
    payload = tx.signing_payload
    if tx.tx_type == 0:
        items = rlp.decode(payload)
        v = 2 * tx.chain_id + 35 if tx.chain_id is not None else 27
        return rlp.encode([*items[:6], v, 1, 1])
    return payload[:1] + rlp.encode([*rlp.decode(payload[1:]), 0, 1, 1])


def _blob_blocks(path: Path) -> list[BlobBlock]:
    return [
        BlobBlock(b.timestamp, b.block_hash, tuple((tx.sender, placeholder_envelope(tx)) for tx in b.transactions))
        for b in _decoded(path).blocks
    ]


@needs_vectors
def test_linea_dictionary_checksum():
    assert dictionary_checksum(linea_dictionary(), MIMC).hex() == LINEA_DICTIONARY_CHECKSUM


@needs_vectors
@pytest.mark.parametrize("path", _blob_files(), ids=BLOB_IDS)
def test_mainnet_blob_decodes_to_its_conflation(path):
    blob_file = _load(path)
    blob = _decoded(path)
    order = blob_file["conflationOrder"]
    bounds = order["upperBoundaries"]
    assert blob.header.version == 1
    assert blob.header.dictionary_checksum.hex() == LINEA_DICTIONARY_CHECKSUM
    assert len(blob.batches) == len(bounds)
    first = order["startingBlockNumber"]
    for batch, last in zip(blob.batches, bounds, strict=True):
        assert len(batch) == last - first + 1
        first = last + 1
    assert blob.compressed
    for block in blob.blocks:
        assert len(block.block_hash) == 32 and block.timestamp > 1_700_000_000
        for tx in block.transactions:
            assert tx.chain_id == 59144  # Linea mainnet
            assert tx.tx_type in (0, 2)


@needs_vectors
@pytest.mark.parametrize("path", _blob_files(), ids=BLOB_IDS)
def test_mainnet_blob_reencodes_to_the_same_bytes(path):
    packed = _packed(path)
    blob = _decoded(path)
    unpacked = unpack(packed)
    header = BlobHeader(blob.header.dictionary_checksum, blob.header.batch_lengths)
    assert unpacked.startswith(header.encode())
    assert b"".join(encode_block(block) for block in _blob_blocks(path)) == blob.payload
    assert [len(b"".join(encode_block(b) for b in batch)) for batch in _split_blocks(path)] == list(
        blob.header.batch_lengths
    )
    # re-packing the unpacked bytes gives the file's bytes exactly, and its length follows the rule
    assert pack(unpacked) == packed
    assert len(packed) == packed_size(len(unpacked))
    stream = unpacked[header.size :]
    assert decompress(stream, linea_dictionary()) == blob.payload


def _split_blocks(path: Path) -> list[list[BlobBlock]]:
    blocks = _blob_blocks(path)
    out, pos = [], 0
    for batch in _decoded(path).batches:
        out.append(blocks[pos : pos + len(batch)])
        pos += len(batch)
    return out


@cache
def _recomputed(path: Path):
    blob_file = _load(path)
    full = _packed(path) + bytes(131072 - len(_packed(path)))
    snark_hash = compute_snark_hash(_packed(path), MIMC)
    prepared = prepare_blob(full, snark_hash, _hex(blob_file["finalStateRootHash"]), _hex(blob_file["prevShnarf"]))
    sidecar = bytes(ckzg.compute_blob_kzg_proof(full, prepared.commitment, trusted_setup()))
    return prepared, sidecar


@needs_vectors
@pytest.mark.parametrize("path", _blob_files(), ids=BLOB_IDS)
def test_mainnet_blob_hashes_and_kzg(path):
    blob_file = _load(path)
    prepared, sidecar = _recomputed(path)
    assert prepared.snark_hash == _hex(blob_file["snarkHash"])
    assert prepared.commitment == _hex(blob_file["commitment"])
    assert prepared.versioned_hash == _hex(blob_file["dataHash"])
    assert prepared.x == _hex(blob_file["expectedX"])
    assert prepared.y == _hex(blob_file["expectedY"])
    assert prepared.kzg_proof == _hex(blob_file["kzgProofContract"])
    assert sidecar == _hex(blob_file["kzgProofSidecar"])
    assert prepared.shnarf == _hex(blob_file["expectedShnarf"])


@needs_vectors
def test_mainnet_shnarf_chain_from_blob_bytes():
    """Starting from the first prevShnarf, our own shnarfs chain through all 21 blobs."""
    files = _blob_files()
    shnarf = _hex(_load(files[0])["prevShnarf"])
    for path in files:
        blob_file = _load(path)
        assert _hex(blob_file["prevShnarf"]) == shnarf
        full = _packed(path) + bytes(131072 - len(_packed(path)))
        snark_hash = compute_snark_hash(full, MIMC)
        shnarf = prepare_blob(full, snark_hash, _hex(blob_file["finalStateRootHash"]), shnarf).shnarf
        assert shnarf == _hex(blob_file["expectedShnarf"])


CALLDATA_SAMPLES = ["calldata-sample0", "calldata-sample1", "calldata-sample-empty"]


@needs_vectors
@pytest.mark.parametrize("name", CALLDATA_SAMPLES)
def test_snark_hash_of_calldata_samples(name):
    """Data sent as a blob is hashed zero-padded to 131072 bytes; data sent as calldata as it is."""
    response = _load(VECTORS / f"{name}-response.json")
    data = base64.b64decode(response["compressedData"])
    snark_hash = compute_snark_hash(data, MIMC, full_blob=response["eip4844Enabled"])
    assert snark_hash == _hex(response["snarkHash"])


@needs_vectors
def test_our_compressor_on_mainnet_payloads(capsys):
    """Our lzss on the real payloads with Linea's dictionary: round-trips, within 10% of Linea's size."""
    ours_total = linea_total = raw_total = 0
    rows = []
    started = time.perf_counter()
    for path in _blob_files():
        blob = _decoded(path)
        stream = compress(blob.payload, linea_dictionary())
        assert decompress(stream, linea_dictionary()) == blob.payload
        linea = len(unpack(_packed(path))) - blob.header.size
        ours_total += len(stream)
        linea_total += linea
        raw_total += len(blob.payload)
        rows.append((path.name.split("-bcv")[0], len(blob.payload), linea, len(stream)))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nlzss on {len(rows)} mainnet payloads: {raw_total} raw bytes -> Linea {linea_total}, ours {ours_total} "
            f"({ours_total / linea_total:.3f}x Linea's size), {elapsed:.2f}s ({raw_total / elapsed / 1e6:.2f} MB/s)"
        )
    assert ours_total <= 1.10 * linea_total


@needs_vectors
@pytest.mark.parametrize("path", _blob_files()[:4] + _blob_files()[-2:], ids=BLOB_IDS[:4] + BLOB_IDS[-2:])
def test_blob_compressor_rebuilds_mainnet_blob(path):
    """Fed the decoded blocks batch by batch, BlobCompressor makes a blob that decodes to the same data."""
    compressor = BlobCompressor(linea_dictionary(), MIMC)
    for batch in _split_blocks(path):
        compressor.start_new_batch()
        for block in batch:
            assert compressor.can_append(block)
            assert compressor.append(block)
    sealed = compressor.seal()
    original = _decoded(path)
    assert sealed.header == original.header
    rebuilt = decode_blob(sealed.packed, linea_dictionary(), MIMC)
    assert rebuilt.payload == original.payload
    assert rebuilt.blocks == original.blocks
    assert len(sealed.packed) <= 1.15 * len(_packed(path))
