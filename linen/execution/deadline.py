"""A wall-clock budget for EVM execution, checked at every instruction.

Gas bounds what a call may cost, not how long Python takes to run it: an infinite loop at the
50M-gas cap runs for tens of seconds in py-evm. A deadline set here (by the RPC layer for calls,
by the block producer for each candidate transaction) makes the instruction loop raise
`ExecutionTimeout` once the time is up. The value is a context variable, so concurrent calls on
different threads each see their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("linen_execution_deadline", default=None)
_budget: contextvars.ContextVar[float | None] = contextvars.ContextVar("linen_execution_budget", default=None)


def current_deadline() -> float | None:
    """The `time.monotonic()` instant past which execution stops, or None for no limit."""
    return _deadline.get()


def current_budget() -> float | None:
    """The budget in seconds the current deadline was set with (for error messages)."""
    return _budget.get()


@contextlib.contextmanager
def execution_deadline(seconds: float | None) -> Iterator[None]:
    """Run the body with a deadline `seconds` from now (None or <= 0: no limit; an outer, sooner one stays)."""
    if seconds is None or seconds <= 0:
        yield
        return
    deadline = time.monotonic() + seconds
    outer = _deadline.get()
    if outer is not None and outer < deadline:
        yield
        return
    token, budget_token = _deadline.set(deadline), _budget.set(seconds)
    try:
        yield
    finally:
        _deadline.reset(token)
        _budget.reset(budget_token)
