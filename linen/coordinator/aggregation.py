"""Aggregation: grouping consecutive proven blobs into the range one finalizeBlocks call will finalize.

Only blobs whose compression proof and every execution proof of their batches exist are fed here,
in block order. An aggregation closes when:
- PROOF_LIMIT: the proofs it aggregates reach `proofs_limit` (a blob costs its batches + 1); a blob
  that would push the count past the limit closes the open aggregation first;
- BLOB_LIMIT: it holds `blobs_limit` blobs;
- TARGET_BLOCK_NUMBER: a blob ends at one of `target_end_blocks`;
- TIME_LIMIT (timer): its first blob's first block is older than `deadline_s`.

Pure: the coordinator feeds it blobs and the clock and acts on what it returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AggregationTrigger(enum.Enum):
    PROOF_LIMIT = "PROOF_LIMIT"
    BLOB_LIMIT = "BLOB_LIMIT"
    TARGET_BLOCK_NUMBER = "TARGET_BLOCK_NUMBER"
    TIME_LIMIT = "TIME_LIMIT"


@dataclass(frozen=True)
class ProvenBlob:
    start: int
    end: int
    start_timestamp: int
    end_timestamp: int
    batch_count: int

    @property
    def proof_cost(self) -> int:
        return self.batch_count + 1


@dataclass(frozen=True)
class Aggregation:
    start: int
    end: int
    blobs: tuple[ProvenBlob, ...]
    trigger: AggregationTrigger


@dataclass(frozen=True)
class AggregationSettings:
    proofs_limit: int = 300
    blobs_limit: int = 100
    deadline_s: float = 60.0
    target_end_blocks: frozenset[int] = frozenset()


class Aggregator:
    def __init__(self, settings: AggregationSettings, next_block: int) -> None:
        if settings.proofs_limit < 2 or settings.blobs_limit < 1:
            raise ValueError("proofs_limit must be at least 2 (one batch + one blob) and blobs_limit at least 1")
        self.settings = settings
        self.next_block = next_block
        self._blobs: list[ProvenBlob] = []

    @property
    def pending(self) -> tuple[ProvenBlob, ...]:
        return tuple(self._blobs)

    def add(self, blob: ProvenBlob) -> list[Aggregation]:
        """Take the next proven blob; returns the aggregations it closed (zero, one or two)."""
        if blob.start != self.next_block:
            raise ValueError(f"aggregation expects a blob starting at block {self.next_block}, got {blob.start}")
        closed: list[Aggregation] = []
        limit = self.settings.proofs_limit
        if self._blobs and self._cost() + blob.proof_cost > limit:
            closed.append(self._close(AggregationTrigger.PROOF_LIMIT))
        self._blobs.append(blob)
        self.next_block = blob.end + 1
        if self._cost() >= limit:
            closed.append(self._close(AggregationTrigger.PROOF_LIMIT))
        elif len(self._blobs) >= self.settings.blobs_limit:
            closed.append(self._close(AggregationTrigger.BLOB_LIMIT))
        elif blob.end in self.settings.target_end_blocks:
            closed.append(self._close(AggregationTrigger.TARGET_BLOCK_NUMBER))
        return closed

    def check_time(self, now: float) -> list[Aggregation]:
        if self._blobs and now > self._blobs[0].start_timestamp + self.settings.deadline_s:
            return [self._close(AggregationTrigger.TIME_LIMIT)]
        return []

    def _cost(self) -> int:
        return sum(b.proof_cost for b in self._blobs)

    def _close(self, trigger: AggregationTrigger) -> Aggregation:
        blobs, self._blobs = tuple(self._blobs), []
        return Aggregation(blobs[0].start, blobs[-1].end, blobs, trigger)
