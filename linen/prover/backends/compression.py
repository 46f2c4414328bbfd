"""The compression prover: re-derive everything a blob submission claims from the blob bytes alone.

Linea proves with a circuit that the blob decompresses to the batches the execution proofs cover
and that its snark hash, KZG opening and shnarf are what the coordinator predicted. Linen has no
such circuit yet, so `prove_compression` does the same checks in the clear and attests the result
with the prover's key. It trusts nothing the request claims about the data:

1. `compressedData` (base64 of the packed blob) must decode as blob v1 with the configured
   dictionary: version, dictionary checksum, lzss stream, batch lengths, every block and
   transaction (`linen.protocol.blob.decode_blob`);
2. the header's batches must be `conflationOrder`'s batches: as many, and each with exactly the
   number of blocks its upper boundary implies;
3. snarkHash (MiMC-BLS12-377), then for a blob: commitment, dataHash (versioned hash), x, y and
   the two KZG proofs (`linen.l1.blobs.prepare_blob` and ckzg); for calldata: keccak dataHash and
   the contract's polynomial y; and expectedShnarf from prevShnarf and finalStateRootHash — each
   must equal the request's value.

What a blob alone cannot show is left to the other proofs: that parentStateRootHash and
finalStateRootHash are the states the batches lead between (execution proofs, chained by the
aggregation) and that prevShnarf and parentDataHash belong to the previous blob (the aggregation).

Response (spec §4): the request's fields, plus
- `decompressionProof`: 65-byte signature r || s || v (v ∈ {27, 28}), unprefixed, by the prover
  key over keccak256(expectedShnarf) — the shnarf commits to the snark hash, both data hashes'
  opening (x, y), the final state root and the parent, so signing it attests all of the above;
- `proverVersion`: "linen-<version>";
- `verifierID`: 0, the L1 proof type of the AttestationVerifier that checks Linen's key attestations;
- `verifyingKeyShaSum`: sha256 of the signer's 20-byte address, the "verifying key" of a signature
  (the execution backend uses the same convention);
- `debug.publicInput`: keccak256(expectedShnarf), the digest that was signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ckzg
from eth_account import Account
from eth_hash.auto import keccak

from linen import __version__
from linen.errors import ConfigError, InvalidInput
from linen.primitives.hexcodec import to_data
from linen.protocol.blob import decode_blob, linen_dictionary
from linen.protocol.blob.decoder import DecodedBlob
from linen.protocol.blob.kzg import prepare_blob, trusted_setup
from linen.protocol.blob.packing import BLOB_SIZE, pad_blob
from linen.protocol.blob.snark_hash import WordHasher, compute_snark_hash
from linen.protocol.calldata_submission import compute_calldata_submission
from linen.state.hashers import MIMC_BLS12_377, get_hasher

COMPRESSION_VERIFIER_ID = 0  # the AttestationVerifier's proof type on L1


class InvalidCompressionRequest(InvalidInput):
    """A compression request whose blob or claims do not hold up (the prover refuses it, exit 78)."""

    exit_code = 78


@dataclass(frozen=True)
class CompressionProverSettings:
    """What the compression backend needs: its signing key, the lzss dictionary and MiMC."""

    prover_key: str
    dictionary: bytes = field(default_factory=linen_dictionary, repr=False)
    hasher: WordHasher = field(default_factory=lambda: get_hasher(MIMC_BLS12_377))

    @classmethod
    def from_prover_settings(cls, settings: Any) -> CompressionProverSettings:
        """From the `[prover]` settings: `key`, and `dictionary` (a file path; Linen's own if unset)."""
        path = getattr(settings, "dictionary", None)
        try:
            dictionary = Path(path).read_bytes() if path else linen_dictionary()
        except OSError as exc:
            raise ConfigError(f"prover.dictionary {path}: cannot read the lzss dictionary ({exc})") from None
        return cls(prover_key=getattr(settings, "key", ""), dictionary=dictionary)


# -- request fields ---------------------------------------------------------------------------------


def _field(request: dict, name: str) -> Any:
    if name not in request:
        raise InvalidCompressionRequest(f"compression request: missing field {name}")
    return request[name]


def _hex_field(request: dict, name: str, size: int | None = 32) -> bytes:
    value = _field(request, name)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise InvalidCompressionRequest(f"compression request: {name} must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise InvalidCompressionRequest(f"compression request: {name} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise InvalidCompressionRequest(f"compression request: {name} must be {size} bytes, got {len(raw)}")
    return raw


def _compressed_data(request: dict) -> bytes:
    value = _field(request, "compressedData")
    if not isinstance(value, str):
        raise InvalidCompressionRequest("compression request: compressedData must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCompressionRequest("compression request: compressedData is not valid base64") from None
    if not data or len(data) > BLOB_SIZE or len(data) % 32:
        raise InvalidCompressionRequest(
            f"compression request: compressedData is {len(data)} bytes; packed blob data is 1..4096 whole 32-byte words"
        )
    return data


def _conflation_order(request: dict) -> tuple[int, list[int]]:
    order = _field(request, "conflationOrder")
    if not isinstance(order, dict):
        raise InvalidCompressionRequest("compression request: conflationOrder must be an object")
    start = order.get("startingBlockNumber")
    bounds = order.get("upperBoundaries")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise InvalidCompressionRequest("conflationOrder.startingBlockNumber must be a non-negative integer")
    if not isinstance(bounds, list) or not bounds:
        raise InvalidCompressionRequest("conflationOrder.upperBoundaries must be a non-empty list")
    previous = start - 1
    for index, bound in enumerate(bounds):
        if isinstance(bound, bool) or not isinstance(bound, int) or bound <= previous:
            raise InvalidCompressionRequest(
                f"conflationOrder.upperBoundaries[{index}] must be an integer above {previous}, got {bound!r}"
            )
        previous = bound
    return start, bounds


def _check_batches(blob: DecodedBlob, start: int, bounds: list[int]) -> None:
    if len(blob.batches) != len(bounds):
        raise InvalidCompressionRequest(
            f"the blob holds {len(blob.batches)} batches but conflationOrder lists {len(bounds)}"
        )
    first = start
    for index, (batch, last) in enumerate(zip(blob.batches, bounds, strict=True)):
        expected = last - first + 1
        if len(batch) != expected:
            raise InvalidCompressionRequest(
                f"batch {index} of the blob has {len(batch)} blocks, conflationOrder says {expected} ({first}-{last})"
            )
        first = last + 1


def _expect(name: str, claimed: bytes, computed: bytes) -> None:
    if bytes(claimed) != bytes(computed):
        raise InvalidCompressionRequest(
            f"{name} 0x{bytes(claimed).hex()} is not what the blob gives (0x{bytes(computed).hex()})"
        )



# -- proving ----------------------------------------------------------------------------------------


def _settings(settings: Any) -> CompressionProverSettings:
    if isinstance(settings, CompressionProverSettings):
        return settings
    return CompressionProverSettings.from_prover_settings(settings)


def verify_compression_request(request: dict, settings: CompressionProverSettings) -> DecodedBlob:
    """Every check of the module docstring; the decoded blob, or InvalidCompressionRequest."""
    if not isinstance(request, dict):
        raise InvalidCompressionRequest("a compression request is a JSON object")
    packed = _compressed_data(request)
    start, bounds = _conflation_order(request)
    try:
        blob = decode_blob(packed, settings.dictionary, settings.hasher)
    except InvalidInput as exc:
        raise InvalidCompressionRequest(f"compressedData is not a valid blob: {exc}") from None
    _check_batches(blob, start, bounds)

    use_blob = request.get("eip4844Enabled", True)
    if not isinstance(use_blob, bool):
        raise InvalidCompressionRequest("compression request: eip4844Enabled must be true or false")
    snark_hash = compute_snark_hash(packed, settings.hasher, full_blob=use_blob)
    _expect("snarkHash", _hex_field(request, "snarkHash"), snark_hash)
    prev_shnarf = _hex_field(request, "prevShnarf")
    final_root = _hex_field(request, "finalStateRootHash")
    _hex_field(request, "parentStateRootHash")
    _hex_field(request, "parentDataHash")

    if use_blob:
        full = pad_blob(packed)
        prepared = prepare_blob(full, snark_hash, final_root, prev_shnarf)
        _expect("commitment", _hex_field(request, "commitment", 48), prepared.commitment)
        _expect("dataHash", _hex_field(request, "dataHash"), prepared.versioned_hash)
        _expect("expectedX", _hex_field(request, "expectedX"), prepared.x)
        _expect("expectedY", _hex_field(request, "expectedY"), prepared.y)
        _expect("kzgProofContract", _hex_field(request, "kzgProofContract", 48), prepared.kzg_proof)
        sidecar = bytes(ckzg.compute_blob_kzg_proof(full, prepared.commitment, trusted_setup()))
        _expect("kzgProofSidecar", _hex_field(request, "kzgProofSidecar", 48), sidecar)
        shnarf = prepared.shnarf
    else:
        try:
            submission = compute_calldata_submission(prev_shnarf, snark_hash, final_root, packed)
        except InvalidInput as exc:
            raise InvalidCompressionRequest(f"compressedData cannot be submitted as calldata: {exc}") from None
        _expect("dataHash", _hex_field(request, "dataHash"), submission.data_hash)
        _expect("expectedX", _hex_field(request, "expectedX"), submission.x)
        _expect("expectedY", _hex_field(request, "expectedY"), submission.y)
        shnarf = submission.shnarf
    _expect("expectedShnarf", _hex_field(request, "expectedShnarf"), shnarf)
    return blob


def prove_compression(request: dict, settings: Any) -> dict:
    """Check a compression request (see the module docstring) and answer with the attested response.

    `settings` is a `CompressionProverSettings`, or the `[prover]` settings (`key`, `dictionary`).
    """
    settings = _settings(settings)
    if not settings.prover_key:
        raise ConfigError("prover.key is not set: the compression backend signs its attestation with it")
    verify_compression_request(request, settings)
    digest = keccak(_hex_field(request, "expectedShnarf"))
    signed = Account.unsafe_sign_hash(digest, settings.prover_key)
    signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    signer = bytes.fromhex(Account.from_key(settings.prover_key).address[2:])
    response = {key: value for key, value in request.items() if key not in ("decompressionProof", "debug")}
    response.update(
        {
            "decompressionProof": to_data(signature),
            "proverVersion": f"linen-{__version__}",
            "verifierID": COMPRESSION_VERIFIER_ID,
            "verifyingKeyShaSum": to_data(hashlib.sha256(signer).digest()),
            "debug": {"publicInput": to_data(digest)},
        }
    )
    return response
