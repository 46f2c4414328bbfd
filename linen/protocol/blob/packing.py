"""254-bit packing: how blob bytes become field elements and back.

A blob is 4096 elements of the BLS12-381 scalar field, written as 32-byte big-endian words. The
field is 255 bits wide but not every 255-bit value is in it, so blob v1 stores 254 bits per word
(the top two bits of each word stay zero) and concatenates the bit string of
`header || payload || 0xFF` across words; the last word is zero-padded. The 0xFF terminator is what
tells a reader where the data ends: after it only zero bits follow, so the last non-zero byte of the
unpacked stream must be 0xFF.

The same "bit string cut into fixed-width chunks, one per 32-byte word" operation appears with
252-bit chunks in the snark hash and the dictionary checksum, so it is written once here for any
width, working on groups of lcm(width, 8) bits at a time to stay linear in the data size.
"""

from __future__ import annotations

from math import gcd

from linen.protocol.blob.errors import BlobTooLarge, InvalidBlob

BLOB_SIZE = 131072
WORD_SIZE = 32
WORDS_PER_BLOB = BLOB_SIZE // WORD_SIZE  # 4096
PACKING_BITS = 254
TERMINATOR = 0xFF

# Bytes of header || payload one blob can carry: 4096·254 bits hold 130048 bytes, one is the terminator.
MAX_UNPACKED_SIZE = WORDS_PER_BLOB * PACKING_BITS // 8 - 1  # 130047


def _group(chunk_bits: int) -> tuple[int, int]:
    """(bytes, chunks) of the smallest whole-byte group made of whole chunks."""
    group_bits = chunk_bits * 8 // gcd(chunk_bits, 8)
    return group_bits // 8, group_bits // chunk_bits


def bits_to_words(data: bytes, chunk_bits: int) -> list[bytes]:
    """Cut the bits of `data` (MSB first) into `chunk_bits`-wide chunks, one 32-byte word each.

    The last chunk is zero-padded on the right; ceil(8·len(data) / chunk_bits) words come out.
    """
    if not 0 < chunk_bits <= 256:
        raise ValueError(f"chunk width must be 1..256 bits, got {chunk_bits}")
    group_bytes, per_group = _group(chunk_bits)
    count = -(-len(data) * 8 // chunk_bits)
    padded = bytes(data) + bytes(-len(data) % group_bytes)
    mask = (1 << chunk_bits) - 1
    shifts = [chunk_bits * (per_group - 1 - k) for k in range(per_group)]
    words: list[bytes] = []
    for start in range(0, len(padded), group_bytes):
        value = int.from_bytes(padded[start : start + group_bytes], "big")
        words.extend(((value >> s) & mask).to_bytes(WORD_SIZE, "big") for s in shifts)
    return words[:count]


def words_to_bits(words: bytes, chunk_bits: int) -> bytes:
    """The inverse of `bits_to_words` on concatenated words: whole bytes of their low `chunk_bits` bits.

    Trailing bits that do not fill a byte are dropped. Words with bits set above `chunk_bits` are
    refused, because the packing never produces them and silently dropping them would let two
    different blobs read as the same data.
    """
    if len(words) % WORD_SIZE:
        raise InvalidBlob(f"packed data must be whole 32-byte words, got {len(words)} bytes")
    group_bytes, per_group = _group(chunk_bits)
    limit = 1 << chunk_bits
    out = bytearray()
    values = [int.from_bytes(words[i : i + WORD_SIZE], "big") for i in range(0, len(words), WORD_SIZE)]
    for index, value in enumerate(values):
        if value >= limit:
            raise InvalidBlob(f"word {index} has bits set above bit {chunk_bits}: not {chunk_bits}-bit packed data")
    values.extend([0] * (-len(values) % per_group))
    for start in range(0, len(values), per_group):
        group = 0
        for value in values[start : start + per_group]:
            group = (group << chunk_bits) | value
        out += group.to_bytes(group_bytes, "big")
    return bytes(out[: len(words) // WORD_SIZE * chunk_bits // 8])


def packed_size(unpacked_len: int) -> int:
    """Bytes that `header || payload` of this length occupies once packed: 32·ceil(8·(n+1)/254).

    The +1 is the terminator. This is the size the compressor compares with its limit, and it is
    the length of `compressedData` in a compression request.
    """
    return WORD_SIZE * -(-8 * (unpacked_len + 1) // PACKING_BITS)


def pack(data: bytes) -> bytes:
    """`data || 0xFF` packed 254 bits per word (not padded to a full blob)."""
    if len(data) > MAX_UNPACKED_SIZE:
        raise BlobTooLarge(f"{len(data)} bytes do not fit in a blob (at most {MAX_UNPACKED_SIZE} before packing)")
    return b"".join(bits_to_words(bytes(data) + bytes([TERMINATOR]), PACKING_BITS))


def pad_blob(packed: bytes) -> bytes:
    """Packed bytes zero-extended to the 131072 bytes of a blob (what KZG commits to)."""
    if len(packed) > BLOB_SIZE:
        raise BlobTooLarge(f"{len(packed)} packed bytes exceed a blob ({BLOB_SIZE})")
    return bytes(packed) + bytes(BLOB_SIZE - len(packed))


def pack_blob(data: bytes) -> bytes:
    """A full 131072-byte blob holding `data`."""
    return pad_blob(pack(data))


def unpack(packed: bytes) -> bytes:
    """`header || payload` from packed bytes (a full blob or just its packed words).

    Refuses words with their top two bits set and data without the 0xFF terminator.
    """
    if len(packed) > BLOB_SIZE:
        raise InvalidBlob(f"packed data is {len(packed)} bytes, more than a blob ({BLOB_SIZE})")
    stream = words_to_bits(packed, PACKING_BITS).rstrip(b"\x00")
    if not stream or stream[-1] != TERMINATOR:
        raise InvalidBlob("no 0xFF terminator after the blob data: not a blob v1 packing (or truncated)")
    return stream[:-1]
