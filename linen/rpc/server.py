"""The JSON-RPC server: HTTP POST and WebSocket on the same port and path, as geth and anvil serve.

Clients such as ethers and web3.py use `http://host:port` and `ws://host:port` interchangeably, so
`/` answers POSTs and upgrades GETs that ask for a WebSocket. Handlers run on the event loop thread
(the pool takes its own lock), except the EVM-heavy ones, which the dispatcher runs on threads.

Methods that write a service's state (`private_methods`) are never served here: they go on a second,
local endpoint that demands a JWT (`linen.rpc.auth`), with the public methods beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiohttp import WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from linen.chain.types import Block
from linen.observe.dashboard import dashboard_file
from linen.observe.metrics import CONTENT_TYPE
from linen.rpc.auth import check_authorization
from linen.rpc.backend import RpcBackend
from linen.rpc.dispatch import LIMIT_EXCEEDED, PARSE_ERROR, Dispatcher, error_response
from linen.rpc.filters import FilterManager
from linen.rpc.methods import build_registry
from linen.rpc.subscriptions import HTTP_METHODS, Connection, SubscriptionHub

log = logging.getLogger("linen.rpc")


class _ClientFaultFilter(logging.Filter):
    """aiohttp logs a client's malformed HTTP (a 100 KB header line) or a connection it dropped mid-body at
    ERROR with a traceback: anyone could flood the log. Those are the client's faults, already answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        fault = record.exc_info[1] if record.exc_info else None
        return not isinstance(fault, HttpProcessingError | ConnectionResetError)


logging.getLogger("aiohttp.server").addFilter(_ClientFaultFilter())

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}
READ_TIMEOUT_SECONDS = 30.0  # geth's ReadTimeout: the longest a request body may take to arrive
WS_HEARTBEAT_SECONDS = 30.0  # pings find dead peers whose subscriptions would otherwise queue forever
INFO_TEXT = "linen JSON-RPC: POST requests to this URL, or open a WebSocket on it\n"


@dataclass(frozen=True)
class AuthEndpoint:
    """Where the local endpoint listens (port 0: any free port) and the secret its tokens are signed with."""

    host: str
    port: int
    secret: bytes


