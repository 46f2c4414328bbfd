"""eth_subscribe over WebSocket: `newHeads` and `logs`, fanned out from one block listener.

The server registers a single backend block listener; `SubscriptionHub.publish` formats each block
once and queues the notifications on every subscribed connection. Each connection has a bounded
outgoing queue drained by its own writer task, so one slow client cannot stall block production or
the other clients: when its queue is full it is disconnected.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from linen.chain.types import Block
from linen.rpc.backend import RpcBackend
from linen.rpc.errors import InvalidParams, LimitExceeded, MethodNotFound
from linen.rpc.filters import new_id
from linen.rpc.format import format_header, format_log, iter_block_logs
from linen.rpc.logs import LogCriteria, parse_criteria
from linen.rpc.params import expect, show

log = logging.getLogger("linen.rpc")

NEW_HEADS, LOGS = "newHeads", "logs"
MAX_QUEUED_MESSAGES = 10_000
SLOW_CLIENT_CLOSE_CODE = 1008  # policy violation


@dataclass
class Subscription:
    kind: str
    criteria: LogCriteria | None
    active: bool = False  # set once the eth_subscribe answer is queued, so no notification precedes it


def notification(subscription_id: str, result_json: bytes) -> bytes:
    """An `eth_subscription` message, spliced from pre-serialized parts (the result is shared)."""
    return (
        b'{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"'
        + subscription_id.encode()
        + b'","result":'
        + result_json
        + b"}}"
    )


def _http_only(backend: RpcBackend, params: list) -> Any:
    raise MethodNotFound("notifications not supported over HTTP: connect with WebSocket (ws://) to subscribe")


HTTP_METHODS = {"eth_subscribe": _http_only, "eth_unsubscribe": _http_only}


class Connection:
    """One WebSocket client: its subscriptions and its outgoing queue."""

    def __init__(self, ws: web.WebSocketResponse, max_subscriptions: int) -> None:
        self.ws = ws
        self.max_subscriptions = max_subscriptions
        self.subscriptions: dict[str, Subscription] = {}
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(MAX_QUEUED_MESSAGES)
        self.closed = False
        self.writer = asyncio.get_running_loop().create_task(self._write())
        self.methods = {"eth_subscribe": self.eth_subscribe, "eth_unsubscribe": self.eth_unsubscribe}

    async def _write(self) -> None:
        try:
            while True:
                data = await self.queue.get()
                await self.ws.send_str(data.decode())
        except (ConnectionError, RuntimeError) as exc:  # the peer went away mid-send
            log.debug("websocket writer stopped: %s", exc)
            self.closed = True

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            log.warning("websocket client too slow: %d messages queued, disconnecting it", self.queue.qsize())
            self.closed = True
            self.writer.cancel()
            asyncio.get_running_loop().create_task(
                self.ws.close(code=SLOW_CLIENT_CLOSE_CODE, message=b"client too slow: outgoing queue full")
            )

    def activate(self) -> None:
        for subscription in self.subscriptions.values():
            subscription.active = True

    async def close(self) -> None:
        self.closed = True
        self.writer.cancel()
        if not self.ws.closed:
            await self.ws.close()

    # -- handlers (backend, params), bound to this connection ------------------------------------------
    def eth_subscribe(self, backend: RpcBackend, params: list) -> str:
        kind, options = expect(params, 1, 1)
        if kind == NEW_HEADS:
            if options not in (None, {}):
                raise InvalidParams("newHeads takes no options")
            criteria = None
        elif kind == LOGS:
            if options is None:
                options = {}
            if not isinstance(options, dict):
                raise InvalidParams(
                    f"logs subscription: expected an object with address and topics, got {show(options)}"
                )
            # cast always sends fromBlock/toBlock; geth ignores them for a subscription, which follows new blocks
            options = {k: v for k, v in options.items() if k not in ("fromBlock", "toBlock")}
            unknown = set(options) - {"address", "topics"}
            if unknown:
                raise InvalidParams(
                    f"logs subscription: unsupported field(s) {sorted(unknown)}: it follows new blocks, "
                    "use eth_getLogs for past ones"
                )
            criteria = parse_criteria(options)
        else:
            raise InvalidParams(f"unsupported subscription type '{show(kind)}': use newHeads or logs")
        if len(self.subscriptions) >= self.max_subscriptions:
            raise LimitExceeded(f"too many subscriptions on this connection (limit {self.max_subscriptions})")
        subscription_id = new_id()
        self.subscriptions[subscription_id] = Subscription(kind, criteria)
        return subscription_id

    def eth_unsubscribe(self, backend: RpcBackend, params: list) -> bool:
        (subscription_id,) = expect(params, 1)
        if not isinstance(subscription_id, str):
            raise InvalidParams(f"subscription id: expected a string, got {show(subscription_id)}")
        return self.subscriptions.pop(subscription_id, None) is not None


class SubscriptionHub:
    """All WebSocket connections of a server, and the fan-out of new blocks to their subscriptions."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()

    def publish(self, block: Block) -> None:
        """Queue `newHeads` and `logs` notifications for `block` (called by the backend's block listener)."""
        header_json: bytes | None = None
        block_logs: list[tuple[Any, bytes]] | None = None
        for connection in list(self.connections):
            for subscription_id, subscription in list(connection.subscriptions.items()):
                if not subscription.active:
                    continue
                if subscription.kind == NEW_HEADS:
                    if header_json is None:
                        header_json = orjson.dumps(format_header(block.header))
                    connection.send(notification(subscription_id, header_json))
                    continue
                criteria = subscription.criteria
                assert criteria is not None
                if not criteria.may_match(block.header.bloom):
                    continue
                if block_logs is None:
                    block_logs = [
                        (entry, orjson.dumps(format_log(entry, block.header, tx_hash, tx_index, log_index)))
                        for entry, tx_hash, tx_index, log_index in iter_block_logs(block.transactions, block.receipts)
                    ]
                for entry, entry_json in block_logs:
                    if criteria.matches(entry):
                        connection.send(notification(subscription_id, entry_json))

    async def close_all(self, timeout: float = 5.0) -> None:
        """Close every connection at once; a peer that never answers the close cannot hold up shutdown."""
        tasks = [asyncio.ensure_future(connection.close()) for connection in self.connections]
        self.connections.clear()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
