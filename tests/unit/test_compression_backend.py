"""The compression backend proves a real mainnet blob and a Linen-built one, and refuses every tampering."""

from __future__ import annotations

import base64
import copy
import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ckzg
import pytest
from eth_account import Account
from eth_hash.auto import keccak

from linen.devaccounts import dev_accounts, prover_dev_account
from linen.errors import ConfigError
from linen.protocol.blob import BlobBlock, BlobCompressor, compute_snark_hash, linen_dictionary
from linen.protocol.blob.kzg import prepare_blob, trusted_setup
from linen.prover.backends.compression import (
    CompressionProverSettings,
    InvalidCompressionRequest,
    prove_compression,
)
from linen.state.hashers import get_hasher
from tests.protocol.test_protocol_functions import BLOBS, VECTORS, needs_vectors

# a small blob with several blocks (17865646-17865656, one batch of 11 blocks)
MAINNET_REQUEST = BLOBS / (
    "17865646-17865656-bcv0.0-ccv0.0-3a5bcce027eb9acb70a5a063d8ba97d146df24343a3333394223881f5568f46f"
    "-getZkBlobCompressionProof.json"
)
MIMC = get_hasher("mimc-bls12-377")
PROVER_KEY = prover_dev_account().private_key


@cache
def _mainnet_request() -> dict:
    response = json.loads(MAINNET_REQUEST.read_text())
    # the request is the response without what the prover adds
    for key in ("decompressionProof", "proverVersion", "verifyingKeyShaSum", "debug"):
        response.pop(key, None)
    return response


@cache
def _linea_settings() -> CompressionProverSettings:
    return CompressionProverSettings(PROVER_KEY, (VECTORS / "compressor_dict.bin").read_bytes(), MIMC)


def _tampered(change) -> dict:
    request = copy.deepcopy(_mainnet_request())
    change(request)
    return request


def _flip_hex(value: str, index: int = -1) -> str:
    digits = list(value)
    digits[index] = "1" if digits[index] != "1" else "2"
    return "".join(digits)


def _flip_data_byte(request: dict, offset: int) -> None:
    data = bytearray(base64.b64decode(request["compressedData"]))
    data[offset] ^= 0x01
    request["compressedData"] = base64.b64encode(bytes(data)).decode()


@needs_vectors
def test_mainnet_request_proves():
    request = _mainnet_request()
    response = prove_compression(request, _linea_settings())
    for key, value in request.items():
        assert response[key] == value
    digest = keccak(bytes.fromhex(request["expectedShnarf"][2:]))
    assert response["debug"] == {"publicInput": "0x" + digest.hex()}
    signature = bytes.fromhex(response["decompressionProof"][2:])
    assert len(signature) == 65
    assert Account._recover_hash(digest, signature=signature) == prover_dev_account().address
    assert response["proverVersion"].startswith("linen-")
    assert response["verifierID"] == 0
    assert len(bytes.fromhex(response["verifyingKeyShaSum"][2:])) == 32


TAMPERINGS = {
    "compressedData byte in the stream": (lambda r: _flip_data_byte(r, 600), "compressedData|snarkHash"),
    "compressedData byte in the header": (lambda r: _flip_data_byte(r, 10), "dictionary"),
    "snarkHash": (lambda r: r.update(snarkHash=_flip_hex(r["snarkHash"])), "snarkHash"),
    "expectedY": (lambda r: r.update(expectedY=_flip_hex(r["expectedY"])), "expectedY"),
    "expectedX": (lambda r: r.update(expectedX=_flip_hex(r["expectedX"])), "expectedX"),
    "dataHash": (lambda r: r.update(dataHash=_flip_hex(r["dataHash"])), "dataHash"),
    "kzgProofSidecar": (lambda r: r.update(kzgProofSidecar=r["kzgProofContract"]), "kzgProofSidecar"),
    "prevShnarf": (lambda r: r.update(prevShnarf=_flip_hex(r["prevShnarf"])), "expectedShnarf"),
    "finalStateRootHash": (lambda r: r.update(finalStateRootHash=_flip_hex(r["finalStateRootHash"])), "expectedShnarf"),
    "conflationOrder end": (
        lambda r: r["conflationOrder"].update(upperBoundaries=[r["conflationOrder"]["upperBoundaries"][-1] + 1]),
        "blocks",
    ),
    "conflationOrder start": (
        lambda r: r["conflationOrder"].update(startingBlockNumber=r["conflationOrder"]["startingBlockNumber"] + 1),
        "blocks",
    ),
    "conflationOrder batches": (
        lambda r: r["conflationOrder"].update(
            upperBoundaries=[
                r["conflationOrder"]["startingBlockNumber"] + 4,
                r["conflationOrder"]["upperBoundaries"][-1],
            ]
        ),
        "batches",
    ),
    "conflationOrder shape": (lambda r: r.update(conflationOrder={"startingBlockNumber": 1}), "upperBoundaries"),
    "missing commitment": (lambda r: r.pop("commitment"), "commitment"),
    "compressedData not base64": (lambda r: r.update(compressedData="%%%"), "base64"),
}


