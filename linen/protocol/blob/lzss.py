"""The lzss stream of blob v1: a decoder, and Linen's own compressor that writes the same format.

Why lzss and not a general-purpose codec: the decompression is re-done inside Linea's compression
circuit, where each output byte costs constraints; a stream of literals and back-references with a
fixed dictionary is what a circuit can check cheaply. The format, in bits, most significant first:

    u16 version (1) || u8 noCompression (0/1)      byte-aligned stream header
    noCompression = 1: the rest is the data itself (used when compression would make it bigger)
    otherwise a sequence of tokens, the last byte zero-padded:
      literal   8 bits: any byte except 0xFE and 0xFF
      0xFE      8 bits length−1, 14 bits offset−1: copy from the output, offset bytes back
      0xFF      8 bits length−1, 21 bits distance−1: copy from `dictionary || output`, distance
                bytes back from the end; past the start of the output it reads the dictionary's end

Copies run byte by byte, so a reference may overlap the bytes it produces (a run of zeros is one
token). Because 0xFE and 0xFF introduce references, those two byte values can only be written as
references, which is why a dictionary must contain both; one that lacks them gets `FE FF` appended
(Linea's own dictionary contains both and is used as it is: its blobs address it unextended).

The compressor is a greedy longest-match search over hash chains of 4-byte prefixes with one step
of lazy matching, choosing per match the cheaper of the two reference kinds. It is incremental
(`write` appends and continues the bit stream) and can roll back the last write, which is what the
blob compressor needs to try a block and give it back.
"""

from __future__ import annotations

from linen.protocol.blob.errors import BlobTooLarge, InvalidBlob

STREAM_VERSION = 1
STREAM_HEADER_SIZE = 3
SHORT_REF = 0xFE
LONG_REF = 0xFF
LENGTH_BITS = 8
SHORT_OFFSET_BITS = 14
LONG_OFFSET_BITS = 21
MAX_MATCH = 1 << LENGTH_BITS  # 256
SHORT_WINDOW = 1 << SHORT_OFFSET_BITS  # 16384
LONG_WINDOW = 1 << LONG_OFFSET_BITS  # 2097152
LITERAL_COST = 8
SHORT_COST = 8 + LENGTH_BITS + SHORT_OFFSET_BITS  # 30 bits
LONG_COST = 8 + LENGTH_BITS + LONG_OFFSET_BITS  # 37 bits
KEY_SIZE = 4  # hash-chain key; shorter matches never pay for a reference (except for FE/FF bytes)
DEFAULT_CHAIN_DEPTH = 32
_SHORT_PREFIX = SHORT_REF << (LENGTH_BITS + SHORT_OFFSET_BITS)
_LONG_PREFIX = LONG_REF << (LENGTH_BITS + LONG_OFFSET_BITS)


def prepare_dictionary(dictionary: bytes) -> bytes:
    """The dictionary as the stream addresses it: `dictionary`, plus `FE FF` if it lacks either byte."""
    dictionary = bytes(dictionary)
    if bytes([SHORT_REF]) not in dictionary or bytes([LONG_REF]) not in dictionary:
        dictionary += bytes([SHORT_REF, LONG_REF])
    if len(dictionary) >= LONG_WINDOW:
        raise BlobTooLarge(f"a dictionary of {len(dictionary)} bytes is beyond the {LONG_WINDOW}-byte reference window")
    return dictionary


# -- decoding ---------------------------------------------------------------------------------------


def decompress(stream: bytes, dictionary: bytes, max_size: int | None = None) -> bytes:
    """The bytes an lzss stream (with its 3-byte header) encodes.

    Refuses, with `InvalidBlob`, a wrong version or flag, a reference cut off by the end of the
    stream, a reference before the start of its window, non-zero padding bits, and output beyond
    `max_size` (the caller knows the expected length from the blob header).
    """
    stream = bytes(stream)
    if len(stream) < STREAM_HEADER_SIZE:
        raise InvalidBlob(f"lzss stream of {len(stream)} bytes is shorter than its {STREAM_HEADER_SIZE}-byte header")
    version = int.from_bytes(stream[:2], "big")
    if version != STREAM_VERSION:
        raise InvalidBlob(f"unsupported lzss stream version {version} (expected {STREAM_VERSION})")
    flag = stream[2]
    if flag == 1:
        data = stream[STREAM_HEADER_SIZE:]
        if max_size is not None and len(data) > max_size:
            raise InvalidBlob(f"uncompressed payload of {len(data)} bytes exceeds the expected {max_size}")
        return data
    if flag != 0:
        raise InvalidBlob(f"lzss noCompression flag must be 0 or 1, got {flag}")
    return _decode_tokens(stream[STREAM_HEADER_SIZE:], prepare_dictionary(dictionary), max_size)


