"""What every phase of `linen bench hostile` shares: the deadlines, the tally, and sending one request.

`Bench.send` is the only way a phase sends an attack, so that every answer is classified, recorded
with a reproducer, and followed (after a timeout) by a check that the node still answers, restarting
it if it is hung: one hung node must not eat the rest of the run.
"""

from __future__ import annotations

import collections
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from linen.benchmarks.hostile_node import BLOCK_PERIOD, Node, Watchdog
from linen.benchmarks.hostile_rpc import (
    CONNECTION,
    CRASH,
    HANDLED,
    INTERNAL,
    MALFORMED,
    OTHER,
    OUTCOMES,
    REQUEST_TIMEOUT,
    TIMEOUT,
    block_number,
    classify,
    http_request,
)

RECOVERY_WAIT = 10.0  # after a timeout, how long to wait for the node to answer again
EXAMPLES_KEPT = 12  # per outcome and phase


class Aborted(Exception):
    """The hard deadline passed."""


def show(value: Any, limit: int = 600) -> str:
    """A request or answer as text for the report: JSON if it is, cut to `limit` with its full size."""
    if isinstance(value, bytes):
        text = value[:limit].decode(errors="replace")
        return text if len(value) <= limit else f"{text}... ({len(value)} bytes)"
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


class Tally:
    """Outcome counts of one phase, per method, with a few examples of everything but `handled`."""

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.counts: collections.Counter = collections.Counter()
        self.by_method: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.examples: dict[str, list[dict]] = collections.defaultdict(list)
        self.seen_defects: set[tuple] = set()
        self.slowest: list[tuple[float, str, str, str]] = []
        self.started = time.monotonic()

    def add(self, method: str, request: Any, outcome: str, code: Any = None, message: str = "",
            seconds: float = 0.0, extra: dict | None = None) -> None:
        self.counts[outcome] += 1
        self.by_method[method][outcome] += 1
        if seconds > 1.0:
            self.slowest.append((seconds, method, show(request, 300), f"{outcome} {code or ''} {message[:120]}"))
            self.slowest = sorted(self.slowest, reverse=True)[:10]
        if outcome == HANDLED:
            return
        key = (outcome, method, code, re.sub(r"\d+", "N", message)[:80])
        if outcome == INTERNAL:  # every distinct defect request is worth a reproducer
            key += (show(request, 100),)
        if key in self.seen_defects or len(self.examples[outcome]) >= EXAMPLES_KEPT:
            return
        self.seen_defects.add(key)
        example = {"method": method, "request": show(request), "code": code, "message": message[:300],
                   "seconds": round(seconds, 2)}
        example.update(extra or {})
        self.examples[outcome].append(example)

    def report(self) -> dict[str, Any]:
        return {
            "tried": sum(self.counts.values()),
            "outcomes": {o: self.counts[o] for o in OUTCOMES if self.counts[o]},
            "examples": dict(self.examples),
            "slowest": [{"seconds": round(s, 2), "method": m, "request": r, "answer": a} for s, m, r, a in self.slowest],
            "by_method": {m: dict(c) for m, c in sorted(self.by_method.items())},
            "duration_s": round(time.monotonic() - self.started, 1),
        }


