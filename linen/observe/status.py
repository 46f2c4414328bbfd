"""The pipeline as an operator looks at it: blocks → batches → blobs → proofs → finalized on L1.

`PipelineView` reads what the process holds (the chain's head, the coordinator's store, the prover
controller's recent jobs, the postman's store, every actor's health) into one JSON picture, the
answer of `linen_pipelineStatus`; the dashboard (`/dashboard`) and `linen status` both draw it. It
also keeps a timeline of the last hour: sealed blocks (from the producer's listener) and every change
of state of a batch, blob or aggregation (seen by comparing one picture with the last), so the
timeline starts when the process does.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

TIMELINE_SECONDS = 3600.0
RECENT = 8  # rows per stage, jobs, messages


def _range(row: Any) -> list[int]:
    return [row.start, row.end]


class PipelineView:
    """One process's picture. The node makes it; the devnet attaches its pipeline's parts."""

    def __init__(self, head: Callable[[], Any], health: Callable[[], dict], clock: Callable[[], float] = time.time):
        self._head = head  # () -> the head block's header
        self._health = health
        self._clock = clock
        self.coordinator: Any = None
        self.controller: Any = None
        self.postman: Any = None
        self.endpoints: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._blocks: deque[tuple[float, int, int]] = deque()  # (time, number, transactions)
        self._events: deque[dict] = deque()
        self._last_states: dict[tuple[str, int], tuple[str, float]] = {}  # row -> (status, when first seen)

    def attach(self, *, coordinator: Any = None, controller: Any = None, postman: Any = None,
               endpoints: dict[str, Any] | None = None) -> None:
        self.coordinator, self.controller, self.postman = coordinator, controller, postman
        self.endpoints.update(endpoints or {})

    def on_block(self, block: Any) -> None:
        """The producer's listener: one point on the timeline per sealed block."""
        now = self._clock()
        with self._lock:
            self._blocks.append((now, block.header.block_number, len(block.transactions)))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._blocks and now - self._blocks[0][0] > TIMELINE_SECONDS:
            self._blocks.popleft()
        while self._events and now - self._events[0]["time"] > TIMELINE_SECONDS:
            self._events.popleft()

    # -- the picture ---------------------------------------------------------------------------------
    def snapshot(self, block: int | None = None) -> dict:
        """Everything the dashboard shows; with `block`, where that block has got to."""
        now = self._clock()
        head = self._head()
        picture: dict[str, Any] = {
            "time": now,
            "endpoints": self.endpoints,
            "head": {"number": head.block_number, "timestamp": head.timestamp, "age": max(0.0, now - head.timestamp)},
            "health": self._health(),
        }
        store = self.coordinator.store if self.coordinator is not None else None
        if store is not None:
            batches, blobs, aggregations = store.batches(), store.blobs(), store.aggregations()
            self._note_changes(now, batches, blobs, aggregations)
            picture["batches"] = self._stage(batches, store.counts("batches"))
            picture["blobs"] = self._stage(blobs, store.counts("blobs"), tx=lambda r: r.submission_tx)
            picture["aggregations"] = self._stage(aggregations, store.counts("aggregations"),
                                                  tx=lambda r: r.finalization_tx)
            finalized = [a for a in aggregations if a.status == "finalized"]
            picture["finalized"] = {"block": finalized[-1].end if finalized else 0,
                                    "tx": finalized[-1].finalization_tx if finalized else None,
                                    "age": self._age_of(("aggregations", finalized[-1].start), now) if finalized
                                    else None}
            if block is not None:
                picture["tracked"] = self._track(block, head.block_number, batches, blobs, aggregations)
        elif block is not None:
            picture["tracked"] = {"block": block, "stage": "sealed" if block <= head.block_number else "not sealed yet",
                                  "steps": []}
        if self.controller is not None:
            picture["provers"] = self._provers(now)
        if self.postman is not None:
            picture["bridge"] = {"counts": self.postman.store.counts(),
                                 "recent": [_message(m) for m in self.postman.store.recent(RECENT)]}
        with self._lock:
            self._trim(now)
            picture["timeline"] = {"seconds": TIMELINE_SECONDS,
                                   "blocks": [[t, n, k] for t, n, k in self._blocks],
                                   "events": list(self._events)}
        return picture

    def _stage(self, rows: list, counts: dict[str, int], tx: Callable[[Any], str | None] = lambda _r: None) -> dict:
        return {"counts": counts, "total": len(rows),
                "recent": [{"range": _range(r), "status": r.status, "tx": tx(r),
                            "age": self._age_of((self._kind(r), r.start), self._clock())}
                           for r in reversed(rows[-RECENT:])]}

    @staticmethod
    def _kind(row: Any) -> str:
        return {"BatchRow": "batches", "BlobRow": "blobs", "AggregationRow": "aggregations"}[type(row).__name__]

    def _note_changes(self, now: float, *tables: list) -> None:
        with self._lock:
            for rows in tables:
                for row in rows:
                    key = (self._kind(row), row.start)
                    if self._last_states.get(key, ("", 0.0))[0] != row.status:
                        self._last_states[key] = (row.status, now)
                        self._events.append({"time": now, "kind": key[0], "range": _range(row), "status": row.status})

    def _age_of(self, key: tuple[str, int], now: float) -> float | None:
        """Seconds since the row's current state was first seen (None before this process saw the row)."""
        with self._lock:
            seen = self._last_states.get(key)
        return round(now - seen[1], 1) if seen else None

    @staticmethod
    def _track(block: int, head: int, batches: list, blobs: list, aggregations: list) -> dict:
        """Where `block` is: each step it has passed, the last one named as its stage."""
        steps: list[dict] = []
        if block <= head:
            steps.append({"step": "sealed", "range": [block, block]})
        batch = next((b for b in batches if b.start <= block <= b.end), None)
        if batch is not None:
            steps.append({"step": "in a batch", "range": _range(batch)})
            if batch.status != "requested":
                steps.append({"step": "execution proven", "range": _range(batch)})
        blob = next((b for b in blobs if b.start <= block <= b.end), None)
        if blob is not None:
            steps.append({"step": "in a blob", "range": _range(blob)})
            if blob.status == "submitted":
                steps.append({"step": "blob on L1", "range": _range(blob), "tx": blob.submission_tx})
        aggregation = next((a for a in aggregations if a.start <= block <= a.end), None)
        if aggregation is not None:
            steps.append({"step": "in an aggregation", "range": _range(aggregation)})
            if aggregation.status in ("proven", "finalized"):
                steps.append({"step": "aggregation proven", "range": _range(aggregation)})
            if aggregation.status == "finalized":
                steps.append({"step": "finalized on L1", "range": _range(aggregation), "tx": aggregation.finalization_tx})
        stage = steps[-1]["step"] if steps else "not sealed yet"
        return {"block": block, "stage": stage, "steps": steps}

    def _provers(self, now: float) -> dict:
        c = self.controller
        jobs = [{"request": r.request, "kind": r.kind.value, "outcome": r.outcome, "exitCode": r.exit_code,
                 "seconds": round(r.seconds, 2)} for r in list(c.results)[-RECENT:]]
        return {"id": c.local_id, "current": c.current.name if c.current else None, "recent": jobs[::-1],
                "done": len(c.results)}


def _message(m: Any) -> dict:
    return {"direction": m.direction, "status": m.status, "messageNumber": m.nonce, "hash": "0x" + m.message_hash.hex(),
            "sentBlock": m.sent_block, "claimTx": m.claim_tx, "updatedAt": m.updated_at}


def pipeline_status_handler(view: PipelineView) -> Callable[[Any, list], dict]:
    """`linen_pipelineStatus([block])`: the picture; with a block number (hex or integer), where it has got to."""
    from linen.errors import InvalidParams

    def handler(_backend: Any, params: list) -> dict:
        if len(params) > 1:
            raise InvalidParams("linen_pipelineStatus takes at most one parameter, a block number")
        block = None
        if params and params[0] is not None:
            raw = params[0]
            try:
                block = int(raw, 16) if isinstance(raw, str) else int(raw)
            except (TypeError, ValueError):
                raise InvalidParams(f"linen_pipelineStatus: {str(raw)[:40]!r} is not a block number") from None
            if isinstance(raw, bool) or not 0 <= block < 2**63:
                raise InvalidParams("linen_pipelineStatus: the block number is out of range")
        return view.snapshot(block)

    return handler