class RpcServer:
    """Serves one `RpcBackend` on host:port (port 0 picks a free port; read it back from `.url`)."""

    def __init__(
        self,
        backend: RpcBackend,
        host: str = "127.0.0.1",
        port: int = 8545,
        extra_methods: dict | None = None,
        registry: dict | None = None,
        private_methods: dict | None = None,
        auth: AuthEndpoint | None = None,
        cancel_on_disconnect: bool = False,
    ) -> None:
        """`extra_methods` join the node's methods; `registry` replaces them (a service that is not a node).
        `private_methods` are served only on the `auth` endpoint (none without one).
        `cancel_on_disconnect`: a request whose client hangs up is cancelled at its next await (a
        long poll then learns that its client is gone); off for the node, whose handlers finish."""
        self.backend = backend
        self.cancel_on_disconnect = cancel_on_disconnect
        self.host = host
        self.port = port
        self.filters = FilterManager(backend)
        self.hub = SubscriptionHub()
        methods = registry if registry is not None else build_registry(self.filters, extra_methods or {})
        self.dispatcher = Dispatcher(backend, methods)
        self.auth = auth
        self.auth_dispatcher = Dispatcher(backend, {**methods, **(private_methods or {})}) if auth else None
        self.auth_port: int | None = None
        self._auth_runner: web.AppRunner | None = None
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task | None = None
        self._listening = False

    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self._authority}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._authority}"

    @property
    def auth_url(self) -> str | None:
        if self.auth is None or self.auth_port is None:
            return None
        host = f"[{self.auth.host}]" if ":" in self.auth.host else self.auth.host
        return f"http://{host}:{self.auth_port}"

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("RPC server already started")
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        if getattr(self.backend, "view", None) is not None:  # a node: the pipeline's dashboard
            app.router.add_get("/dashboard", self._dashboard)
            app.router.add_get("/dashboard/{name}", self._dashboard)
        app.router.add_route("*", "/", self._root)
        # geth's IdleTimeout: a connection with no request in flight (a fresh one included, and one dribbling
        # its headers) is closed after this; bodies have READ_TIMEOUT_SECONDS at most.
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               keepalive_timeout=self.backend.limits.idle_timeout_seconds,
                               handler_cancellation=self.cancel_on_disconnect)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        if self.auth is not None:
            await self._start_auth(self.auth)
        if not self._listening:  # the backend has no way to remove a listener: register once per server
            self.backend.add_block_listener(self._on_block)
            self._listening = True
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_filters())
        log.info("JSON-RPC listening on %s and %s", self.url, self.ws_url)

    async def _start_auth(self, auth: AuthEndpoint) -> None:
        app = web.Application()
        app.router.add_post("/", self._auth_http)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               keepalive_timeout=self.backend.limits.idle_timeout_seconds)
        await runner.setup()
        try:
            await web.TCPSite(runner, auth.host, auth.port).start()
        except BaseException:
            await runner.cleanup()
            await self.stop()
            raise
        self._auth_runner = runner
        self.auth_port = runner.addresses[0][1]
        log.info("authenticated JSON-RPC (methods that write) on %s", self.auth_url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.hub.close_all()
        await self._runner.cleanup()
        self._runner = None
        if self._auth_runner is not None:
            await self._auth_runner.cleanup()
            self._auth_runner = None
        self.dispatcher.close()
        if self.auth_dispatcher is not None:
            self.auth_dispatcher.close()

    # -- events ----------------------------------------------------------------------------------
    def _on_block(self, block: Block) -> None:
        """The backend's block listener: must never raise into the block producer."""
        if self._runner is None:
            return
        try:
            self.hub.publish(block)
        except Exception:
            log.exception("failed to publish block %d to subscribers", block.number)

    async def _sweep_filters(self) -> None:
        interval = max(1.0, min(self.backend.limits.filter_timeout_seconds / 2, 60.0))
        while True:
            await asyncio.sleep(interval)
            try:
                self.filters.expire()
            except Exception:
                log.exception("filter sweep failed")

    # -- HTTP --------------------------------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.Response:
        """Every actor's report when the backend keeps actors (`health()`), else only that it answers."""
        health = getattr(self.backend, "health", None)
        return web.json_response(health() if callable(health) else {"status": "ok"}, headers=CORS_HEADERS)

    async def _metrics(self, request: web.Request) -> web.Response:
        """Prometheus text format, built off the loop (its refreshers read stores)."""
        metrics = getattr(self.backend, "metrics", None)
        if metrics is None:
            return web.Response(status=404, text="this service exports no metrics\n")
        body = await asyncio.to_thread(metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def _dashboard(self, request: web.Request) -> web.StreamResponse:
        """The dashboard's static files, from the package (nothing loads from outside)."""
        found = dashboard_file(request.match_info.get("name", "index.html"))
        if found is None:
            return web.Response(status=404, text="no such dashboard file\n")
        body, content_type = found
        return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "no-cache"})

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            return await self._http(request)
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=CORS_HEADERS)
        if request.method == "GET":
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._websocket(request)
            return web.Response(text=INFO_TEXT, headers=CORS_HEADERS)
        return web.Response(status=405, text="use POST for JSON-RPC, or GET with a WebSocket upgrade\n")

    async def _read_body(self, request: web.Request, limit: int) -> bytes | None:
        """The body, or None as soon as it exceeds `limit` (never buffers more than limit + a chunk)."""
        if request.content_length is not None and request.content_length > limit:
            return None
        chunks, size = [], 0
        async with asyncio.timeout(min(READ_TIMEOUT_SECONDS, self.backend.limits.idle_timeout_seconds)):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
        return b"".join(chunks)

    async def _auth_http(self, request: web.Request) -> web.Response:
        assert self.auth is not None and self.auth_dispatcher is not None
        refused = check_authorization(request.headers.get("Authorization"), self.auth.secret)
        if refused is not None:
            return web.json_response(error_response(None, -32000, f"unauthorized: {refused}"), status=401)
        return await self._http(request, self.auth_dispatcher)

    async def _http(self, request: web.Request, dispatcher: Dispatcher | None = None) -> web.Response:
        limit = self.backend.limits.max_request_bytes
        try:
            body = await self._read_body(request, limit)
        except TimeoutError:
            refusal = web.Response(status=408, text="the request body did not arrive in time\n", headers=CORS_HEADERS)
            refusal.force_close()  # no keep-alive, and no lingering for the rest of a body that is not coming
            request.content.feed_eof()
            return refusal
        except ConnectionResetError:  # the client went away mid-body: nobody to answer
            return web.Response(status=400)
        except RequestPayloadError as exc:  # e.g. a Content-Encoding the body is not in
            refusal = web.json_response(error_response(None, PARSE_ERROR, f"cannot read the request body: {exc}"),
                                        status=400, headers=CORS_HEADERS)
            refusal.force_close()
            request.content.feed_eof()  # aiohttp would otherwise drain the broken body and log its error
            return refusal
        if body is None:
            size = request.content_length
            message = f"request body {'of ' + str(size) + ' bytes ' if size else ''}exceeds the limit of {limit} bytes"
            return web.json_response(
                error_response(None, LIMIT_EXCEEDED, message + ": split it into smaller requests"),
                headers=CORS_HEADERS,
            )
        reply = await (dispatcher or self.dispatcher).handle(body, HTTP_METHODS)
        return web.Response(body=reply or b"", content_type="application/json", headers=CORS_HEADERS)

    # -- WebSocket ---------------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        limits = self.backend.limits
        # aiohttp drops frames over max_msg_size with close code 1009; messages between the limit
        # and twice it still get a JSON-RPC -32005 answer from the dispatcher.
        ws = web.WebSocketResponse(max_msg_size=2 * limits.max_request_bytes, heartbeat=WS_HEARTBEAT_SECONDS)
        await ws.prepare(request)
        connection = Connection(ws, limits.max_filters)
        self.hub.connections.add(connection)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    body = message.data.encode()
                elif message.type == WSMsgType.BINARY:
                    body = message.data
                else:
                    break
                reply = await self.dispatcher.handle(body, connection.methods)
                if reply is not None:
                    connection.send(reply)
                connection.activate()
                if connection.closed:
                    break
        finally:
            self.hub.connections.discard(connection)
            await connection.close()
        return ws
