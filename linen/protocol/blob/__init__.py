"""Blob v1: the format in which a Linen (or Linea) chain publishes its blocks to L1.

Layers, bottom up: `packing` (bytes ↔ 4096 field elements), `header` (version, dictionary,
batches), `lzss` (the compressed stream and Linen's own compressor), `block_encoding` (a block
without signatures), `snark_hash` (the MiMC hash the circuit uses), then `compressor` (filling a
blob block by block) and `decoder` (reading one back). All pure; MiMC comes in as a parameter.

`linen_dictionary()` is the dictionary a Linen chain compresses with, built from Linen's own
traffic by tools/build_blob_dictionary.py and shipped as package data (dictionary_v1.bin).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from linen.protocol.blob.block_encoding import (
    BlobBlock,
    DecodedBlock,
    DecodedTransaction,
    decode_blocks,
    encode_block,
    signing_payload,
)
from linen.protocol.blob.compressor import RAW_LIMIT, BlobCompressor, SealedBlob
from linen.protocol.blob.decoder import DecodedBlob, decode_blob, decompress_blob
from linen.protocol.blob.errors import BlobTooLarge, InvalidBlob
from linen.protocol.blob.header import BlobHeader, decode_header
from linen.protocol.blob.packing import BLOB_SIZE, MAX_UNPACKED_SIZE, pack, pack_blob, packed_size, unpack
from linen.protocol.blob.snark_hash import compute_snark_hash, dictionary_checksum

DICTIONARY_RESOURCE = "dictionary_v1.bin"


@cache
def linen_dictionary() -> bytes:
    """Linen's own 64 KiB lzss dictionary (package data; read once)."""
    return resources.files(__name__).joinpath(DICTIONARY_RESOURCE).read_bytes()


__all__ = [
    "BLOB_SIZE",
    "MAX_UNPACKED_SIZE",
    "RAW_LIMIT",
    "BlobBlock",
    "BlobCompressor",
    "BlobHeader",
    "BlobTooLarge",
    "DecodedBlob",
    "DecodedBlock",
    "DecodedTransaction",
    "InvalidBlob",
    "SealedBlob",
    "compute_snark_hash",
    "decode_blob",
    "decode_blocks",
    "decode_header",
    "decompress_blob",
    "dictionary_checksum",
    "encode_block",
    "linen_dictionary",
    "pack",
    "pack_blob",
    "packed_size",
    "signing_payload",
    "unpack",
]
