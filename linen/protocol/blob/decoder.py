"""Reading a blob v1 back into batches, blocks and transactions.

The compression prover must re-derive everything from the blob bytes alone (they are what L1
committed to), and anyone reconstructing the chain from L1 does the same. Every inconsistency is an
`InvalidBlob` that says what is wrong: a foreign version, a header that names another dictionary, a
stream that is truncated or references bytes that do not exist, or batch lengths that do not match
the decompressed payload or do not split it at block boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from linen.protocol.blob.block_encoding import DecodedBlock, decode_blocks
from linen.protocol.blob.errors import InvalidBlob
from linen.protocol.blob.header import BlobHeader, decode_header
from linen.protocol.blob.lzss import decompress
from linen.protocol.blob.packing import unpack
from linen.protocol.blob.snark_hash import WordHasher, cached_dictionary_checksum


@dataclass(frozen=True)
class DecodedBlob:
    """A blob's header, its decompressed payload, and the blocks of each batch."""

    header: BlobHeader
    payload: bytes
    batches: tuple[tuple[DecodedBlock, ...], ...]
    compressed: bool

    @property
    def blocks(self) -> tuple[DecodedBlock, ...]:
        return tuple(block for batch in self.batches for block in batch)

    def batch_payloads(self) -> list[bytes]:
        """The uncompressed bytes of each batch, split by the header's lengths."""
        return _split(self.payload, self.header.batch_lengths)


def _split(payload: bytes, lengths: tuple[int, ...]) -> list[bytes]:
    parts = []
    pos = 0
    for length in lengths:
        parts.append(payload[pos : pos + length])
        pos += length
    return parts


def decompress_blob(
    packed: bytes, dictionary: bytes, hasher: WordHasher | None = None
) -> tuple[BlobHeader, bytes, bool]:
    """(header, decompressed payload, whether it was compressed) of packed blob bytes.

    With `hasher`, the header's dictionary checksum must be that of `dictionary`; without, it is
    not checked (a wrong dictionary then usually fails later as a corrupt stream or block).
    """
    data = unpack(packed)
    header, offset = decode_header(data)
    if hasher is not None:
        expected = cached_dictionary_checksum(dictionary, hasher)
        if header.dictionary_checksum != expected:
            raise InvalidBlob(
                f"blob was compressed with dictionary 0x{header.dictionary_checksum.hex()}, not the given one "
                f"(0x{expected.hex()})"
            )
    stream = data[offset:]
    payload = decompress(stream, dictionary, max_size=header.payload_length)
    if len(payload) != header.payload_length:
        raise InvalidBlob(
            f"payload decompresses to {len(payload)} bytes but the header's batches add up to {header.payload_length}"
        )
    return header, payload, len(stream) > 2 and stream[2] == 0


def decode_blob(packed: bytes, dictionary: bytes, hasher: WordHasher | None = None) -> DecodedBlob:
    """Decode packed blob bytes (or a full blob) all the way down to transactions."""
    header, payload, compressed = decompress_blob(packed, dictionary, hasher)
    batches = []
    for index, part in enumerate(_split(payload, header.batch_lengths)):
        try:
            blocks = decode_blocks(part)
        except InvalidBlob as exc:
            raise InvalidBlob(f"batch {index}: {exc}") from None
        if not blocks:
            raise InvalidBlob(f"batch {index} is empty")
        batches.append(blocks)
    return DecodedBlob(header, payload, tuple(batches), compressed)