@needs_vectors
@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampered_request_is_refused(name):
    change, message = TAMPERINGS[name]
    with pytest.raises(InvalidCompressionRequest, match=message):
        prove_compression(_tampered(change), _linea_settings())


@needs_vectors
def test_linea_blob_with_linen_dictionary_is_refused():
    settings = CompressionProverSettings(PROVER_KEY, linen_dictionary(), MIMC)
    with pytest.raises(InvalidCompressionRequest, match="dictionary"):
        prove_compression(_mainnet_request(), settings)


def _linen_request() -> dict:
    """A compression request for a blob Linen builds itself, with its own dictionary."""
    rng = random.Random(5)
    compressor = BlobCompressor(linen_dictionary(), MIMC)
    accounts = dev_accounts()
    start = 100
    bounds = []
    for batch in range(2):
        compressor.start_new_batch()
        for n in range(3):
            account = accounts[n]
            tx = {
                "nonce": batch,
                "gas": 21000,
                "to": accounts[n + 1].address,
                "value": rng.randrange(10**18),
                "maxFeePerGas": 2 * 10**9,
                "maxPriorityFeePerGas": 10**9,
                "chainId": 59139,
                "type": 2,
            }
            signed = Account.sign_transaction(tx, account.private_key)
            sender = bytes.fromhex(account.address[2:])
            block = BlobBlock(1_750_000_000 + 6 * batch + 2 * n, rng.randbytes(32), ((sender, signed.raw_transaction),))
            assert compressor.append(block)
        bounds.append(start + 3 * (batch + 1) - 1)
    sealed = compressor.seal()
    snark_hash = compute_snark_hash(sealed.packed, MIMC)
    parent, final_root = rng.randbytes(32), rng.randbytes(32)
    prepared = prepare_blob(sealed.blob, snark_hash, final_root, parent)
    sidecar = bytes(ckzg.compute_blob_kzg_proof(sealed.blob, prepared.commitment, trusted_setup()))

    def h(data: bytes) -> str:
        return "0x" + bytes(data).hex()

    return {
        "compressedData": base64.b64encode(sealed.packed).decode(),
        "conflationOrder": {"startingBlockNumber": start, "upperBoundaries": bounds},
        "prevShnarf": h(parent),
        "parentStateRootHash": h(rng.randbytes(32)),
        "finalStateRootHash": h(final_root),
        "parentDataHash": h(rng.randbytes(32)),
        "dataHash": h(prepared.versioned_hash),
        "snarkHash": h(snark_hash),
        "expectedX": h(prepared.x),
        "expectedY": h(prepared.y),
        "expectedShnarf": h(prepared.shnarf),
        "eip4844Enabled": True,
        "commitment": h(prepared.commitment),
        "kzgProofContract": h(prepared.kzg_proof),
        "kzgProofSidecar": h(sidecar),
    }


def test_linen_blob_proves_with_prover_settings():
    """The `[prover]` settings shape (key, dictionary path or none) works as well as the dataclass."""

    @dataclass(frozen=True)
    class ProverSettingsLike:
        key: str
        dictionary: Path | None = None

    request = _linen_request()
    response = prove_compression(request, ProverSettingsLike(PROVER_KEY))
    assert response["expectedShnarf"] == request["expectedShnarf"]
    with pytest.raises(InvalidCompressionRequest, match="batches"):
        bad = copy.deepcopy(request)
        bad["conflationOrder"]["upperBoundaries"] = [request["conflationOrder"]["upperBoundaries"][-1]]
        prove_compression(bad, ProverSettingsLike(PROVER_KEY))
    with pytest.raises(ConfigError, match="prover.key"):
        prove_compression(request, ProverSettingsLike(""))
