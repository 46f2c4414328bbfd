"""Conflation: cutting the stream of sealed L2 blocks into batches (one execution proof each) and blobs.

Blocks come strictly in order. Before a block joins the open batch, every limit is checked against
it; if any would be broken, the batch closes at the previous block with the most important trigger
(Linea's priorities: TARGET_BLOCK_NUMBER, then DATA_LIMIT, TRACES_LIMIT, TIME_LIMIT, BLOCKS_LIMIT) and
the block starts the next batch. One `BlobCompressor` holds the blob under construction, so the
DATA_LIMIT question ("does this block still fit?") is answered with the real compressed size.

A closing batch also seals the blob when the trigger is about data or time (DATA_LIMIT, TIME_LIMIT,
TARGET_BLOCK_NUMBER) or the blob holds `batches_limit` batches; otherwise the blob gets a new batch,
and is sealed anyway if the pending block no longer fits in it. TIME_LIMIT fires from `check_time`,
on a timer: the batch's first block is older than the deadline, no block has come since the last
one conflated, and that block is older than the confirmation delay.

This module holds no I/O: the coordinator feeds it blocks and acts on the batches and blobs it returns.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from linen.errors import OperationalError
from linen.execution.tracer.counts import conflate_counts
from linen.protocol.blob import BlobBlock, BlobCompressor, SealedBlob


class Trigger(enum.IntEnum):
    """Why a batch closed; the value is Linea's priority (lower wins when several fire at once)."""

    TARGET_BLOCK_NUMBER = 1
    DATA_LIMIT = 4
    TRACES_LIMIT = 5
    TIME_LIMIT = 6
    BLOCKS_LIMIT = 7


BLOB_SEALING_TRIGGERS = frozenset({Trigger.DATA_LIMIT, Trigger.TIME_LIMIT, Trigger.TARGET_BLOCK_NUMBER})


class BlockOutOfOrder(OperationalError):
    """A block handed to conflation is not the next one."""


@dataclass(frozen=True)
class ConflationBlock:
    """A sealed block as conflation needs it: its number, time, trace counts and blob encoding input."""

    number: int
    timestamp: int
    counts: Mapping[str, int]
    blob_block: BlobBlock


@dataclass(frozen=True)
class Batch:
    start: int
    end: int
    trigger: Trigger


@dataclass(frozen=True)
class Blob:
    """A sealed blob: the block range, its batches (in order) and the compressor's output."""

    start: int
    end: int
    start_timestamp: int
    end_timestamp: int
    batches: tuple[Batch, ...]
    sealed: SealedBlob


@dataclass(frozen=True)
class ConflationSettings:
    blocks_limit: int = 100
    deadline_s: float = 30.0
    last_block_confirmation_delay_s: float = 2.0
    batches_limit: int = 10
    target_end_blocks: frozenset[int] = frozenset()
    traces_limits: Mapping[str, int] = field(default_factory=dict)


@dataclass
class ConflationOutput:
    """What one step produced, in order: closed batches and sealed blobs."""

    batches: list[Batch] = field(default_factory=list)
    blobs: list[Blob] = field(default_factory=list)


class Conflator:
    """The open batch and the blob under construction; `add` and `check_time` advance them."""

    def __init__(self, settings: ConflationSettings, compressor: BlobCompressor, next_block: int) -> None:
        self.settings = settings
        self.compressor = compressor
        self.next_block = next_block
        self._blocks: list[ConflationBlock] = []  # the open batch
        self._counts: dict[str, int] = {}
        self._blob_batches: list[Batch] = []  # closed batches of the open blob
        self._blob_first: ConflationBlock | None = None
        self._blob_last: ConflationBlock | None = None

    @property
    def open_batch(self) -> tuple[int, int] | None:
        return (self._blocks[0].number, self._blocks[-1].number) if self._blocks else None

    def add(self, block: ConflationBlock) -> ConflationOutput:
        """Conflate the next block; returns the batches it closed and the blobs it sealed."""
        if block.number != self.next_block:
            raise BlockOutOfOrder(f"conflation expects block {self.next_block}, got {block.number}")
        out = ConflationOutput()
        trigger = self._overflow(block)
        if trigger is not None:
            self._close(trigger, out)
            if not self.compressor.is_empty and not self.compressor.can_append(block.blob_block):
                self._seal(out)
        if not self.compressor.append(block.blob_block):
            raise OperationalError(
                f"block {block.number} does not fit in an empty blob; the sequencer's compressed-size rule should prevent it"
            )
        self._blocks.append(block)
        self._counts = conflate_counts(self._counts, block.counts)
        self._blob_first = self._blob_first or block
        self._blob_last = block
        self.next_block += 1
        return out

    def check_time(self, now: float, latest_block: int, latest_timestamp: int) -> ConflationOutput:
        """The TIME_LIMIT timer: close (and seal) a batch that has waited long enough for more blocks."""
        out = ConflationOutput()
        if not self._blocks:
            return out
        settings = self.settings
        if (
            now > self._blocks[0].timestamp + settings.deadline_s
            and latest_block == self._blocks[-1].number
            and now - settings.last_block_confirmation_delay_s > latest_timestamp
        ):
            self._close(Trigger.TIME_LIMIT, out)
        return out

    def _overflow(self, block: ConflationBlock) -> Trigger | None:
        if not self._blocks:
            return None
        fired: list[Trigger] = []
        if block.number - 1 in self.settings.target_end_blocks:
            fired.append(Trigger.TARGET_BLOCK_NUMBER)
        if not self.compressor.can_append(block.blob_block):
            fired.append(Trigger.DATA_LIMIT)
        limits = self.settings.traces_limits
        together = conflate_counts(self._counts, block.counts)
        if any(together[m] > limits[m] for m in block.counts if m in limits):
            fired.append(Trigger.TRACES_LIMIT)
        if len(self._blocks) >= self.settings.blocks_limit:
            fired.append(Trigger.BLOCKS_LIMIT)
        return min(fired) if fired else None

    def _close(self, trigger: Trigger, out: ConflationOutput) -> None:
        batch = Batch(self._blocks[0].number, self._blocks[-1].number, trigger)
        out.batches.append(batch)
        self._blocks, self._counts = [], {}
        self._blob_batches.append(batch)
        if trigger in BLOB_SEALING_TRIGGERS or len(self._blob_batches) >= self.settings.batches_limit:
            self._seal(out)
        else:
            self.compressor.start_new_batch()

    def _seal(self, out: ConflationOutput) -> None:
        first, last = self._blob_first, self._blob_last
        assert first is not None and last is not None and self._blob_batches
        sealed = self.compressor.seal()
        out.blobs.append(
            Blob(first.number, last.number, first.timestamp, last.timestamp, tuple(self._blob_batches), sealed)
        )
        self._blob_batches = []
        self._blob_first = self._blob_last = None
