"""How many bytes transactions take in blob v1's lzss stream: the sequencer's compressed-size rules.

The same compressor as the blobs' (`lzss.LzssCompressor`), in its native twin when `native/` is
built (`linen_native.LzssSizer` counts the stream's bytes without writing it; tests check both give
the same size). A transaction alone is measured against a sizer primed with the dictionary and kept
per thread (priming costs milliseconds, a transaction tens of microseconds natively); a block's
transactions with one incremental sizer per block (`BlockSizes`).
"""

from __future__ import annotations

import threading
from typing import Any

from linen.protocol.blob.errors import BlobTooLarge
from linen.protocol.blob.lzss import STREAM_HEADER_SIZE, LzssCompressor

try:
    from linen_native import LzssSizer as _NativeSizer
except ImportError:  # no Rust toolchain at set-up: the Python compressor, same sizes, slower
    _NativeSizer = None

_local = threading.local()


def _dictionary() -> bytes:
    from linen.protocol.blob import linen_dictionary

    return linen_dictionary()


def new_sizer(dictionary: bytes | None = None) -> Any:
    """An incremental sizer (write, size, begin, commit, rollback) primed with `dictionary` (Linen's)."""
    dictionary = _dictionary() if dictionary is None else dictionary
    return _NativeSizer(dictionary) if _NativeSizer is not None else LzssCompressor(dictionary)


def _write(sizer: Any, data: bytes) -> None:
    try:
        sizer.write(data)
    except ValueError as exc:  # the native sizer's refusal, as the Python compressor words it
        raise BlobTooLarge(str(exc)) from None


def compressed_size(data: bytes) -> int:
    """Bytes `data` adds to a fresh lzss stream over Linen's dictionary (what it costs in a blob alone).
    Data too long for references to reach back (over 2 MB, far more than a blob) counts as stored."""
    sizer = getattr(_local, "sizer", None)
    if sizer is None:
        sizer = _local.sizer = new_sizer()
    sizer.begin()
    try:
        _write(sizer, data)
        return sizer.size - STREAM_HEADER_SIZE
    except BlobTooLarge:
        return len(data)
    finally:
        sizer.rollback()


class BlockSizes:
    """The lzss size of a block's transactions so far, grown one transaction at a time."""

    def __init__(self, raw_transactions: list[bytes] = ()) -> None:  # type: ignore[assignment]
        self._sizer = new_sizer()
        for raw in raw_transactions:
            _write(self._sizer, raw)

    @property
    def size(self) -> int:
        return self._sizer.size - STREAM_HEADER_SIZE

    def with_(self, raw: bytes) -> int:
        """The size with `raw` appended; `keep()` keeps it, `drop()` gives it back."""
        self._sizer.begin()
        _write(self._sizer, raw)
        return self.size

    def keep(self) -> None:
        self._sizer.commit()

    def drop(self) -> None:
        self._sizer.rollback()

    def append(self, raw: bytes) -> None:
        _write(self._sizer, raw)
