"""Blob v1 codec: round-trips (hypothesis), the compressor's append rules, and refusals of corrupt blobs."""

from __future__ import annotations

import random
from functools import cache

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linen.devaccounts import dev_accounts
from linen.errors import InvalidInput
from linen.protocol.blob import (
    BLOB_SIZE,
    MAX_UNPACKED_SIZE,
    BlobBlock,
    BlobCompressor,
    BlobHeader,
    BlobTooLarge,
    InvalidBlob,
    decode_blob,
    decode_blocks,
    decode_header,
    encode_block,
    linen_dictionary,
    pack,
    pack_blob,
    packed_size,
    signing_payload,
    unpack,
)
from linen.protocol.blob.dictionary import build_dictionary
from linen.protocol.blob.header import header_size
from linen.protocol.blob.lzss import LzssCompressor, compress, decompress, prepare_dictionary, store
from linen.protocol.blob.packing import bits_to_words, words_to_bits
from linen.protocol.blob.snark_hash import SNARK_HASH_ELEMENTS, compute_snark_hash, snark_hash_words
from linen.state.hashers import get_hasher

MIMC = get_hasher("mimc-bls12-377")
CHAIN_ID = 59139
EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


# --- packing -----------------------------------------------------------------------------------------


@EXAMPLES
@given(st.binary(max_size=3000))
def test_pack_round_trip(data):
    packed = pack(data)
    assert len(packed) == packed_size(len(data))
    assert unpack(packed) == data
    assert unpack(pack_blob(data)) == data
    assert all(word[0] < 0x40 for word in (packed[i : i + 32] for i in range(0, len(packed), 32)))


