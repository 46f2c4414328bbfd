"""Filling blobs block by block, as the coordinator's conflation does (blob v1).

The coordinator has to know, before it commits a block to a blob, whether the block still fits:
the answer decides where batches and blobs end. `BlobCompressor` keeps one blob under construction
and answers exactly that question with the real compressed size (not an estimate), so a blob is
never sealed too early or found too big after the fact. Its rules follow Linea's blob maker:

- a block is encoded (block_encoding), appended to the open batch and lzss-compressed as the
  continuation of the blob's stream (earlier blocks are searchable for matches);
- refused if the uncompressed header + payload would exceed `raw_limit` (780000 bytes: what the
  decompression circuit can handle, whatever the compression ratio);
- it fits if the packed size 32·ceil(8·(header + stream + 1)/254) is within `size_limit`;
- if not, everything is recompressed at once (an incremental stream can be worse than a fresh one),
  and if that is still too big, the stream is stored uncompressed (noCompression) if *that* fits;
- otherwise the block is refused and the blob is unchanged. `can_append` runs the same steps and
  always gives the block back.

Batches (one execution proof each) are delimited in the header; an empty open batch is not written,
so the header's batch count is the number of non-empty batches, which is what the compression
request's conflationOrder lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from linen.protocol.blob.block_encoding import BlobBlock, encode_block
from linen.protocol.blob.errors import BlobTooLarge
from linen.protocol.blob.header import MAX_BATCHES, BlobHeader, header_size
from linen.protocol.blob.lzss import DEFAULT_CHAIN_DEPTH, STREAM_HEADER_SIZE, LzssCompressor, store
from linen.protocol.blob.packing import BLOB_SIZE, MAX_UNPACKED_SIZE, pack, packed_size, pad_blob
from linen.protocol.blob.snark_hash import WordHasher, cached_dictionary_checksum

RAW_LIMIT = 780_000


@dataclass(frozen=True)
class SealedBlob:
    """A finished blob: its packed bytes (`compressedData`), the full blob, and per-batch block counts."""

    packed: bytes
    header: BlobHeader
    batch_block_counts: tuple[int, ...]
    raw_payload: bytes
    compressed: bool

    @property
    def blob(self) -> bytes:
        return pad_blob(self.packed)


class BlobCompressor:
    """One blob under construction; see the module docstring for the append rules."""

    def __init__(
        self,
        dictionary: bytes,
        hasher: WordHasher,
        size_limit: int = BLOB_SIZE,
        raw_limit: int = RAW_LIMIT,
        chain_depth: int = DEFAULT_CHAIN_DEPTH,
    ) -> None:
        if not 0 < size_limit <= BLOB_SIZE:
            raise ValueError(f"size_limit must be in 1..{BLOB_SIZE}, got {size_limit}")
        self._dictionary = bytes(dictionary)
        self._checksum = cached_dictionary_checksum(self._dictionary, hasher)
        self.size_limit = size_limit
        self.raw_limit = raw_limit
        self._depth = chain_depth
        self.reset()

    # -- state -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Start a new, empty blob."""
        self._lzss = LzssCompressor(self._dictionary, self._depth)
        self._bypass = False  # the stream is stored uncompressed
        self._raw = bytearray()
        self._closed: list[int] = []  # byte lengths of the closed batches
        self._closed_blocks: list[int] = []
        self._open = 0  # byte length of the open batch
        self._open_blocks = 0

    def seal(self) -> SealedBlob:
        """The finished blob; the compressor starts a new one."""
        sealed = SealedBlob(self.packed(), self.header(), self.batch_block_counts, bytes(self._raw), not self._bypass)
        self.reset()
        return sealed

    def start_new_batch(self) -> None:
        """Close the open batch; the next block starts another. No effect if the open batch is empty."""
        if self._open:
            self._closed.append(self._open)
            self._closed_blocks.append(self._open_blocks)
            self._open = self._open_blocks = 0

    @property
    def batch_count(self) -> int:
        return len(self._closed) + (1 if self._open else 0)

    @property
    def block_count(self) -> int:
        return sum(self._closed_blocks) + self._open_blocks

    @property
    def batch_block_counts(self) -> tuple[int, ...]:
        return tuple(self._closed_blocks) + ((self._open_blocks,) if self._open else ())

    @property
    def raw_size(self) -> int:
        """Uncompressed bytes of all blocks so far."""
        return len(self._raw)

    @property
    def is_empty(self) -> bool:
        return not self._raw

    def header(self) -> BlobHeader:
        lengths = tuple(self._closed) + ((self._open,) if self._open else ())
        return BlobHeader(self._checksum, lengths)

    def stream(self) -> bytes:
        """The lzss stream of the payload (compressed, or stored when the bypass was taken)."""
        return store(self._raw) if self._bypass else self._lzss.stream()

    def unpacked(self) -> bytes:
        """header || stream: what gets packed into the blob."""
        return self.header().encode() + self.stream()

    def packed(self) -> bytes:
        """The packed bytes so far (the request's `compressedData`), not padded to a full blob."""
        return pack(self.unpacked())

    def blob(self) -> bytes:
        """The full 131072-byte blob so far."""
        return pad_blob(self.packed())

    @property
    def packed_size(self) -> int:
        return packed_size(self.header().size + self._stream_size())

    def _stream_size(self) -> int:
        return STREAM_HEADER_SIZE + len(self._raw) if self._bypass else self._lzss.size

    # -- appending -------------------------------------------------------------------------------

    def can_append(self, block: BlobBlock) -> bool:
        """Whether `block` would fit in the open batch; the blob is left exactly as it was."""
        return self._write(encode_block(block), keep=False)

    def append(self, block: BlobBlock) -> bool:
        """Append `block` to the open batch if it fits; False (blob unchanged) if it does not."""
        return self._write(encode_block(block), keep=True)

    def _write(self, encoded: bytes, keep: bool) -> bool:
        batches = len(self._closed) + 1
        if batches > MAX_BATCHES:
            raise BlobTooLarge(f"a blob holds at most {MAX_BATCHES} batches")
        header_len = header_size(batches)
        raw_len = len(self._raw) + len(encoded)
        if header_len + raw_len > self.raw_limit:
            return False

        if not self._bypass:
            self._lzss.begin()
            self._lzss.write(encoded)
            if self._fits(header_len + self._lzss.size):
                if keep:
                    self._lzss.commit()
                    self._accept(encoded, bypass=False)
                else:
                    self._lzss.rollback()
                return True
            self._lzss.rollback()

        fresh = LzssCompressor(self._dictionary, self._depth)
        fresh.write(bytes(self._raw) + encoded)
        if self._fits(header_len + fresh.size):
            if keep:
                self._lzss = fresh
                self._accept(encoded, bypass=False)
            return True
        if self._fits(header_len + STREAM_HEADER_SIZE + raw_len):
            if keep:
                self._lzss = fresh  # kept in step with the raw data for later appends
                self._accept(encoded, bypass=True)
            return True
        return False

    def _fits(self, unpacked_len: int) -> bool:
        return unpacked_len <= MAX_UNPACKED_SIZE and packed_size(unpacked_len) <= self.size_limit

    def _accept(self, encoded: bytes, bypass: bool) -> None:
        self._raw += encoded
        self._open += len(encoded)
        self._open_blocks += 1
        self._bypass = bypass
