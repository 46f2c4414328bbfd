"""Long-poll handlers for the JSON-RPC dispatcher, in a module of their own so that a service's
handlers can be marked without importing the dispatcher (and the node's chain types behind it):
`linen prover worker` imports the coordinator's protocol constants and must start in a fraction
of a second."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class WaitingHandler:
    """A handler that may keep a request open until it has something to say (a long poll): `waiting`
    is a coroutine, awaited on the event loop, so a thousand waiting clients hold no thread. Called
    as a plain handler (in a batch, where one item must not hold up the others) it answers at once."""

    def __init__(self, now: Callable[[Any, list], Any], waiting: Callable[[Any, list], Awaitable[Any]]) -> None:
        self.now = now
        self.waiting = waiting

    def __call__(self, backend: Any, params: list) -> Any:
        return self.now(backend, params)
