"""The blob v1 header: which format, which dictionary, and where each batch ends.

The header is stored uncompressed in front of the lzss payload so that a reader learns the format
version and the dictionary before it has to decompress anything, and so that the batch table (one
execution proof per batch) can be read without decoding a single block. Layout, all big-endian:

    u16 (0x10000 − version)   v1 → 0xFFFF; a blob v0 never starts this way
    32 bytes                  checksum of the lzss dictionary (see snark_hash.dictionary_checksum)
    u16 batch count
    u24 per batch             uncompressed byte length of that batch's encoded blocks
"""

from __future__ import annotations

from dataclasses import dataclass

from linen.protocol.blob.errors import BlobTooLarge, InvalidBlob

BLOB_VERSION = 1
VERSION_FIELD_SIZE = 2
CHECKSUM_SIZE = 32
BATCH_COUNT_SIZE = 2
BATCH_LENGTH_SIZE = 3
FIXED_HEADER_SIZE = VERSION_FIELD_SIZE + CHECKSUM_SIZE + BATCH_COUNT_SIZE  # 36
MAX_BATCHES = 0xFFFF
MAX_BATCH_LENGTH = 0xFFFFFF


def version_field(version: int) -> int:
    """The u16 a blob of `version` starts with (0x10000 − version)."""
    return 0x10000 - version


@dataclass(frozen=True)
class BlobHeader:
    """Version, dictionary checksum and the byte length of every batch, in order."""

    dictionary_checksum: bytes
    batch_lengths: tuple[int, ...] = ()
    version: int = BLOB_VERSION

    def __post_init__(self) -> None:
        if len(self.dictionary_checksum) != CHECKSUM_SIZE:
            raise ValueError(f"dictionary checksum must be {CHECKSUM_SIZE} bytes")
        if len(self.batch_lengths) > MAX_BATCHES:
            raise BlobTooLarge(f"{len(self.batch_lengths)} batches; a header holds at most {MAX_BATCHES}")
        for length in self.batch_lengths:
            if not 0 <= length <= MAX_BATCH_LENGTH:
                raise BlobTooLarge(f"batch of {length} bytes; a header holds lengths up to {MAX_BATCH_LENGTH}")

    @property
    def size(self) -> int:
        """Encoded size in bytes (the compressor counts it against the blob limit)."""
        return header_size(len(self.batch_lengths))

    @property
    def payload_length(self) -> int:
        """Total uncompressed bytes of all batches: the decompressed payload must be exactly this long."""
        return sum(self.batch_lengths)

    def encode(self) -> bytes:
        return (
            version_field(self.version).to_bytes(VERSION_FIELD_SIZE, "big")
            + bytes(self.dictionary_checksum)
            + len(self.batch_lengths).to_bytes(BATCH_COUNT_SIZE, "big")
            + b"".join(length.to_bytes(BATCH_LENGTH_SIZE, "big") for length in self.batch_lengths)
        )


def header_size(batch_count: int) -> int:
    return FIXED_HEADER_SIZE + BATCH_LENGTH_SIZE * batch_count


def decode_header(data: bytes) -> tuple[BlobHeader, int]:
    """(header, number of bytes it took) from the start of unpacked blob data."""
    if len(data) < FIXED_HEADER_SIZE:
        raise InvalidBlob(f"blob data of {len(data)} bytes is shorter than a v1 header ({FIXED_HEADER_SIZE})")
    field = int.from_bytes(data[:VERSION_FIELD_SIZE], "big")
    version = 0x10000 - field
    if version != BLOB_VERSION:
        raise InvalidBlob(
            f"unsupported blob version field 0x{field:04x} (version {version}); this reader handles "
            f"v{BLOB_VERSION} (0x{version_field(BLOB_VERSION):04x})"
        )
    checksum = bytes(data[VERSION_FIELD_SIZE : VERSION_FIELD_SIZE + CHECKSUM_SIZE])
    count = int.from_bytes(data[FIXED_HEADER_SIZE - BATCH_COUNT_SIZE : FIXED_HEADER_SIZE], "big")
    end = header_size(count)
    if len(data) < end:
        raise InvalidBlob(f"header announces {count} batches but the blob data ends inside the batch table")
    lengths = tuple(
        int.from_bytes(data[i : i + BATCH_LENGTH_SIZE], "big") for i in range(FIXED_HEADER_SIZE, end, BATCH_LENGTH_SIZE)
    )
    return BlobHeader(checksum, lengths, version), end
