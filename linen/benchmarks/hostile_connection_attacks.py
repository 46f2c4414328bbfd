"""The HTTP envelopes and connection attacks of `linen bench hostile` (`hostile_fuzz.envelopes()`).

Most envelopes are one odd request (a batch of 1000, 5 MB, chunked, a gzip header on a plain body)
sent through `Bench.send`; three are about connections instead of bodies, and are judged by whether
the node still answers eth_blockNumber within a second meanwhile: a body cut short, many idle
connections, and a slowloris.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from linen.benchmarks.hostile_rpc import HANDLED, REQUEST_TIMEOUT, TIMEOUT, block_number
from linen.benchmarks.hostile_session import RECOVERY_WAIT, Bench, Tally


def send_envelope(bench: Bench, tally: Tally, name: str, case: dict[str, Any]) -> None:
    """One envelope of `hostile_fuzz.envelopes()`, recorded as `(envelope) <name>`."""
    method = "(envelope) " + name
    if case.get("partial"):
        begin = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", bench.node.port), timeout=REQUEST_TIMEOUT) as sock:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100000\r\n\r\n" + b'{"jsonrpc":"2.0"')
                time.sleep(1.0)
            answered = bench.wait_answer(RECOVERY_WAIT)
            outcome = HANDLED if answered is not None and answered < 1.0 else TIMEOUT
            tally.add(method, "partial body, then close", outcome, seconds=time.monotonic() - begin)
        except OSError as exc:
            tally.add(method, "partial body", bench.transport_failure(exc), message=str(exc))
        return
    if case.get("idle_connections") or case.get("slowloris"):
        _hold_connections(bench, tally, method, case.get("idle_connections") or case["slowloris"],
                          trickle=bool(case.get("slowloris")))
        return
    http_args = {k: case[k] for k in ("headers", "verb", "path", "chunked") if k in case}
    body = case["body"]
    for _ in range(case.get("repeat", 1)):
        bench.send(tally, method, body, body[:300], expect=case["expect"], **http_args)


def _hold_connections(bench: Bench, tally: Tally, method: str, count: int, trickle: bool, hold: float = 2.0) -> None:
    """Open `count` connections (idle, or sending a header byte every 0.5 s): does the node still answer?"""
    sockets: list[socket.socket] = []
    begin = time.monotonic()
    worst = 0.0
    try:
        for _ in range(count):
            with contextlib.suppress(OSError):
                sock = socket.create_connection(("127.0.0.1", bench.node.port), timeout=2.0)
                if trickle:
                    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
                sockets.append(sock)
        end = time.monotonic() + hold
        while time.monotonic() < end:
            for sock in sockets if trickle else ():
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")
            probe = time.monotonic()
            try:
                block_number(bench.node.port, timeout=2.0)
                worst = max(worst, time.monotonic() - probe)
            except Exception:  # noqa: BLE001
                worst = max(worst, 2.0)
            time.sleep(0.5)
    finally:
        for sock in sockets:
            sock.close()
    outcome = HANDLED if worst < 1.0 else TIMEOUT
    tally.add(method, f"{len(sockets)} of {count} connections open", outcome,
              message=f"slowest eth_blockNumber meanwhile {worst:.2f}s", seconds=time.monotonic() - begin)

