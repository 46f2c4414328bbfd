"""Conflation: batch and blob boundaries for every trigger, Linea's priorities, and blobs that decode back."""

from __future__ import annotations

import os
import random

import pytest
from eth_account import Account

from linen.coordinator.conflation import (
    BlockOutOfOrder,
    ConflationBlock,
    ConflationSettings,
    Conflator,
    Trigger,
)
from linen.protocol.blob import BlobBlock, BlobCompressor, decode_blob, linen_dictionary, signing_payload
from linen.state.hashers import get_hasher

MIMC = get_hasher("mimc-bls12-377")
KEY = Account.create("conflation").key
SENDER = bytes.fromhex(Account.from_key(KEY).address[2:])


def transfer(nonce: int, data_size: int = 0, seed: int = 0) -> bytes:
    rng = random.Random(seed * 1_000_003 + nonce)
    tx = {"chainId": 59139, "nonce": nonce, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1, "gas": 100_000,
          "to": rng.randbytes(20), "value": 1, "data": rng.randbytes(data_size)}
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


def block(number: int, txs: int = 1, data_size: int = 0, counts: dict | None = None, seed: int = 0) -> ConflationBlock:
    envelopes = tuple((SENDER, transfer(number * 100 + i, data_size, seed)) for i in range(txs))
    return ConflationBlock(number, 1000 + number, counts or {"HUB": 10}, BlobBlock(1000 + number, os.urandom(32), envelopes))


def conflator(size_limit: int = 131072, **settings) -> Conflator:
    return Conflator(ConflationSettings(**settings), BlobCompressor(linen_dictionary(), MIMC, size_limit=size_limit), 1)


def feed(c: Conflator, blocks):
    batches, blobs = [], []
    for b in blocks:
        out = c.add(b)
        batches += out.batches
        blobs += out.blobs
    return batches, blobs


def test_blocks_limit_and_batches_limit_seal_a_blob():
    c = conflator(blocks_limit=3, batches_limit=2)
    batches, blobs = feed(c, [block(n) for n in range(1, 9)])
    assert [(b.start, b.end, b.trigger) for b in batches] == [(1, 3, Trigger.BLOCKS_LIMIT), (4, 6, Trigger.BLOCKS_LIMIT)]
    assert [(b.start, b.end, [(x.start, x.end) for x in b.batches]) for b in blobs] == [(1, 6, [(1, 3), (4, 6)])]
    assert c.open_batch == (7, 8)
    decoded = decode_blob(blobs[0].sealed.packed, linen_dictionary(), MIMC)
    assert [len(batch) for batch in decoded.batches] == [3, 3]


def test_traces_limit_closes_the_batch_before_the_overflowing_block_and_keeps_a_lone_big_block():
    c = conflator(traces_limits={"HUB": 100}, blocks_limit=100)
    blocks = [block(1, counts={"HUB": 60}), block(2, counts={"HUB": 30}), block(3, counts={"HUB": 20}),
              block(4, counts={"HUB": 500}), block(5, counts={"HUB": 1})]
    batches, blobs = feed(c, blocks)
    assert [(b.start, b.end, b.trigger) for b in batches] == [(1, 2, Trigger.TRACES_LIMIT), (3, 3, Trigger.TRACES_LIMIT),
                                                               (4, 4, Trigger.TRACES_LIMIT)]
    assert blobs == []  # traces triggers do not seal the blob
    assert c.compressor.batch_count == 4  # three closed + the open one with block 5


def test_data_limit_seals_the_blob_and_the_blob_decodes_to_the_blocks():
    c = conflator(size_limit=4096, blocks_limit=1000)
    blocks = [block(n, txs=3, data_size=200, seed=7) for n in range(1, 40)]
    batches, blobs = feed(c, blocks)
    assert blobs and all(b.batches[-1].trigger == Trigger.DATA_LIMIT for b in blobs)
    assert blobs[0].start == 1 and all(a.end + 1 == b.start for a, b in zip(blobs, blobs[1:], strict=False))
    for blob in blobs:
        assert len(blob.sealed.packed) <= 4096
        decoded = decode_blob(blob.sealed.packed, linen_dictionary(), MIMC)
        originals = [b for b in blocks if blob.start <= b.number <= blob.end]
        assert [d.block_hash for d in decoded.blocks] == [o.blob_block.block_hash for o in originals]
        assert [t.signing_payload for d in decoded.blocks for t in d.transactions] == [
            signing_payload(env) for o in originals for _, env in o.blob_block.transactions
        ]


def test_target_block_number_wins_over_blocks_limit_and_seals():
    c = conflator(blocks_limit=3, target_end_blocks=frozenset({3}))
    batches, blobs = feed(c, [block(n) for n in range(1, 5)])
    assert [(b.start, b.end, b.trigger) for b in batches] == [(1, 3, Trigger.TARGET_BLOCK_NUMBER)]
    assert [(b.start, b.end) for b in blobs] == [(1, 3)]


def test_time_limit_needs_deadline_quiet_chain_and_confirmation_delay():
    c = conflator(deadline_s=10, last_block_confirmation_delay_s=2)
    feed(c, [block(1), block(2)])  # timestamps 1001, 1002
    assert c.check_time(now=1011.0, latest_block=2, latest_timestamp=1002).batches == []  # deadline not passed
    assert c.check_time(now=1012.0, latest_block=3, latest_timestamp=1011).batches == []  # a newer block exists
    assert c.check_time(now=1003.5, latest_block=2, latest_timestamp=1002).batches == []
    out = c.check_time(now=1012.0, latest_block=2, latest_timestamp=1002)
    assert [(b.start, b.end, b.trigger) for b in out.batches] == [(1, 2, Trigger.TIME_LIMIT)]
    assert [(b.start, b.end) for b in out.blobs] == [(1, 2)]
    assert c.check_time(now=2000.0, latest_block=2, latest_timestamp=1002).batches == []  # nothing open


def test_blocks_must_come_in_order():
    c = conflator()
    c.add(block(1))
    with pytest.raises(BlockOutOfOrder):
        c.add(block(3))


def test_fixed_reference_tables_count_once_per_batch():
    """Every block reports each fixed table at full size; a batch holds the table once, so it never overflows."""
    from linen.execution.tracer.modules import FIXED_TABLE_SIZES

    table, size = next(iter(FIXED_TABLE_SIZES.items()))
    c = conflator(traces_limits={table: size, "HUB": 1000}, blocks_limit=100)
    batches, _ = feed(c, [block(n, counts={table: size, "HUB": 10}) for n in range(1, 6)])
    assert batches == [] and c.open_batch == (1, 5)
