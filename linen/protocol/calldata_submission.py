"""Data submitted as calldata instead of a blob (LineaRollup `submitDataAsCalldata`).

Without a blob there is no KZG commitment and no precompile, so the contract itself opens the data:
it reads the compressed data as 32-byte chunks, takes them as the coefficients of a polynomial over
the BLS12-381 scalar field (chunk 0 is the constant term) and evaluates it at x by Horner's rule.
The data hash is plain keccak of the data. The resulting shnarf has the same shape as a blob's, so
the same proofs cover both paths; the coordinator needs this module to predict the shnarf it will
submit, and the compression prover to know which y to prove.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

from linen.primitives.types import Hash32
from linen.protocol.shnarf import compute_shnarf, compute_x
from linen.protocol.words import BLS12_381_SCALAR_MODULUS, WORD_SIZE, InvalidProtocolInput, word_to_int


@dataclass(frozen=True)
class CalldataSubmission:
    """Everything the calldata path derives from one submission, with the shnarf it produces."""

    data_hash: Hash32
    x: Hash32
    y: Hash32
    shnarf: Hash32


def calldata_data_hash(compressed_data: bytes) -> Hash32:
    """keccak(compressedData): the calldata path's stand-in for a blob's versioned hash."""
    return Hash32(keccak(bytes(compressed_data)))


def compute_calldata_y(compressed_data: bytes, x: bytes) -> Hash32:
    """y = Σ chunk_j · x^j mod r381 over the 32-byte chunks of the data, as the contract computes it.

    The contract refuses data whose length is not a multiple of 32 or any chunk whose first byte is
    not zero (so every chunk is below r381 and is a canonical field element); we refuse the same.
    x is reduced mod r381 first, which gives the contract's result since its mulmod reduces anyway.
    The contract sets no bound on the number of chunks; the circuit does (4096, one blob's worth).
    """
    data = bytes(compressed_data)
    if len(data) % WORD_SIZE:
        raise InvalidProtocolInput(f"compressed data length {len(data)} is not a multiple of 32")
    point = word_to_int(x, "x") % BLS12_381_SCALAR_MODULUS
    y = 0
    for start in range(len(data) - WORD_SIZE, -1, -WORD_SIZE):
        if data[start]:
            raise InvalidProtocolInput(f"chunk at byte {start} of the compressed data does not start with a zero byte")
        y = (y * point + int.from_bytes(data[start : start + WORD_SIZE], "big")) % BLS12_381_SCALAR_MODULUS
    return Hash32(y.to_bytes(WORD_SIZE, "big"))


def compute_calldata_submission(
    parent_shnarf: bytes, snark_hash: bytes, final_state_root: bytes, compressed_data: bytes
) -> CalldataSubmission:
    """data hash, x, y and shnarf of one submitDataAsCalldata call (empty data is refused, as on L1)."""
    if not compressed_data:
        raise InvalidProtocolInput("compressed data is empty; the rollup refuses an empty submission")
    data_hash = calldata_data_hash(compressed_data)
    x = compute_x(snark_hash, data_hash)
    y = compute_calldata_y(compressed_data, x)
    shnarf = compute_shnarf(parent_shnarf, snark_hash, final_state_root, x, y)
    return CalldataSubmission(data_hash=data_hash, x=x, y=y, shnarf=shnarf)


def compute_calldata_shnarf(
    parent_shnarf: bytes, snark_hash: bytes, final_state_root: bytes, compressed_data: bytes
) -> Hash32:
    """The shnarf submitDataAsCalldata stores for this data (its `_expectedShnarf` argument)."""
    return compute_calldata_submission(parent_shnarf, snark_hash, final_state_root, compressed_data).shnarf
