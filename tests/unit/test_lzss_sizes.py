"""The sequencer's compressed sizes come from blob v1's lzss compressor: the native sizer gives the
Python compressor's exact stream size, and a transaction alone or a block's transactions are
measured as the blob compressor would write them."""

from __future__ import annotations

import random

import linen_native  # noqa: E402  (built by ./run from native/, crates from crates.io)
import pytest

from linen.protocol.blob import linen_dictionary
from linen.protocol.blob.errors import BlobTooLarge
from linen.protocol.blob.lzss import STREAM_HEADER_SIZE, LzssCompressor
from linen.protocol.blob.sizes import BlockSizes, compressed_size


def samples(rng: random.Random, dictionary: bytes):
    while True:
        kind = rng.random()
        n = rng.randrange(1, 400)
        if kind < 0.3:
            yield bytes(rng.getrandbits(8) for _ in range(n))
        elif kind < 0.6:  # runs, and the two bytes that can only be written as references
            yield bytes(rng.choice(b"\x00\x01\x02\xfe\xff") for _ in range(n))
        else:  # text the dictionary has, and a random tail
            at = rng.randrange(0, len(dictionary) - n)
            yield dictionary[at:at + n] + bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))


def test_the_native_sizer_gives_the_python_compressors_size_through_writes_and_rollbacks():
    dictionary = linen_dictionary()
    rng = random.Random(20261203)
    data = samples(rng, dictionary)
    for _ in range(25):
        python, native = LzssCompressor(dictionary), linen_native.LzssSizer(dictionary)
        assert python.size == native.size == STREAM_HEADER_SIZE
        for _ in range(25):
            chunk = next(data)
            trial = rng.random() < 0.5
            if trial:
                python.begin()
                native.begin()
            python.write(chunk)
            native.write(chunk)
            assert native.size == python.size and native.raw_size == python.raw_size
            if trial and rng.random() < 0.5:
                python.rollback()
                native.rollback()
            elif trial:
                python.commit()
                native.commit()
            assert native.size == python.size
        assert native.size == len(python.stream())
    with pytest.raises(ValueError, match="rollback without begin"):
        linen_native.LzssSizer(dictionary).rollback()


def test_a_transaction_alone_and_a_block_are_sized_as_the_blob_compressor_writes_them():
    dictionary = linen_dictionary()
    rng = random.Random(7)
    txs = [next(samples(rng, dictionary)) for _ in range(40)]
    for tx in txs[:10]:
        alone = LzssCompressor(dictionary)
        alone.write(tx)
        assert compressed_size(tx) == alone.size - STREAM_HEADER_SIZE
    assert compressed_size(b"") == 0
    block, reference = BlockSizes(txs[:5]), LzssCompressor(dictionary)
    for tx in txs[:5]:
        reference.write(tx)
    assert block.size == reference.size - STREAM_HEADER_SIZE
    tried = block.with_(txs[5])
    block.drop()  # given back: the block is as before
    assert block.size == reference.size - STREAM_HEADER_SIZE < tried
    for tx in txs[6:]:
        block.append(tx)
        reference.write(tx)
    assert block.size == reference.size - STREAM_HEADER_SIZE
    # a whole block compresses below the sum of its transactions alone (matches across transactions)
    assert block.size < sum(compressed_size(tx) for tx in txs[:5] + txs[6:])


def test_input_beyond_the_reference_window():
    with pytest.raises(BlobTooLarge, match="references could not reach the dictionary"):
        BlockSizes([bytes(2**21)])
    assert compressed_size(bytes(2**21)) == 2**21  # counted as stored: far over any block's budget
