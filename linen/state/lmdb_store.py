"""The state manager's persistent store: every zk tree and every block's record in one LMDB file.

Keys are ordered bytes, so a tree's hkeys sit sorted under its namespace and a key's neighbours are
found with a cursor (`set_range`) instead of a scan. All writes of a block (tree nodes, leaves, keys,
dropped storage trees, the block's traces and zk root, the "last applied" pointer) go through one
write transaction opened by `batch()`: LMDB commits it atomically, so a crash (even `kill -9`) in the
middle of a block leaves the store exactly at the previous complete block. Writing outside a batch
is refused, which keeps that guarantee from being lost by accident.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb

from linen.errors import OperationalError
from linen.state.model import FlatLeaf, LeafOpening
from linen.state.store import NodeStore

DEFAULT_MAP_SIZE = 1 << 40  # address space only; the file grows with the data
TREE_TABLES = ("nodes", "leaves", "flat", "nextfree")
TABLES = (*TREE_TABLES, "blocks", "traces", "meta")
LAST_APPLIED = b"last-applied"


def _number(value: int) -> bytes:
    return value.to_bytes(8, "big")


class LmdbStateStore:
    """The LMDB environment and the current block batch (one write transaction), if any."""

    def __init__(self, path: Path, map_size: int = DEFAULT_MAP_SIZE) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.env = lmdb.open(str(path), map_size=map_size, max_dbs=len(TABLES) + 2, subdir=True, sync=True)
        self.dbs = {name: self.env.open_db(name.encode()) for name in TABLES}
        # The open write transaction belongs to the thread that began it (the applying worker); RPC
        # threads reading meanwhile get their own read transaction on the last committed block.
        self._local = threading.local()

    @property
    def _txn(self) -> lmdb.Transaction | None:
        return getattr(self._local, "txn", None)

    @_txn.setter
    def _txn(self, txn: lmdb.Transaction | None) -> None:
        self._local.txn = txn

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One atomic write transaction; an exception inside aborts every write made in it."""
        if self._txn is not None:
            raise OperationalError("state store batches do not nest")
        txn = self.env.begin(write=True)
        self._txn = txn
        try:
            yield
        except BaseException:
            txn.abort()
            raise
        else:
            txn.commit()
        finally:
            self._txn = None

    @property
    def in_batch(self) -> bool:
        return self._txn is not None

    def _writer(self) -> lmdb.Transaction:
        if self._txn is None:
            raise OperationalError("the state store is written only inside a block batch")
        return self._txn

    def get(self, table: str, key: bytes) -> bytes | None:
        db = self.dbs[table]
        if self._txn is not None:
            return self._txn.get(key, db=db)
        with self.env.begin(db=db) as txn:
            return txn.get(key)

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self._writer().put(key, value, db=self.dbs[table])

    def delete(self, table: str, key: bytes) -> None:
        self._writer().delete(key, db=self.dbs[table])

    @contextmanager
    def cursor(self, table: str) -> Iterator[lmdb.Cursor]:
        db = self.dbs[table]
        if self._txn is not None:
            with self._txn.cursor(db=db) as cur:
                yield cur
            return
        with self.env.begin(db=db) as txn, txn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self.env.close()

    # -- the forest ---------------------------------------------------------------------------

    def tree_store(self, namespace: bytes) -> NodeStore:
        return LmdbNodeStore(self, namespace)

    def drop_tree(self, namespace: bytes) -> None:
        txn = self._writer()
        for table in TREE_TABLES:
            with txn.cursor(db=self.dbs[table]) as cur:
                if not cur.set_range(namespace):
                    continue
                while cur.key().startswith(namespace):
                    if not cur.delete():  # delete moves to the next record; False at the end
                        break

    # -- block records ------------------------------------------------------------------------

    def put_block(self, number: int, block_hash: bytes, root: bytes, traces: bytes) -> None:
        """Record a block's hash, zk root and encoded traces, and make it the last applied block."""
        self.put("blocks", _number(number), block_hash + root)
        self.put("traces", _number(number), traces)
        self.put("meta", LAST_APPLIED, _number(number) + block_hash)

    def block(self, number: int) -> tuple[bytes, bytes] | None:
        """(block hash, zk root after the block) of an applied block."""
        data = self.get("blocks", _number(number))
        return None if data is None else (data[:32], data[32:64])

    def traces(self, number: int) -> bytes | None:
        return self.get("traces", _number(number))

    def last_applied(self) -> tuple[int, bytes] | None:
        data = self.get("meta", LAST_APPLIED)
        return None if data is None else (int.from_bytes(data[:8], "big"), data[8:])


class LmdbNodeStore:
    """One tree's `NodeStore` view: every key is prefixed with the tree's 21-byte namespace."""

    def __init__(self, store: LmdbStateStore, namespace: bytes) -> None:
        self.s = store
        self.ns = namespace

    def get_node(self, depth: int, index: int) -> bytes | None:
        return self.s.get("nodes", self.ns + bytes((depth,)) + index.to_bytes(5, "big"))

    def put_node(self, depth: int, index: int, node_hash: bytes) -> None:
        self.s.put("nodes", self.ns + bytes((depth,)) + index.to_bytes(5, "big"), node_hash)

    def delete_node(self, depth: int, index: int) -> None:
        self.s.delete("nodes", self.ns + bytes((depth,)) + index.to_bytes(5, "big"))

    def get_leaf(self, leaf_index: int) -> LeafOpening | None:
        data = self.s.get("leaves", self.ns + _number(leaf_index))
        return None if data is None else LeafOpening.decode(data)

    def put_leaf(self, leaf_index: int, leaf: LeafOpening) -> None:
        self.s.put("leaves", self.ns + _number(leaf_index), leaf.encode())

    def delete_leaf(self, leaf_index: int) -> None:
        self.s.delete("leaves", self.ns + _number(leaf_index))

    def get_flat(self, hkey: bytes) -> FlatLeaf | None:
        data = self.s.get("flat", self.ns + hkey)
        return None if data is None else FlatLeaf(int.from_bytes(data[:8], "big"), data[8:])

    def put_flat(self, hkey: bytes, flat: FlatLeaf) -> None:
        self.s.put("flat", self.ns + hkey, _number(flat.leaf_index) + flat.value)

    def delete_flat(self, hkey: bytes) -> None:
        self.s.delete("flat", self.ns + hkey)

    def neighbours(self, hkey: bytes) -> tuple[bytes | None, bytes | None]:
        key, ns, n = self.ns + hkey, self.ns, len(self.ns)
        with self.s.cursor("flat") as cur:
            found = cur.set_range(key)
            above = None
            if found:
                k = cur.key()
                if k == key:
                    k = cur.key() if cur.next() else None
                above = k[n:] if k is not None and k.startswith(ns) else None
                moved = cur.set_range(key) and cur.prev()
            else:
                moved = cur.last()
            k = cur.key() if moved else None
            below = k[n:] if k is not None and k.startswith(ns) and k < key else None
        return below, above

    def get_next_free_node(self) -> int | None:
        data = self.s.get("nextfree", self.ns)
        return None if data is None else int.from_bytes(data, "big")

    def set_next_free_node(self, value: int) -> None:
        self.s.put("nextfree", self.ns, _number(value))
