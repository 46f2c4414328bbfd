"""`linen state-manager`: the state manager as its own process, beside a node it reaches over JSON-RPC.

The node pushes each sealed block's trielog (`state_sendRawTrieLog`, when its `[state] push-url`
names this process); the manager also polls the node (`shomei_getTrieLogsByRange`), which is how
it fills gaps: after its own restart, after the node's, or when a push was lost. Either way blocks
are applied strictly in order. The manager answers its methods (`rollup_*`, `linea_getProof`, ...)
on its own port, through the same JSON-RPC server the node uses; the methods that write
(`state_sendRawTrieLog`, `rollup_forkChoiceUpdated`) only on its authenticated local endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from linen.actors import ActorSet
from linen.observe.metrics import Metrics
from linen.rpc.server import AuthEndpoint, RpcServer
from linen.rpc.service_http import ServiceBackend
from linen.state_manager import rpc_methods
from linen.state_manager.service import JsonRpcTrieLogSource, StateManager

PULL_PERIOD = 1.0  # seconds between polls of the node


async def run_state_manager(
    data_dir: Path,
    hasher: str,
    node_url: str,
    host: str,
    port: int,
    stop: asyncio.Event,
    finalized_only: bool = False,
    on_started: Callable[[RpcServer, StateManager], None] = lambda _s, _m: None,
    auth: AuthEndpoint | None = None,
) -> None:
    """Serve and follow until `stop` is set; the store is closed on the way out. Without `auth` nothing
    can push: the manager only pulls."""
    manager = StateManager(data_dir, hasher, JsonRpcTrieLogSource(node_url), finalized_only=finalized_only)
    reads, writes = rpc_methods.bind_split(manager)
    metrics = Metrics()
    metrics.on_scrape(lambda: metrics.state_manager_block.set(manager.head or 0))
    actors = ActorSet([manager.applier, manager.fetcher])
    backend = ServiceBackend(lambda: {**actors.health(), "head": manager.head}, metrics)
    server = RpcServer(backend, host, port, registry=reads, private_methods=writes,  # type: ignore[arg-type]
                       auth=auth)
    try:
        await server.start()
        on_started(server, manager)
        await manager.pull_forever(PULL_PERIOD, stop)
    finally:
        await server.stop()
        manager.close()
