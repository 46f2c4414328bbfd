"""Snark hash and dictionary checksum (v1): MiMC-BLS12-377 over the data, 252 bits per element.

The KZG commitment binds the blob for L1, but a circuit cannot afford to recompute it; it hashes
the blob with MiMC instead, and the rollup ties the two together by opening the commitment at
x = keccak(snarkHash || versionedHash). The blob's 4096 words of 254 useful bits are re-cut into
252-bit chunks because a 252-bit value is always below the BLS12-377 scalar modulus (a 253-bit
chunk would not be). The dictionary checksum in the header is computed the same way, so a reader
can check it decompresses with the dictionary the writer used.

MiMC lives with the state hashers (`linen.state.hashers`), which this pure layer may not import;
callers pass `get_hasher("mimc-bls12-377")` or anything else with `hash(words) -> bytes` (the hash
of a long word list chains MiMC over all words, exactly as Linea's snark hash does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from linen.protocol.blob.errors import InvalidBlob
from linen.protocol.blob.packing import BLOB_SIZE, PACKING_BITS, bits_to_words, pad_blob, words_to_bits

CHUNK_BITS = 252
SNARK_HASH_ELEMENTS = -(-(BLOB_SIZE // 32) * PACKING_BITS // CHUNK_BITS)  # 4129
DICTIONARY_TERMINATOR = b"\xff"


class WordHasher(Protocol):
    """The part of `linen.state.hashers.Hasher` used here."""

    def hash(self, words: Sequence[bytes]) -> bytes: ...


def snark_hash_words(data: bytes, full_blob: bool = True) -> list[bytes]:
    """The field elements the snark hash absorbs: 4129 for a blob (zero-padded to 131072 bytes first).

    With `full_blob=False` (data sent as calldata, where nothing pads it) only the data's own words
    are re-cut, as Linea's calldata-submission samples show.
    """
    if len(data) > BLOB_SIZE:
        raise InvalidBlob(f"a blob is at most {BLOB_SIZE} bytes, got {len(data)}")
    bits = words_to_bits(pad_blob(data) if full_blob else bytes(data), PACKING_BITS)
    return bits_to_words(bits, CHUNK_BITS)


def compute_snark_hash(data: bytes, hasher: WordHasher, full_blob: bool = True) -> bytes:
    """snarkHash v1 of packed blob data (full 131072 bytes, or its packed words, which are zero-padded).

    `full_blob=False` hashes only the given words: the calldata path's snark hash.
    """
    return bytes(hasher.hash(snark_hash_words(data, full_blob)))


def dictionary_checksum(dictionary: bytes, hasher: WordHasher) -> bytes:
    """MiMC of `dictionary || 0xFF` in 252-bit chunks: the dictionary's identity in a blob header.

    It is taken over the dictionary as stored, before the stream adds `FE FF` to one that lacks
    them (Linea's dictionary file gives 0x0cb70ec0…3f70, the checksum its mainnet blobs carry).
    """
    return bytes(hasher.hash(bits_to_words(bytes(dictionary) + DICTIONARY_TERMINATOR, CHUNK_BITS)))


_checksum_cache: dict[tuple[str, bytes], bytes] = {}


def cached_dictionary_checksum(dictionary: bytes, hasher: WordHasher) -> bytes:
    """`dictionary_checksum`, remembered per (hasher name, dictionary): every blob reader needs it."""
    key = (getattr(hasher, "name", "") or f"id:{id(hasher)}", bytes(dictionary))
    checksum = _checksum_cache.get(key)
    if checksum is None:
        if len(_checksum_cache) >= 8:
            _checksum_cache.clear()
        checksum = _checksum_cache[key] = dictionary_checksum(dictionary, hasher)
    return checksum
