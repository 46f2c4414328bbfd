"""The postman's records in SQLite: one row per message it has seen, and how far it has read each chain.

A row's status says what the postman did and why (Linea's names). Rows are keyed by direction and
hash: the hash does not name the chain, so a deposit and a withdrawal with the same sender,
recipient, fee, value, nonce and calldata (the two chains count nonces apart) share it. The claim transaction's nonce
is written (PENDING) before anything is sent, so after a crash the postman knows a claim may be in
flight and settles it from the chain instead of sending a second one. Discovered messages and the
cursor that found them are written in one transaction: a restart never skips or double-counts logs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from linen.bridge.logs import SentMessage
from linen.sqlite_store import open_database, transaction

SENT, ANCHORED, PENDING = "SENT", "ANCHORED", "PENDING"
CLAIMED_SUCCESS, CLAIMED_REVERTED = "CLAIMED_SUCCESS", "CLAIMED_REVERTED"
NON_EXECUTABLE, ZERO_FEE, FEE_UNDERPRICED = "NON_EXECUTABLE", "ZERO_FEE", "FEE_UNDERPRICED"
STATUSES = (SENT, ANCHORED, PENDING, CLAIMED_SUCCESS, CLAIMED_REVERTED, NON_EXECUTABLE, ZERO_FEE, FEE_UNDERPRICED)
L1_TO_L2, L2_TO_L1 = "L1_TO_L2", "L2_TO_L1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_hash TEXT NOT NULL, direction TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
    fee TEXT NOT NULL, value TEXT NOT NULL, nonce INTEGER NOT NULL, calldata TEXT NOT NULL,
    sent_block INTEGER NOT NULL, sent_log_index INTEGER NOT NULL, sent_tx TEXT NOT NULL,
    status TEXT NOT NULL, claim_nonce INTEGER, claim_gas INTEGER, claim_txs TEXT NOT NULL DEFAULT '[]',
    attempts INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (direction, message_hash)
);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (direction, status, sent_block, sent_log_index);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, next_block INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class MessageRow:
    message_hash: bytes
    direction: str
    sender: str
    recipient: str
    fee: int
    value: int
    nonce: int
    calldata: bytes
    sent_block: int
    sent_log_index: int
    sent_tx: str
    status: str
    claim_nonce: int | None
    claim_gas: int | None
    claim_txs: tuple[str, ...]
    attempts: int
    reason: str
    updated_at: float

    @property
    def claim_tx(self) -> str | None:
        """The claim transaction that was mined, or the last one sent."""
        return self.claim_txs[-1] if self.claim_txs else None

    def to_json(self) -> dict:
        """The row as `linen_getMessageStatus` answers it."""
        return {
            "messageHash": "0x" + self.message_hash.hex(),
            "direction": self.direction,
            "status": self.status,
            "from": self.sender,
            "to": self.recipient,
            "fee": hex(self.fee),
            "value": hex(self.value),
            "messageNumber": hex(self.nonce),
            "calldata": "0x" + self.calldata.hex(),
            "sentBlockNumber": hex(self.sent_block),
            "sentTransactionHash": self.sent_tx,
            "claimTransactionHash": self.claim_tx,
            "claimTransactionHashes": list(self.claim_txs),
            "attempts": self.attempts,
            "reason": self.reason,
            "updatedAt": int(self.updated_at),
        }


_COLUMNS = ("message_hash, direction, sender, recipient, fee, value, nonce, calldata, sent_block, sent_log_index, "
            "sent_tx, status, claim_nonce, claim_gas, claim_txs, attempts, reason, updated_at")


def _row(values: tuple) -> MessageRow:
    (message_hash, direction, sender, recipient, fee, value, nonce, calldata, sent_block, sent_log_index, sent_tx,
     status, claim_nonce, claim_gas, claim_txs, attempts, reason, updated_at) = values
    return MessageRow(bytes.fromhex(message_hash[2:]), direction, sender, recipient, int(fee), int(value), nonce,
                      bytes.fromhex(calldata[2:]), sent_block, sent_log_index, sent_tx, status, claim_nonce,
                      claim_gas, tuple(json.loads(claim_txs)), attempts, reason, updated_at)


class PostmanStore:
    def __init__(self, path: Path) -> None:
        self._db = open_database(path, SCHEMA)
        self._lock = threading.Lock()  # the two directions and the RPC server share the connection

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- discovery ----------------------------------------------------------------------------------
    def cursor(self, name: str, default: int) -> int:
        with self._lock:
            found = self._db.execute("SELECT next_block FROM cursors WHERE name = ?", (name,)).fetchone()
        return found[0] if found else default

    def add_sent(self, direction: str, messages: Iterable[SentMessage], cursor: str, next_block: int) -> None:
        """Record newly seen messages as SENT (known ones are left alone) and move the cursor, atomically."""
        now = time.time()
        rows = [("0x" + m.message_hash.hex(), direction, m.sender, m.recipient, str(m.fee), str(m.value), m.nonce,
                 "0x" + m.calldata.hex(), m.block_number, m.log_index, m.transaction_hash, SENT, now, now)
                for m in messages]
        with transaction(self._db, self._lock) as db:
            db.executemany(
                "INSERT OR IGNORE INTO messages (message_hash, direction, sender, recipient, fee, value, nonce, "
                "calldata, sent_block, sent_log_index, sent_tx, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("INSERT INTO cursors (name, next_block) VALUES (?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET next_block = excluded.next_block", (cursor, next_block))

    # -- reads --------------------------------------------------------------------------------------
    def get(self, direction: str, message_hash: bytes) -> MessageRow | None:
        with self._lock:
            found = self._db.execute(f"SELECT {_COLUMNS} FROM messages WHERE direction = ? AND message_hash = ?",
                                     (direction, "0x" + bytes(message_hash).hex())).fetchone()
        return _row(found) if found else None

    def find(self, message_hash: bytes) -> list[MessageRow]:
        """The rows of this hash in either direction (usually one)."""
        with self._lock:
            found = self._db.execute(f"SELECT {_COLUMNS} FROM messages WHERE message_hash = ? ORDER BY direction",
                                     ("0x" + bytes(message_hash).hex(),)).fetchall()
        return [_row(r) for r in found]

    def with_status(self, direction: str, status: str, limit: int = 1000) -> list[MessageRow]:
        """Rows of one direction and status, oldest message first."""
        with self._lock:
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE direction = ? AND status = ? "
                "ORDER BY sent_block, sent_log_index LIMIT ?", (direction, status, limit)).fetchall()
        return [_row(r) for r in found]

    def recent(self, limit: int = 10) -> list[MessageRow]:
        """The rows changed last, newest first (the dashboard's bridge panel)."""
        with self._lock:
            found = self._db.execute(f"SELECT {_COLUMNS} FROM messages ORDER BY updated_at DESC LIMIT ?",  # noqa: S608
                                     (limit,)).fetchall()
        return [_row(values) for values in found]

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            found = self._db.execute("SELECT direction, status, COUNT(*) FROM messages GROUP BY direction, status")
            out: dict[str, dict[str, int]] = {}
            for direction, status, count in found.fetchall():
                out.setdefault(direction, {})[status] = count
        return out

    # -- transitions --------------------------------------------------------------------------------
    def set_status(self, direction: str, message_hash: bytes, status: str, reason: str = "", *,
                   claim_tx: str | None = None, count_attempt: bool = False) -> None:
        """Move a message to `status`; `claim_tx` is appended to its claim transactions if new."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        key = "0x" + bytes(message_hash).hex()
        with transaction(self._db, self._lock) as db:
            hashes = self._claim_txs(db, direction, key)
            if claim_tx and claim_tx not in hashes:
                hashes.append(claim_tx)
            db.execute(
                "UPDATE messages SET status = ?, reason = ?, claim_txs = ?, attempts = attempts + ?, "
                "updated_at = ? WHERE direction = ? AND message_hash = ?",
                (status, reason[:500], json.dumps(hashes), int(count_attempt), time.time(), direction, key))

    def mark_pending(self, direction: str, message_hash: bytes, nonce: int, gas: int, tx_hash: str) -> None:
        """Before sending: the claim will use `nonce` (and is expected to hash to `tx_hash`)."""
        key = "0x" + bytes(message_hash).hex()
        with transaction(self._db, self._lock) as db:
            hashes = [*self._claim_txs(db, direction, key), tx_hash]
            db.execute(
                "UPDATE messages SET status = ?, claim_nonce = ?, claim_gas = ?, claim_txs = ?, "
                "attempts = attempts + 1, reason = '', updated_at = ? WHERE direction = ? AND message_hash = ?",
                (PENDING, nonce, gas, json.dumps(hashes), time.time(), direction, key))

    def add_claim_txs(self, direction: str, message_hash: bytes, tx_hashes: Iterable[str]) -> None:
        """Remember replacements sent for a PENDING claim (any of them may be the one mined)."""
        row = self.get(direction, message_hash)
        if row is None:
            return
        new = [h for h in tx_hashes if h not in row.claim_txs]
        if new:
            with self._lock:
                self._db.execute(
                    "UPDATE messages SET claim_txs = ?, updated_at = ? WHERE direction = ? AND message_hash = ?",
                    (json.dumps([*row.claim_txs, *new]), time.time(), direction, "0x" + row.message_hash.hex()))

    @staticmethod
    def _claim_txs(db: sqlite3.Connection, direction: str, key: str) -> list[str]:
        (txs,) = db.execute("SELECT claim_txs FROM messages WHERE direction = ? AND message_hash = ?",
                            (direction, key)).fetchone()
        return json.loads(txs)