@EXAMPLES
@given(st.binary(max_size=500), st.sampled_from([252, 254, 256, 8, 13]))
def test_bit_chunks_round_trip(data, width):
    words = bits_to_words(data, width)
    assert len(words) == -(-8 * len(data) // width)
    assert words_to_bits(b"".join(words), width)[: len(data)] == data


def test_blob_capacity_boundary():
    assert len(pack(bytes(MAX_UNPACKED_SIZE))) == BLOB_SIZE
    with pytest.raises(BlobTooLarge):
        pack(bytes(MAX_UNPACKED_SIZE + 1))


def test_unpack_refuses_bad_packing():
    with pytest.raises(InvalidBlob, match="terminator"):
        unpack(bytes(BLOB_SIZE))
    with pytest.raises(InvalidBlob, match="bits set above"):
        unpack(b"\xc0" + bytes(31))
    with pytest.raises(InvalidBlob, match="whole 32-byte words"):
        unpack(pack(b"abc")[:-1])
    with pytest.raises(InvalidBlob, match="more than a blob"):
        unpack(bytes(BLOB_SIZE + 32))


def test_snark_hash_absorbs_4129_elements():
    assert SNARK_HASH_ELEMENTS == 4129
    words = snark_hash_words(pack(b"hello"))
    assert len(words) == 4129 and all(int.from_bytes(w, "big") < 1 << 252 for w in words)
    assert compute_snark_hash(pack(b"hello"), MIMC) == compute_snark_hash(pack_blob(b"hello"), MIMC)


# --- header ------------------------------------------------------------------------------------------


@EXAMPLES
@given(st.binary(min_size=32, max_size=32), st.lists(st.integers(0, 0xFFFFFF), max_size=40), st.binary(max_size=20))
def test_header_round_trip(checksum, lengths, rest):
    header = BlobHeader(checksum, tuple(lengths))
    encoded = header.encode()
    assert encoded[:2] == b"\xff\xff" and len(encoded) == header.size
    assert decode_header(encoded + rest) == (header, header.size)


def test_header_refusals():
    good = BlobHeader(bytes(32), (5, 6)).encode()
    with pytest.raises(InvalidBlob, match="version"):
        decode_header(b"\xff\xfe" + good[2:])
    with pytest.raises(InvalidBlob, match="batch table"):
        decode_header(good[:-1])
    with pytest.raises(InvalidBlob, match="shorter"):
        decode_header(good[:10])
    with pytest.raises(BlobTooLarge):
        BlobHeader(bytes(32), (1 << 24,))


# --- lzss --------------------------------------------------------------------------------------------

# bytes that stress the format: runs, the two marker bytes, repeats of earlier data
_stream_data = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from([b"\xfe", b"\xff", b"\xfe\xff" * 3, bytes(300), b"\xff" * 70]),
        st.integers(1, 600).map(lambda n: bytes(range(256)) * (n // 256) + bytes(range(n % 256))),
    ),
    max_size=30,
).map(b"".join)


@cache
def _dictionaries() -> dict[str, bytes]:
    rng = random.Random(7)
    no_markers = bytes(b for b in rng.randbytes(3000) if b < 0xFE)
    return {"empty": b"", "no-markers": no_markers, "linen": linen_dictionary()}


@EXAMPLES
@given(_stream_data, st.sampled_from(["empty", "no-markers", "linen"]), st.sampled_from([1, 4, 32]))
def test_lzss_round_trip(data, dictionary_name, depth):
    dictionary = _dictionaries()[dictionary_name]
    stream = compress(data, dictionary, chain_depth=depth)
    assert stream[:3] == b"\x00\x01\x00"
    assert decompress(stream, dictionary) == data
    assert decompress(store(data), dictionary) == data


@EXAMPLES
@given(st.lists(_stream_data, min_size=1, max_size=5), st.integers(0, 4))
def test_lzss_incremental_writes_and_rollback(chunks, undo_at):
    dictionary = _dictionaries()["no-markers"]
    compressor = LzssCompressor(dictionary)
    written = b""
    for index, chunk in enumerate(chunks):
        before = compressor.stream()
        if index == undo_at:
            compressor.begin()
            compressor.write(chunk + b"\xfe\x00\x00\x00 throwaway \xff")
            compressor.rollback()
            assert compressor.stream() == before
        compressor.begin()
        compressor.write(chunk)
        compressor.commit()
        written += chunk
        assert compressor.raw_size == len(written)
        assert len(compressor.stream()) == compressor.size
        assert decompress(compressor.stream(), dictionary) == written
    # a rolled-back write leaves no trace: the same writes without it give the same stream
    fresh = LzssCompressor(dictionary)
    for chunk in chunks:
        fresh.write(chunk)
    assert fresh.stream() == compressor.stream()


def test_dictionary_gets_markers_only_when_missing():
    assert prepare_dictionary(b"abc") == b"abc\xfe\xff"
    assert prepare_dictionary(b"a\xffb\xfec") == b"a\xffb\xfec"
    assert linen_dictionary().endswith(b"\xfe\xff") and len(linen_dictionary()) == 65536


def test_lzss_uses_the_dictionary():
    dictionary = bytes(range(200)) * 3
    data = bytes(range(10, 150))
    assert len(compress(data, dictionary)) < 20 < len(compress(data, b""))


def _tokens(*parts: tuple[int, int]) -> bytes:
    """An lzss stream from (value, bit width) pairs, zero-padded."""
    value = bits = 0
    for v, width in parts:
        value = (value << width) | v
        bits += width
    pad = -bits % 8
    return b"\x00\x01\x00" + (value << pad).to_bytes((bits + pad) // 8, "big")


def test_lzss_decoder_refusals():
    with pytest.raises(InvalidBlob, match="version"):
        decompress(b"\x00\x02\x00", b"")
    with pytest.raises(InvalidBlob, match="flag"):
        decompress(b"\x00\x01\x02", b"")
    with pytest.raises(InvalidBlob, match="shorter"):
        decompress(b"\x00", b"")
    # a short reference cannot reach into the dictionary, nor before any output
    with pytest.raises(InvalidBlob, match="short reference"):
        decompress(_tokens((0x41, 8), (0xFE, 8), (0, 8), (1, 14)), b"xyz")
    # a long reference may reach the dictionary, but not before it
    assert decompress(_tokens((0xFF, 8), (1, 8), (4, 21)), b"xyz") == b"xy"  # dictionary is xyz FE FF
    with pytest.raises(InvalidBlob, match="before the start"):
        decompress(_tokens((0xFF, 8), (0, 8), (5, 21)), b"xyz")
    with pytest.raises(InvalidBlob, match="truncated"):
        decompress(_tokens((0x41, 8), (0xFE, 8), (0, 8))[:-1], b"")
    with pytest.raises(InvalidBlob, match="expected 4"):
        decompress(compress(bytes(100), b""), b"", max_size=4)


def test_lzss_padding_bits_must_be_zero():
    stream = _tokens((0x41, 8), (0xFE, 8), (2, 8), (0, 14))  # 'A' then 3 copies of it: 38 bits
    assert decompress(stream, b"") == b"AAAA"
    corrupted = stream[:-1] + bytes([stream[-1] | 0x01])
    with pytest.raises(InvalidBlob, match="padding"):
        decompress(corrupted, b"")


# --- block encoding ----------------------------------------------------------------------------------


def _sign(tx: dict, index: int = 0) -> tuple[bytes, bytes]:
    account = dev_accounts()[index]
    signed = Account.sign_transaction(tx, account.private_key)
    return bytes.fromhex(account.address[2:]), bytes(signed.raw_transaction)


def _transactions(rng: random.Random, count: int) -> tuple[tuple[bytes, bytes], ...]:
    out = []
    recipient = "0x" + "11" * 20
    for n in range(count):
        kind = rng.randrange(5)
        base = {"nonce": n, "gas": 21000 + rng.randrange(100000), "value": rng.randrange(10**18)}
        base["data"] = rng.randbytes(rng.choice([0, 4, 68, 300]))
        base["to"] = recipient
        if kind == 0:
            tx = {**base, "gasPrice": 10**9, "chainId": CHAIN_ID}
        elif kind == 1:
            tx = {**base, "gasPrice": 10**9}  # unprotected legacy (no chain id in the signature)
        elif kind == 2:
            tx = {**base, "gasPrice": 10**9, "chainId": CHAIN_ID, "accessList": [{"address": recipient, "storageKeys": ["0x" + "00" * 31 + "01"]}], "type": 1}  # fmt: skip
        elif kind == 3:
            tx = {**base, "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": CHAIN_ID, "type": 2}
        else:
            tx = {**base, "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": CHAIN_ID, "type": 2}
            del tx["to"]  # contract creation
        out.append(_sign(tx, rng.randrange(10)))
    return tuple(out)


def _blocks(seed: int, count: int, txs: int = 4) -> list[BlobBlock]:
    rng = random.Random(seed)
    return [
        BlobBlock(1_750_000_000 + 2 * i, rng.randbytes(32), _transactions(rng, rng.randrange(txs + 1)))
        for i in range(count)
    ]


def test_block_encoding_round_trip_and_signing_payload():
    blocks = _blocks(1, 12)
    encoded = b"".join(encode_block(b) for b in blocks)
    decoded = decode_blocks(encoded)
    assert len(decoded) == len(blocks)
    for block, back in zip(blocks, decoded, strict=True):
        assert (back.timestamp, back.block_hash) == (block.timestamp, block.block_hash)
        for (sender, envelope), tx in zip(block.transactions, back.transactions, strict=True):
            assert tx.sender == sender
            assert tx.signing_payload == signing_payload(envelope)
            # the payload is exactly what was signed: the signature recovers the sender from its hash
            original = Account.recover_transaction(envelope)
            assert bytes.fromhex(original[2:]) == sender
            vrs = _signature(envelope)
            assert Account._recover_hash(keccak(tx.signing_payload), vrs=vrs) == original


def _signature(envelope: bytes) -> tuple[int, int, int]:
    fields = rlp.decode(envelope if envelope[0] >= 0xC0 else envelope[1:])
    v, r, s = (int.from_bytes(f, "big") for f in fields[-3:])
    if envelope[0] >= 0xC0:
        v = 27 + ((v - 35) % 2 if v >= 35 else v - 27)
    else:
        v += 27
    return v, r, s


def test_block_encoding_layout_and_fields():
    sender, envelope = _sign(
        {"nonce": 7, "gas": 50000, "value": 5, "data": b"\x01\x02", "to": "0x" + "22" * 20, "gasPrice": 9, "chainId": CHAIN_ID}
    )  # fmt: skip
    block = BlobBlock(1234, b"\xaa" * 32, ((sender, envelope),))
    encoded = encode_block(block)
    assert encoded[:2] == b"\x00\x01" and encoded[2:6] == (1234).to_bytes(4, "big") and encoded[6:38] == b"\xaa" * 32
    assert encoded[38:58] == sender
    payload = encoded[58:]
    assert rlp.decode(payload)[6:] == [CHAIN_ID.to_bytes(2, "big"), b"", b""]
    (tx,) = decode_blocks(encoded)[0].transactions
    assert tx.tx_type == 0 and tx.chain_id == CHAIN_ID
    assert tx.fields == {"nonce": 7, "gas_price": 9, "gas": 50000, "to": b"\x22" * 20, "value": 5, "data": b"\x01\x02", "chain_id": CHAIN_ID}  # fmt: skip


def test_block_encoding_refusals():
    sender, envelope = _sign(
        {"nonce": 0, "gas": 21000, "value": 0, "to": "0x" + "22" * 20, "gasPrice": 1, "chainId": 1}
    )
    with pytest.raises(InvalidInput, match="sender"):
        encode_block(BlobBlock(1, bytes(32), ((sender[:19], envelope),)))
    with pytest.raises(InvalidInput, match="block hash"):
        encode_block(BlobBlock(1, bytes(31), ()))
    with pytest.raises(BlobTooLarge):
        encode_block(BlobBlock(1 << 32, bytes(32), ()))
    with pytest.raises(InvalidInput, match="type 3"):
        signing_payload(b"\x03" + rlp.encode([]))
    with pytest.raises(InvalidInput, match="9 fields"):
        signing_payload(rlp.encode([b"", b""]))
    good = encode_block(BlobBlock(1, bytes(32), ((sender, envelope),)))
    with pytest.raises(InvalidBlob):
        decode_blocks(good[:-1])
    with pytest.raises(InvalidBlob, match="announces 2 transactions"):
        decode_blocks(b"\x00\x02" + good[2:])
    with pytest.raises(InvalidBlob, match="unknown transaction type"):
        decode_blocks(good[:58] + b"\x09" + good[59:])


# --- the blob compressor -----------------------------------------------------------------------------


@cache
def _sample_blocks() -> list[BlobBlock]:
    return _blocks(3, 40, txs=6)


def _state(c: BlobCompressor) -> tuple:
    return (c.packed(), c.batch_count, c.block_count, c.raw_size, c.header())


def test_compressor_appends_batches_and_decodes():
    compressor = BlobCompressor(linen_dictionary(), MIMC)
    blocks = _sample_blocks()
    compressor.start_new_batch()  # nothing open: no effect
    for i, block in enumerate(blocks[:9]):
        if i in (3, 7):
            compressor.start_new_batch()
        assert compressor.append(block)
    compressor.start_new_batch()
    compressor.start_new_batch()  # an empty batch is never written
    assert compressor.batch_count == 3 and compressor.batch_block_counts == (3, 4, 2)
    sealed = compressor.seal()
    assert compressor.is_empty and compressor.batch_count == 0
    assert sealed.compressed and len(sealed.blob) == BLOB_SIZE
    decoded = decode_blob(sealed.packed, linen_dictionary(), MIMC)
    assert [len(batch) for batch in decoded.batches] == [3, 4, 2]
    assert decoded.payload == b"".join(encode_block(b) for b in blocks[:9])
    assert decoded.header.batch_lengths == tuple(
        len(b"".join(encode_block(b) for b in part)) for part in (blocks[:3], blocks[3:7], blocks[7:9])
    )


def test_can_append_does_not_mutate():
    compressor = BlobCompressor(linen_dictionary(), MIMC)
    blocks = _sample_blocks()
    for block in blocks[:5]:
        compressor.append(block)
    before = _state(compressor)
    assert compressor.can_append(blocks[5])
    assert _state(compressor) == before
    # and appending afterwards gives what appending directly gives
    direct = BlobCompressor(linen_dictionary(), MIMC)
    for block in blocks[:6]:
        direct.append(block)
    compressor.append(blocks[5])
    assert compressor.packed() == direct.packed()


def test_raw_limit_refuses_and_keeps_the_blob():
    blocks = _sample_blocks()
    first = len(encode_block(blocks[0]))
    compressor = BlobCompressor(linen_dictionary(), MIMC, raw_limit=39 + first + 10)
    assert compressor.append(blocks[0])
    before = _state(compressor)
    big = next(b for b in blocks[1:] if len(encode_block(b)) > 10)
    assert not compressor.can_append(big)
    assert not compressor.append(big)
    assert _state(compressor) == before


def test_size_limit_refuses_and_keeps_the_blob():
    compressor = BlobCompressor(linen_dictionary(), MIMC, size_limit=1024)
    appended = 0
    for block in _sample_blocks():
        before = _state(compressor)
        if not compressor.append(block):
            assert _state(compressor) == before
            break
        appended += 1
        assert compressor.packed_size <= 1024 and len(compressor.packed()) == compressor.packed_size
    assert 0 < appended < len(_sample_blocks())
    decoded = decode_blob(compressor.packed(), linen_dictionary(), MIMC)
    assert len(decoded.blocks) == appended


def _first_block_where_recompressing_helps(blocks: list[BlobBlock]) -> tuple[int, int] | None:
    """(index, packed size of a fresh compression) of the first block whose incremental append is bigger."""
    compressor = BlobCompressor(linen_dictionary(), MIMC)
    raw = b""
    for index, block in enumerate(blocks):
        compressor.append(block)
        raw += encode_block(block)
        fresh = packed_size(header_size(1) + len(compress(raw, linen_dictionary())))
        if compressor.packed_size > fresh:
            return index, fresh
    return None


def test_recompressing_everything_at_once_when_the_increment_does_not_fit():
    blocks = _blocks(7, 30, txs=6)
    found = _first_block_where_recompressing_helps(blocks)
    assert found is not None, "no block in the sample where a fresh compression is smaller"
    index, fresh = found
    compressor = BlobCompressor(linen_dictionary(), MIMC, size_limit=fresh)
    for block in blocks[:index]:
        assert compressor.append(block)
    assert compressor.can_append(blocks[index])
    assert compressor.append(blocks[index])
    raw = b"".join(encode_block(b) for b in blocks[: index + 1])
    assert compressor.stream() == compress(raw, linen_dictionary())
    assert compressor.packed_size == fresh
    # later blocks continue the recompressed stream
    compressor.size_limit = BLOB_SIZE
    assert compressor.append(blocks[index + 1])
    assert decode_blob(compressor.packed(), linen_dictionary(), MIMC).payload == raw + encode_block(blocks[index + 1])


def test_bypass_stores_incompressible_data():
    rng = random.Random(11)
    sender, envelope = _sign({"nonce": 0, "gas": 10**6, "value": 0, "to": "0x" + "33" * 20, "gasPrice": 1, "chainId": CHAIN_ID, "data": bytes(rng.choice([0xFE, 0xFF]) if rng.random() < 0.2 else rng.randrange(256) for _ in range(3000))})  # fmt: skip
    block = BlobBlock(1, rng.randbytes(32), ((sender, envelope),))
    raw = len(encode_block(block))
    probe = BlobCompressor(linen_dictionary(), MIMC)
    assert probe.append(block) and probe.packed_size > packed_size(39 + 3 + raw)  # compression loses here
    exact = packed_size(39 + 3 + raw)
    compressor = BlobCompressor(linen_dictionary(), MIMC, size_limit=exact)
    assert compressor.can_append(block) and compressor.is_empty
    assert compressor.append(block)
    sealed = compressor.seal()
    assert not sealed.compressed and len(sealed.packed) == exact
    decoded = decode_blob(sealed.packed, linen_dictionary(), MIMC)
    assert not decoded.compressed and decoded.payload == encode_block(block)
    too_small = BlobCompressor(linen_dictionary(), MIMC, size_limit=exact - 32)
    assert not too_small.append(block) and too_small.is_empty


# --- corrupt blobs -----------------------------------------------------------------------------------


@cache
def _valid_packed() -> bytes:
    compressor = BlobCompressor(linen_dictionary(), MIMC)
    for i, block in enumerate(_sample_blocks()[:6]):
        if i == 3:
            compressor.start_new_batch()
        compressor.append(block)
    return compressor.packed()


@EXAMPLES
@given(st.data())
def test_corrupt_blobs_fail_cleanly(data):
    packed = bytearray(_valid_packed())
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(packed) - 1))
        packed[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.sampled_from([None, 32, len(packed) - 32]))
    if cut is not None:
        packed = packed[:cut]
    try:
        decode_blob(bytes(packed), linen_dictionary(), MIMC)
    except InvalidInput:
        pass  # any refusal is fine; an IndexError, ValueError or the like is not


