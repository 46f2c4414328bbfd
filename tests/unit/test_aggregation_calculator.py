"""The aggregation calculator: proof, blob, target and time limits over consecutive proven blobs."""

from __future__ import annotations

import pytest

from linen.coordinator.aggregation import AggregationSettings, AggregationTrigger, Aggregator, ProvenBlob


def blobs(*sizes: tuple[int, int]) -> list[ProvenBlob]:
    """Consecutive blobs from block 1: each (blocks, batches)."""
    out, start = [], 1
    for blocks, batches in sizes:
        out.append(ProvenBlob(start, start + blocks - 1, 100 + start, 100 + start + blocks - 1, batches))
        start += blocks
    return out


def run(aggregator: Aggregator, items: list[ProvenBlob]):
    return [(a.start, a.end, a.trigger) for b in items for a in aggregator.add(b)]


def test_proof_limit_exact_and_before_an_overflowing_blob():
    # costs 3, 3 -> 6 == limit: closes with the second blob; then 2 + 5 > 6 closes before the blob of cost 5
    agg = Aggregator(AggregationSettings(proofs_limit=6), 1)
    got = run(agg, blobs((2, 2), (2, 2), (1, 1), (4, 4)))
    assert got == [(1, 4, AggregationTrigger.PROOF_LIMIT), (5, 5, AggregationTrigger.PROOF_LIMIT)]
    assert [(b.start, b.end) for b in agg.pending] == [(6, 9)]


def test_blob_limit_and_target_block():
    agg = Aggregator(AggregationSettings(blobs_limit=2, target_end_blocks=frozenset({3})), 1)
    got = run(agg, blobs((3, 1), (1, 1), (1, 1), (1, 1)))
    assert got == [(1, 3, AggregationTrigger.TARGET_BLOCK_NUMBER), (4, 5, AggregationTrigger.BLOB_LIMIT)]


def test_time_limit_and_order():
    agg = Aggregator(AggregationSettings(deadline_s=10), 1)
    first = blobs((2, 1))[0]  # starts at timestamp 101
    agg.add(first)
    assert agg.check_time(111.0) == []
    assert [(a.start, a.end, a.trigger) for a in agg.check_time(111.5)] == [(1, 2, AggregationTrigger.TIME_LIMIT)]
    assert agg.check_time(10_000.0) == []
    with pytest.raises(ValueError):
        agg.add(ProvenBlob(5, 6, 0, 0, 1))  # block 3 is next
