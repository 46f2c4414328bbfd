"""The embedded store: one LMDB environment under the data dir, with named tables.

LMDB gives what the node needs for crash safety: a write transaction is atomic and durable on
commit, so a block (its state trie nodes, header, body, receipts, indexes and the new head pointer)
is either wholly on disk or not at all, even under `kill -9`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb
from eth.db.backends.base import BaseDB

TABLES = ("state", "headers", "canonical", "bodies", "receipts", "txindex", "diffs", "meta", "traces", "exclusions")
DEFAULT_MAP_SIZE = 1 << 40  # 1 TiB of address space; the file grows only as data is written


class KeyValueStore:
    """The LMDB environment with the node's tables."""

    def __init__(self, path: Path, map_size: int = DEFAULT_MAP_SIZE) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.env = lmdb.open(str(path), map_size=map_size, max_dbs=len(TABLES) + 4, subdir=True, sync=True)
        self.tables = {name: self.env.open_db(name.encode()) for name in TABLES}

    def get(self, table: str, key: bytes) -> bytes | None:
        with self.env.begin(db=self.tables[table]) as txn:
            return txn.get(key)

    def write(self, puts: Iterable[tuple[str, bytes, bytes]]) -> None:
        """Apply all puts in one durable transaction."""
        with self.env.begin(write=True) as txn:
            for table, key, value in puts:
                txn.put(key, value, db=self.tables[table])

    @contextmanager
    def reader(self) -> Iterator[lmdb.Transaction]:
        with self.env.begin() as txn:
            yield txn

    def close(self) -> None:
        self.env.close()


class StateNodeReader(BaseDB):
    """Read-only view of the `state` table (trie nodes and code by hash) for py-evm."""

    def __init__(self, store: KeyValueStore) -> None:
        self._store = store
        self._db = store.tables["state"]

    def __getitem__(self, key: bytes) -> bytes:
        with self._store.env.begin(db=self._db, buffers=False) as txn:
            value = txn.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def _exists(self, key: bytes) -> bool:
        with self._store.env.begin(db=self._db) as txn:
            return txn.get(key) is not None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        raise TypeError("the state table is written only through a block commit")

    def __delitem__(self, key: bytes) -> None:
        raise TypeError("the state table is append-only")


class OverlayDB(BaseDB):
    """Writes kept in memory over a read-only base: block building and eth_call work on one.

    Deletes are ignored: trie nodes are content-addressed and kept forever (archive node), so a
    node dropped from one trie may still belong to another.
    """

    def __init__(self, base: BaseDB) -> None:
        self.base = base
        self.writes: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self.writes.get(key)
        if value is not None:
            return value
        return self.base[key]

    def _exists(self, key: bytes) -> bool:
        return key in self.writes or key in self.base

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def __delitem__(self, key: bytes) -> None:
        pass
