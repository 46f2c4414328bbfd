"""How the coordinator and the postman open their SQLite records and write to them.

One connection per store, shared by its threads under one lock. WAL lets reads run beside a write;
synchronous=FULL makes a COMMIT survive a power cut, which both stores rely on (a request file or a
claim in flight is never forgotten). Autocommit mode leaves transactions to `transaction`, whose
BEGIN IMMEDIATE takes the write lock up front, so a write never fails half-way for want of it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def open_database(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating the folder and the tables if missing) the database at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    """Everything written inside the block is committed together, or not at all if it raises."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
