"""The method registry: name -> handler `(backend, params) -> JSON-ready result`.

Stateless handlers come from the method modules; filters are bound to the server's `FilterManager`.
WebSocket connections add eth_subscribe/eth_unsubscribe per connection (see `subscriptions`).
"""

from __future__ import annotations

from linen.rpc import blocks, debug, eth, gas, linea, logs, proofs, txpool
from linen.rpc.dispatch import Handler
from linen.rpc.filters import FilterManager


def build_registry(filters: FilterManager, extra: dict[str, Handler] | None = None) -> dict[str, Handler]:
    """Every method the server answers; `extra` adds the ones of in-process services (the state manager)."""
    registry: dict[str, Handler] = {}
    for methods in (eth.METHODS, blocks.METHODS, gas.METHODS, logs.METHODS, txpool.METHODS, linea.METHODS,
                    debug.METHODS, proofs.METHODS,
                    filters.methods(), extra or {}):
        overlap = registry.keys() & methods.keys()
        assert not overlap, f"methods registered twice: {sorted(overlap)}"
        registry.update(methods)
    return registry
