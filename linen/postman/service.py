"""`linen postman`: claims bridge messages in both directions when their fee pays for it.

Each direction runs on its own thread, with its own chain, key and nonces, so a slow L1 claim never
holds up L2 claims; both share one SQLite store under the data dir, which the RPC server reads.
Like Linea's postman, it talks to the chains only through their JSON-RPC and the two message services.
"""

from __future__ import annotations

import logging
import threading

from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from linen.actors import Actor, ActorSet
from linen.observe.metrics import Metrics, set_by_state
from linen.postman.l1_to_l2 import L1ToL2
from linen.postman.l2_to_l1 import L2ToL1
from linen.postman.rpc import build_registry
from linen.postman.settings import PostmanSettings
from linen.postman.store import STATUSES, PostmanStore
from linen.rpc.service_http import ServiceBackend, ThreadedRpcServer

log = logging.getLogger("linen.postman")

STORE_FILE = "postman.sqlite"


def connect(url: str, proof_of_authority: bool = False) -> Web3:
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 60}))
    if proof_of_authority:  # Linen's L2 is a Clique chain: its extraData is longer than 32 bytes
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


class Postman:
    def __init__(self, settings: PostmanSettings, l1: Web3 | None = None, l2: Web3 | None = None,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.l1 = l1 or connect(settings.l1_rpc)
        self.l2 = l2 or connect(settings.l2_rpc, proof_of_authority=True)
        self.store = PostmanStore(settings.data_dir / STORE_FILE)
        self.l1_to_l2 = L1ToL2(settings, self.store, self.l1, self.l2)
        self.l2_to_l1 = L2ToL1(settings, self.store, self.l1, self.l2)
        self.rpc = ThreadedRpcServer(ServiceBackend(lambda: self.actors.health(), self.metrics), settings.rpc_host,
                                     settings.rpc_port, build_registry(settings, self.store, self.l1, self.l2),
                                     name="postman-rpc")
        self.actors = ActorSet(
            Actor(f"postman.{direction.direction.lower()}", direction.tick, settings.polling_interval_s,
                  stall_after_s=max(60.0, 2 * settings.replacement.timeout_s))
            for direction in (self.l1_to_l2, self.l2_to_l1))
        self.metrics.on_scrape(self._refresh_metrics)

    def _refresh_metrics(self) -> None:
        counts = self.store.counts()
        for direction in (self.l1_to_l2.direction, self.l2_to_l1.direction):
            set_by_state(self.metrics.postman_messages, counts.get(direction, {}), STATUSES, direction)

    def tick(self) -> None:
        """One round of both directions, in the caller's thread (tests, or a caller with its own loop)."""
        self.l1_to_l2.tick()
        self.l2_to_l1.tick()

    def start(self, stopping: threading.Event | None = None, serve_rpc: bool = True) -> None:
        """Serve the RPC and run both directions as actors until `stopping` (or `stop()`)."""
        if serve_rpc:
            self.rpc.start()
        if stopping is not None:
            self.actors.stopping = stopping
        self.actors.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the actors (a claim in flight gets `timeout`), the RPC, and close the store."""
        self.actors.stop(timeout)
        self.rpc.stop()
        if any(actor.running for actor in self.actors.actors.values()):
            log.warning("a postman claim is still waiting for its receipt; it is settled at the next start")
            return  # the thread still uses the store; the process exit closes it
        self.store.close()
