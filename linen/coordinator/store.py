"""The coordinator's own records in SQLite: batches, blobs, aggregations and their L1 submissions.

Linea keeps the same three tables in PostgreSQL; SQLite under the data dir is the embedded default.
Each row is written in one transaction once its request file exists, so after a crash the store
never names a request that was not written; anything the coordinator was doing past the last row is
redone (request names are idempotent). Status only moves forward: requested -> proven -> submitted
(blobs) / finalized (aggregations).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from linen.sqlite_store import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    start INTEGER PRIMARY KEY, end_block INTEGER NOT NULL, status TEXT NOT NULL, trigger TEXT NOT NULL,
    request_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    start INTEGER PRIMARY KEY, end_block INTEGER NOT NULL, status TEXT NOT NULL,
    start_timestamp INTEGER NOT NULL, end_timestamp INTEGER NOT NULL, batches TEXT NOT NULL,
    expected_shnarf TEXT NOT NULL, data_hash TEXT NOT NULL, request_name TEXT NOT NULL,
    submission_tx TEXT
);
CREATE TABLE IF NOT EXISTS aggregations (
    start INTEGER PRIMARY KEY, end_block INTEGER NOT NULL, status TEXT NOT NULL, trigger TEXT NOT NULL,
    blob_count INTEGER NOT NULL, request_name TEXT NOT NULL, finalization_tx TEXT
);
"""

REQUESTED, PROVEN, SUBMITTED, FINALIZED = "requested", "proven", "submitted", "finalized"
STATES = (REQUESTED, PROVEN, SUBMITTED, FINALIZED)


@dataclass(frozen=True)
class BatchRow:
    start: int
    end: int
    status: str
    trigger: str
    request_name: str


@dataclass(frozen=True)
class BlobRow:
    start: int
    end: int
    status: str
    start_timestamp: int
    end_timestamp: int
    batches: tuple[tuple[int, int], ...]
    expected_shnarf: str
    data_hash: str
    request_name: str
    submission_tx: str | None


@dataclass(frozen=True)
class AggregationRow:
    start: int
    end: int
    status: str
    trigger: str
    blob_count: int
    request_name: str
    finalization_tx: str | None


class CoordinatorStore:
    def __init__(self, path: Path) -> None:
        self._db = open_database(path, SCHEMA)
        self._lock = threading.Lock()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def close(self) -> None:
        self._db.close()

    # -- batches ------------------------------------------------------------------------------------
    def add_batch(self, start: int, end: int, trigger: str, request_name: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?)", (start, end, REQUESTED, trigger, request_name)
            )

    def batches(self, status: str | None = None) -> list[BatchRow]:
        return [BatchRow(*row) for row in self._select("batches", status)]

    def set_batch_status(self, start: int, status: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE batches SET status = ? WHERE start = ?", (status, start))

    # -- blobs --------------------------------------------------------------------------------------
    def add_blob(self, row: BlobRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.start, row.end, row.status, row.start_timestamp, row.end_timestamp, json.dumps(row.batches),
                 row.expected_shnarf, row.data_hash, row.request_name, row.submission_tx),
            )

    def blobs(self, status: str | None = None) -> list[BlobRow]:
        out = []
        for row in self._select("blobs", status):
            values = list(row)
            values[5] = tuple(tuple(b) for b in json.loads(values[5]))
            out.append(BlobRow(*values))
        return out

    def last_blob(self) -> BlobRow | None:
        blobs = self.blobs()
        return blobs[-1] if blobs else None

    def set_blob_status(self, start: int, status: str, submission_tx: str | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE blobs SET status = ?, submission_tx = COALESCE(?, submission_tx) WHERE start = ?",
                (status, submission_tx, start),
            )

    # -- aggregations -------------------------------------------------------------------------------
    def add_aggregation(self, row: AggregationRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO aggregations VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row.start, row.end, row.status, row.trigger, row.blob_count, row.request_name, row.finalization_tx),
            )

    def aggregations(self, status: str | None = None) -> list[AggregationRow]:
        return [AggregationRow(*row) for row in self._select("aggregations", status)]

    def set_aggregation_status(self, start: int, status: str, finalization_tx: str | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE aggregations SET status = ?, finalization_tx = COALESCE(?, finalization_tx) WHERE start = ?",
                (status, finalization_tx, start),
            )

    # -- restart --------------------------------------------------------------------------------------
    def delete_batches_after(self, block: int) -> None:
        """Forget batches past the last sealed blob: they are conflated again after a restart."""
        with self.transaction() as db:
            db.execute("DELETE FROM batches WHERE end_block > ?", (block,))

    def _select(self, table: str, status: str | None) -> list[tuple]:
        with self._lock:
            if status is None:
                return self._db.execute(f"SELECT * FROM {table} ORDER BY start").fetchall()  # noqa: S608
            return self._db.execute(f"SELECT * FROM {table} WHERE status = ? ORDER BY start", (status,)).fetchall()  # noqa: S608

    def counts(self, table: str) -> dict[str, int]:
        """Rows of `table` (batches, blobs or aggregations) by status."""
        if table not in ("batches", "blobs", "aggregations"):
            raise ValueError(f"no table {table}")
        with self._lock:
            rows = self._db.execute(f"SELECT status, COUNT(*) FROM {table} GROUP BY status").fetchall()  # noqa: S608
        return {status: count for status, count in rows}