def _decode_tokens(body: bytes, dictionary: bytes, max_size: int | None) -> bytes:
    window = bytearray(dictionary)
    base = len(dictionary)
    limit = base + (max_size if max_size is not None else 1 << 62)
    total_bits = 8 * len(body)
    data = body + bytes(8)  # every read below takes 6 bytes; the padding is never taken as data
    pos = 0
    while pos + 8 <= total_bits:
        q = pos >> 3
        r = pos & 7
        v = int.from_bytes(data[q : q + 6], "big")
        byte = (v >> (40 - r)) & 0xFF
        if byte < SHORT_REF:
            window.append(byte)
            pos += 8
        else:
            length = ((v >> (32 - r)) & 0xFF) + 1
            if byte == SHORT_REF:
                width = SHORT_COST
                distance = ((v >> (18 - r)) & (SHORT_WINDOW - 1)) + 1
                if distance > len(window) - base:
                    raise InvalidBlob(
                        f"short reference at bit {pos} reaches {distance} bytes back but only "
                        f"{len(window) - base} bytes have been output"
                    )
            else:
                width = LONG_COST
                distance = ((v >> (11 - r)) & (LONG_WINDOW - 1)) + 1
                if distance > len(window):
                    raise InvalidBlob(
                        f"dictionary reference at bit {pos} reaches {distance} bytes back, before the start "
                        f"of the {base}-byte dictionary"
                    )
            if pos + width > total_bits:
                raise InvalidBlob(f"lzss stream truncated inside a reference at bit {pos}")
            pos += width
            start = len(window) - distance
            if distance >= length:
                window += window[start : start + length]
            else:  # overlapping copy: the source pattern repeats with period `distance`
                pattern = window[start:]
                window += (pattern * (length // distance + 1))[:length]
        if len(window) > limit:
            raise InvalidBlob(f"lzss stream decodes to more than the expected {max_size} bytes")
    if total_bits - pos and (data[pos >> 3] & (0xFF >> (pos & 7))):
        raise InvalidBlob("lzss stream ends with non-zero padding bits (truncated or corrupt)")
    return bytes(window[base:])


# -- encoding ---------------------------------------------------------------------------------------


class LzssCompressor:
    """Incremental lzss writer: `write` appends data to one stream, `rollback` undoes writes since `begin`.

    The whole history (dictionary then everything written) stays searchable, so later blocks find
    matches in earlier ones; `chain_depth` bounds how many earlier positions with the same 4-byte
    prefix are tried per position (speed against ratio).
    """

    def __init__(self, dictionary: bytes, chain_depth: int = DEFAULT_CHAIN_DEPTH) -> None:
        self._window = bytearray(prepare_dictionary(dictionary))
        self._base = len(self._window)
        self._depth = chain_depth
        self._table: dict[bytes, list[int]] = {}
        self._indexed = 0  # positions below this are in the table
        self._out = bytearray()
        self._acc = 0  # pending bits not yet flushed to _out
        self._nacc = 0
        self._log: list[bytes] | None = None
        self._mark: tuple[int, int, int, int, int] | None = None
        self._index_to(self._base - KEY_SIZE + 1)

    # -- state ---------------------------------------------------------------------------------------

    @property
    def raw_size(self) -> int:
        """Bytes written so far (uncompressed)."""
        return len(self._window) - self._base

    @property
    def size(self) -> int:
        """Bytes of the stream so far, header included, the last byte padded."""
        return STREAM_HEADER_SIZE + len(self._out) + (self._nacc + 7) // 8

    def stream(self) -> bytes:
        """The stream so far: header, tokens, zero padding to a whole byte."""
        tail = b""
        if self._nacc:
            nbytes = (self._nacc + 7) // 8
            tail = (self._acc << (8 * nbytes - self._nacc)).to_bytes(nbytes, "big")
        return STREAM_VERSION.to_bytes(2, "big") + b"\x00" + bytes(self._out) + tail

    def begin(self) -> None:
        """Remember the current state; the next `rollback` returns to it (one level, no nesting)."""
        self._mark = (len(self._window), len(self._out), self._acc, self._nacc, self._indexed)
        self._log = []

    def commit(self) -> None:
        """Keep everything written since `begin`."""
        self._mark = None
        self._log = None

    def rollback(self) -> None:
        """Forget everything written since `begin`."""
        if self._mark is None or self._log is None:
            raise RuntimeError("rollback without begin")
        window_len, out_len, self._acc, self._nacc, self._indexed = self._mark
        table = self._table
        for key in reversed(self._log):
            chain = table[key]
            chain.pop()
            if not chain:
                del table[key]
        del self._window[window_len:]
        del self._out[out_len:]
        self.commit()

    # -- writing -------------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Compress `data` as the continuation of everything written before."""
        if not data:
            return
        start = len(self._window)
        if start - self._base + len(data) > LONG_WINDOW - self._base:
            raise BlobTooLarge(
                f"lzss input beyond {LONG_WINDOW - self._base} bytes: references could not reach the dictionary"
            )
        self._window += data
        self._encode(start, len(self._window))

    def _index_to(self, end: int) -> None:
        """Insert positions [_indexed, end) into the hash chains (end must leave a full key)."""
        i = self._indexed
        if end <= i:
            return
        window = self._window
        table = self._table
        log = self._log
        segment = bytes(window[i : end + KEY_SIZE - 1])
        for j in range(end - i):
            key = segment[j : j + KEY_SIZE]
            chain = table.get(key)
            if chain is None:
                table[key] = [i + j]
            else:
                chain.append(i + j)
            if log is not None:
                log.append(key)
        self._indexed = end

    def _emit(self, value: int, bits: int) -> None:
        self._acc = (self._acc << bits) | value
        self._nacc += bits
        if self._nacc >= 512:
            whole = self._nacc >> 3
            rest = self._nacc - 8 * whole
            self._out += (self._acc >> rest).to_bytes(whole, "big")
            self._acc &= (1 << rest) - 1
            self._nacc = rest

    def _longest(self, i: int, end: int) -> tuple[int, int, int]:
        """(gain in bits, distance, length) of the best reference at i; gain ≤ 0 means none pays."""
        window = self._window
        max_len = min(MAX_MATCH, end - i)
        if max_len < KEY_SIZE:
            return 0, 0, 0
        chain = self._table.get(bytes(window[i : i + KEY_SIZE]))
        if not chain:
            return 0, 0, 0
        out_start = self._base
        best_gain = best_dist = best_len = 0
        lowest = i - LONG_WINDOW
        for p in chain[-1 : -self._depth - 1 : -1]:
            if p < lowest:
                break
            if best_len:
                if best_len >= max_len or window[p + best_len] != window[i + best_len]:
                    continue
                if window[p : p + best_len] != window[i : i + best_len]:
                    continue
                lo = best_len + 1
            else:
                lo = KEY_SIZE
            if window[p : p + max_len] == window[i : i + max_len]:
                length = max_len
            else:  # window[p:p+lo] matches, window[p:p+max_len] does not: bisect the match length
                hi = max_len
                while hi - lo > 1:
                    mid = (lo + hi) >> 1
                    if window[p + lo : p + mid] == window[i + lo : i + mid]:
                        lo = mid
                    else:
                        hi = mid
                length = lo
            distance = i - p
            cost = SHORT_COST if p >= out_start and distance <= SHORT_WINDOW else LONG_COST
            gain = LITERAL_COST * length - cost
            if gain > best_gain:
                best_gain, best_dist, best_len = gain, distance, length
                if length == max_len:
                    break
        return best_gain, best_dist, best_len

    def _escape(self, i: int, end: int) -> tuple[int, int]:
        """(distance, length) of a reference for a 0xFE/0xFF byte that has no paying match.

        Tries the longest of 3, 2 and 1 bytes that occur earlier within reach.
        """
        window = self._window
        lowest = max(0, i - LONG_WINDOW)
        for length in (3, 2, 1):
            if i + length > end:
                continue
            p = window.rfind(window[i : i + length], lowest, i + length - 1)
            if p >= 0:
                return i - p, length
        raise BlobTooLarge(f"byte 0x{window[i]:02x} has no earlier occurrence within reach of a reference")

    def _emit_reference(self, i: int, distance: int, length: int) -> None:
        if i - distance >= self._base and distance <= SHORT_WINDOW:
            self._emit(_SHORT_PREFIX | ((length - 1) << SHORT_OFFSET_BITS) | (distance - 1), SHORT_COST)
        else:
            self._emit(_LONG_PREFIX | ((length - 1) << LONG_OFFSET_BITS) | (distance - 1), LONG_COST)

    def _encode(self, start: int, end: int) -> None:
        window = self._window
        index_end = end - KEY_SIZE + 1
        i = start
        pending: tuple[int, int, int] | None = None  # the lazy step's lookup at i, reused
        while i < end:
            self._index_to(min(i, index_end))
            gain, distance, length = pending if pending is not None else self._longest(i, end)
            pending = None
            byte = window[i]
            if gain > 0 and byte < SHORT_REF and length < MAX_MATCH and i + 1 < end:
                self._index_to(min(i + 1, index_end))
                following = self._longest(i + 1, end)
                if following[0] > gain:  # lazy step: a literal here buys a better match next
                    self._emit(byte, LITERAL_COST)
                    i += 1
                    pending = following
                    continue
            if gain > 0:
                self._emit_reference(i, distance, length)
                i += length
            elif byte >= SHORT_REF:
                distance, length = self._escape(i, end)
                self._emit_reference(i, distance, length)
                i += length
            else:
                self._emit(byte, LITERAL_COST)
                i += 1
        self._index_to(index_end)


def compress(data: bytes, dictionary: bytes, chain_depth: int = DEFAULT_CHAIN_DEPTH) -> bytes:
    """One lzss stream (header included) for `data`, compressed against `dictionary`."""
    compressor = LzssCompressor(dictionary, chain_depth)
    compressor.write(data)
    return compressor.stream()


def store(data: bytes) -> bytes:
    """The uncompressed form of the stream (noCompression = 1): header then `data` as it is."""
    return STREAM_VERSION.to_bytes(2, "big") + b"\x01" + bytes(data)
