"""Polling filters (eth_newFilter & co.) for clients without WebSocket, e.g. ethers over HTTP.

Filters are lazy: each remembers the last block it delivered and reads the store on poll, so
installing one costs nothing per block. A filter not polled for `filter_timeout_seconds` is removed
(by the server's sweep and on every filter call), and at most `max_filters` may exist, so abandoned
clients cannot grow the node's memory.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linen.rpc.backend import RpcBackend
from linen.rpc.errors import InvalidParams, LimitExceeded, ServerError
from linen.rpc.format import d
from linen.rpc.logs import LogCriteria, check_filter_object, parse_criteria, query_logs, scan_logs
from linen.rpc.params import expect, resolve_block_number, show

BLOCKS, LOGS, PENDING = "blocks", "logs", "pending"


@dataclass
class _Filter:
    kind: str
    last_block: int  # the last block whose changes were delivered
    last_poll: float
    spec: dict[str, Any] = field(default_factory=dict)  # the original log filter object
    criteria: LogCriteria | None = None
    pool_snapshot: set[bytes] = field(default_factory=set)


def new_id() -> str:
    """A random 128-bit id, as geth's rpc.NewID (ids must not be guessable across clients)."""
    return "0x" + secrets.token_hex(16)


def _pool_hashes(backend: RpcBackend) -> set[bytes]:
    content = backend.pool.content()
    return {ptx.hash for kind in content.values() for txs in kind.values() for ptx in txs.values()}


def _bound(backend: RpcBackend, value: object, name: str, default: int) -> int:
    """A filter's fromBlock/toBlock at poll time; "latest" means "as new blocks come", i.e. no bound."""
    if value is None or value in ("latest", "pending"):
        return default
    return resolve_block_number(backend, value, name)


class FilterManager:
    """The installed filters of one server; its methods are the RPC handlers (backend, params)."""

    def __init__(self, backend: RpcBackend, clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.clock = clock
        self.filters: dict[str, _Filter] = {}

    def expire(self) -> int:
        """Drop filters not polled within the timeout; returns how many were dropped."""
        deadline = self.clock() - self.backend.limits.filter_timeout_seconds
        stale = [fid for fid, f in self.filters.items() if f.last_poll < deadline]
        for fid in stale:
            del self.filters[fid]
        return len(stale)

    def _install(self, backend: RpcBackend, flt: _Filter) -> str:
        self.expire()
        limit = backend.limits.max_filters
        if len(self.filters) >= limit:
            raise LimitExceeded(
                f"too many installed filters (limit {limit}): uninstall unused ones with eth_uninstallFilter"
            )
        fid = new_id()
        self.filters[fid] = flt
        return fid

    def _get(self, value: object) -> _Filter:
        if not isinstance(value, str):
            raise InvalidParams(f"filter id: expected a string, got {show(value)}")
        self.expire()
        flt = self.filters.get(value)
        if flt is None:
            raise ServerError("filter not found")
        flt.last_poll = self.clock()
        return flt

    # -- handlers ------------------------------------------------------------------------------------
    def eth_new_filter(self, backend: RpcBackend, params: list) -> str:
        (value,) = expect(params, 1)
        spec = check_filter_object(value)
        if spec.get("blockHash") is not None:
            raise InvalidParams(
                "filter: blockHash is for eth_getLogs; a filter follows new blocks (use fromBlock/toBlock)"
            )
        criteria = parse_criteria(spec)
        for key in ("fromBlock", "toBlock"):  # reject bad tags now rather than on every poll
            resolve_block_number(backend, spec.get(key), key)
        head = backend.store.head().block_number
        return self._install(backend, _Filter(LOGS, head, self.clock(), dict(spec), criteria))

    def eth_new_block_filter(self, backend: RpcBackend, params: list) -> str:
        expect(params, 0)
        return self._install(backend, _Filter(BLOCKS, backend.store.head().block_number, self.clock()))

    def eth_new_pending_transaction_filter(self, backend: RpcBackend, params: list) -> str:
        """Pending-transaction filter by pool snapshots: a tx that enters and leaves between polls is missed."""
        (full,) = expect(params, 0, 1)
        if full:
            raise InvalidParams("full pending transaction objects are not supported: omit the flag to get hashes")
        flt = _Filter(PENDING, backend.store.head().block_number, self.clock(), pool_snapshot=_pool_hashes(backend))
        return self._install(backend, flt)

    def eth_get_filter_changes(self, backend: RpcBackend, params: list) -> list:
        (fid,) = expect(params, 1)
        flt = self._get(fid)
        if flt.kind == PENDING:
            current = _pool_hashes(backend)
            fresh = current - flt.pool_snapshot
            flt.pool_snapshot = current
            return [d(h) for h in fresh]
        head = backend.store.head().block_number
        # A client that comes back late catches up over several polls, one bounded window at a time.
        end = min(head, flt.last_block + backend.limits.max_logs_block_range)
        start = flt.last_block + 1
        if start > end:
            return []
        if flt.kind == BLOCKS:
            hashes = [backend.store.hash_by_number(n) for n in range(start, end + 1)]
            flt.last_block = end
            return [d(h) for h in hashes if h is not None]
        lower = _bound(backend, flt.spec.get("fromBlock"), "fromBlock", start)
        upper = _bound(backend, flt.spec.get("toBlock"), "toBlock", end)
        assert flt.criteria is not None
        logs = scan_logs(backend, flt.criteria, max(start, lower), min(end, upper))
        flt.last_block = end
        return logs

    def eth_get_filter_logs(self, backend: RpcBackend, params: list) -> list:
        (fid,) = expect(params, 1)
        flt = self._get(fid)
        if flt.kind != LOGS:
            raise ServerError("filter not found")  # geth's answer for a non-log filter too
        return query_logs(backend, flt.spec)

    def eth_uninstall_filter(self, backend: RpcBackend, params: list) -> bool:
        (fid,) = expect(params, 1)
        if not isinstance(fid, str):
            raise InvalidParams(f"filter id: expected a string, got {show(fid)}")
        return self.filters.pop(fid, None) is not None

    def methods(self) -> dict[str, Callable[[RpcBackend, list], Any]]:
        return {
            "eth_newFilter": self.eth_new_filter,
            "eth_newBlockFilter": self.eth_new_block_filter,
            "eth_newPendingTransactionFilter": self.eth_new_pending_transaction_filter,
            "eth_getFilterChanges": self.eth_get_filter_changes,
            "eth_getFilterLogs": self.eth_get_filter_logs,
            "eth_uninstallFilter": self.eth_uninstall_filter,
        }