class Bench:
    """The run's shared state: the node, the watchdog, the deadlines, forced restarts and crashes."""

    def __init__(self, node: Node, watchdog: Watchdog, abort: threading.Event, hard_deadline: float,
                 echo: Callable[[str], None]) -> None:
        self.node = node
        self.watchdog = watchdog
        self.abort = abort
        self.hard_deadline = hard_deadline
        self.echo = echo
        self.crashes: list[dict] = []
        self.forced_restarts: list[dict] = []
        self.stalls: list[dict] = []
        self.current = ""  # the request in flight (the latest one sent), for the watchdog's peak-RSS note
        watchdog.activity = lambda: self.current

    def check_abort(self) -> None:
        if self.abort.is_set() or time.monotonic() > self.hard_deadline:
            self.abort.set()
            raise Aborted

    def transport_failure(self, exc: BaseException) -> str:
        """timeout, crash (and restart it) or connection_error."""
        if not self.node.alive() and self.node.up:
            code = self.node.proc.returncode if self.node.proc else None
            self.crashes.append({"at_s": round(time.monotonic() - self.watchdog.t0, 1), "phase": self.watchdog.phase,
                                 "returncode": code, "log_tail": self.node.log_tail(1500)})
            self.echo(f"  node exited ({code}); restarting")
            self._restart("crash")
            return CRASH
        if isinstance(exc, TimeoutError | socket.timeout):
            return TIMEOUT
        return CONNECTION

    def _restart(self, reason: str) -> None:
        try:
            seconds = self.node.restart()
            self.forced_restarts.append({"phase": self.watchdog.phase, "reason": reason, "restart_s": round(seconds, 2)})
        except (RuntimeError, TimeoutError) as exc:
            self.forced_restarts.append({"phase": self.watchdog.phase, "reason": reason, "failed": str(exc)[:500]})
            self.abort.set()
            raise Aborted from exc

    def wait_answer(self, limit: float) -> float | None:
        """Seconds until eth_blockNumber answers again (None if it did not within `limit`)."""
        begin = time.monotonic()
        while time.monotonic() - begin < limit and not self.abort.is_set():
            try:
                block_number(self.node.port, timeout=1.0)
                return time.monotonic() - begin
            except Exception:  # noqa: BLE001
                if not self.node.alive():
                    return None
                time.sleep(0.2)
        return None

    def ensure_healthy(self, phase: str) -> None:
        """At a phase start: answering and the head moving, or kill -9 and restart (recorded)."""
        answered = self.wait_answer(RECOVERY_WAIT)
        if answered is None:
            self.echo(f"  node unresponsive before {phase}: kill -9 and restart")
            self._restart(f"unresponsive for {RECOVERY_WAIT:.0f}s before {phase}")
            return
        try:
            first = block_number(self.node.port, timeout=2.0)
            second = first
            end = time.monotonic() + BLOCK_PERIOD * 3.5
            while second <= first and time.monotonic() < end:
                time.sleep(0.2)
                second = block_number(self.node.port, timeout=2.0)
        except Exception:  # noqa: BLE001
            self._restart(f"unresponsive before {phase}")
            return
        if second <= first:
            self.echo(f"  head stuck at {first} before {phase}: kill -9 and restart")
            self._restart(f"head stuck at block {first} for {BLOCK_PERIOD * 3.5:.1f}s before {phase}")

    def send(self, tally: Tally, method: str, body: bytes, request: Any, expect: str = "json",
             deadline: float | None = None, timeout: float = REQUEST_TIMEOUT, port: int | None = None,
             **transport: Any) -> tuple[str, Any, str]:
        """Send one request, classify and record the answer; after a timeout wait (bounded) for the node.

        `expect`: "json" (a JSON-RPC answer), "empty" (notifications: nothing, or an answer) or "http"
        (any HTTP answer will do, e.g. to a GET or a body the server cannot decode).
        """
        self.check_abort()
        self.current = f"{method} {show(request, 160)}"
        begin = time.monotonic()
        timeout = max(1.0, min(timeout, self.hard_deadline - begin))  # never shortened by a phase's slot
        try:
            status, data = http_request(port or self.node.port, body, timeout, **transport)
            outcome, code, message = classify(data, expect == "json")
            if outcome == MALFORMED and expect == "http":  # any HTTP answer will do, but not a server fault
                outcome, message = (OTHER if status >= 500 else HANDLED), f"HTTP {status}: {data[:100]!r}"
        except (OSError, http.client.HTTPException) as exc:
            outcome, code, message = self.transport_failure(exc), None, f"{type(exc).__name__}: {exc}"[:300]
        seconds = time.monotonic() - begin
        extra = self.after_timeout(tally.phase, method, request, seconds) if outcome == TIMEOUT else None
        tally.add(method, request, outcome, code, message, seconds, extra)
        return outcome, code, message

    def after_timeout(self, phase: str, method: str, request: Any, seconds: float) -> dict[str, Any]:
        """Wait (bounded) for the node to answer again; if it does not, it is hung: kill -9 and restart it."""
        recovered = self.wait_answer(RECOVERY_WAIT)
        extra: dict[str, Any] = {"node_answered_again_after_s": None if recovered is None else round(recovered + seconds, 1)}
        stall = {"phase": phase, "method": method, "request": show(request, 300), **extra}
        if recovered is None and not self.abort.is_set():
            stall["restarted"] = True
            self.echo(f"  node unresponsive {seconds + RECOVERY_WAIT:.0f}s after {method}: kill -9 and restart")
            self._restart(f"unresponsive for {seconds + RECOVERY_WAIT:.0f}s after {method} {show(request, 200)}")
        self.stalls.append(stall)
        return extra