@EXAMPLES
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_arbitrary_streams_and_blocks_fail_cleanly(stream, blocks):
    try:
        decompress(b"\x00\x01\x00" + stream, b"xyz", max_size=5000)
    except InvalidBlob:
        pass
    try:
        decode_blocks(blocks)
    except InvalidBlob:
        pass


def test_wrong_dictionary_is_named():
    other = build_dictionary([b"some other dictionary data" * 10], size=1024)
    with pytest.raises(InvalidBlob, match="dictionary"):
        decode_blob(_valid_packed(), other, MIMC)


def test_batch_lengths_must_match_the_payload():
    valid = decode_blob(_valid_packed(), linen_dictionary(), MIMC)
    stream = unpack(_valid_packed())[valid.header.size :]
    lengths = valid.header.batch_lengths

    def rebuilt(new_lengths):
        return pack(BlobHeader(valid.header.dictionary_checksum, new_lengths).encode() + stream)

    with pytest.raises(InvalidBlob, match="add up to"):
        decode_blob(rebuilt((lengths[0], lengths[1] + 1)), linen_dictionary(), MIMC)
    with pytest.raises(InvalidBlob, match="exceeds|more than"):
        decode_blob(rebuilt((lengths[0], lengths[1] - 1)), linen_dictionary(), MIMC)
    with pytest.raises(InvalidBlob, match="batch 0"):  # a batch boundary inside a block
        decode_blob(rebuilt((lengths[0] - 5, lengths[1] + 5)), linen_dictionary(), MIMC)


def test_build_dictionary_is_deterministic_and_ends_with_markers():
    samples = [encode_block(b) for b in _sample_blocks()[:10]]
    first = build_dictionary(samples, size=4096)
    assert first == build_dictionary(samples, size=4096)
    assert len(first) == 4096 and first.endswith(b"\xfe\xff")
    data = b"".join(encode_block(b) for b in _blocks(5, 3))
    assert len(compress(data, first)) < len(compress(data, b""))
