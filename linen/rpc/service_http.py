"""The HTTP side of a service that is not a node (postman, coordinator, state manager): JSON-RPC
methods of its own, `/health` (its actors' reports) and `/metrics` (its Prometheus registry).

`ServiceBackend` is what `RpcServer` needs from such a service: limits, no block feed, and the
health and metrics it serves. `ThreadedRpcServer` runs the server on its own thread and event loop,
for services whose work runs on actor threads rather than in asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from linen.observe.metrics import Metrics
from linen.rpc.backend import RpcLimits
from linen.rpc.server import RpcServer


class ServiceBackend:
    """A backend with no chain: `health()` and `metrics` for the HTTP endpoints, limits for the RPC."""

    def __init__(self, health: Callable[[], dict] | None = None, metrics: Metrics | None = None) -> None:
        self.limits = RpcLimits()
        self._health = health
        self.metrics = metrics

    def health(self) -> dict:
        return self._health() if self._health is not None else {"status": "ok"}

    def add_block_listener(self, listener: Callable) -> None:  # a service has no block feed to share
        return None


class ThreadedRpcServer:
    """An `RpcServer` on its own thread and event loop; `start` returns once it listens."""

    def __init__(self, backend: ServiceBackend, host: str, port: int, registry: dict[str, Callable] | None = None,
                 name: str = "service-rpc", cancel_on_disconnect: bool = False) -> None:
        self.server = RpcServer(backend, host, port, registry=registry or {},  # type: ignore[arg-type]
                                cancel_on_disconnect=cancel_on_disconnect)
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"{self.name}: the server did not start")
        if self._error is not None:
            raise self._error

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:  # reported to start()
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
        finally:
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
