"""`linen bench hostile`: an attack benchmark against a standalone `linen node`, bounded in time.

One fresh node (temp data dir, a free port, 1 s blocks with empty blocks on, so the head moves every
second) takes, within `--budget` seconds, three phases:

1. **fuzz**: every RPC method of the node's registry gets hypothesis-generated hostile params
   (`linen.benchmarks.hostile_fuzz`), the WebSocket methods too, then hostile envelopes (batches of
   1000, non-JSON, 5 MB bodies, invalid ids, ...). The methods that run the EVM go last.
2. **bad_txs**: the named bad transactions of `linen.benchmarks.hostile_txs.CASES`, each sent with
   eth_sendRawTransaction, then an honest transfer that must be included within a few blocks.
3. **kill9**: honest transfers from five dev accounts while the node is kill -9'd at random
   points and restarted on the same data dir; afterwards every receipt seen before must still be
   there in the same block, each sender's nonce must equal its included count, and the balances of
   senders and recipients must add up.

Every answer is classified: `handled` (a result, or a client error: -32700, -32600, -32601, -32602,
-32000..-32099, 3), `internal_error` (-32603: a defect, recorded with method and params),
`other_error` (an error code outside those), `no_answer`, `malformed_answer`, `timeout` (no answer
within `REQUEST_TIMEOUT`), `connection_error`, `crash` (the process exited). A watchdog asks
eth_blockNumber every 100 ms (1 s timeout) throughout and records the longest time it went
unanswered and the longest time the head did not move; the node's RSS is sampled from /proc.

The run always ends: a hard deadline (budget + `MARGIN`) kills the node and stops every loop. The
result goes to `bench/results/hostile.json` (bench/README.md describes the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from linen.benchmarks.hostile_fuzz import (
    EXECUTING,
    LOOP_CALLS,
    WS_METHODS,
    WS_RAW,
    Known,
    envelopes,
    fuzz_order,
    may_loop,
    method_names,
    params_strategy,
    request_body,
    strategies,
    systematic_cases,
)
from linen.benchmarks.hostile_txs import CASES, Ctx, Key, be, hx, reply_summary, typed
from linen.benchmarks.machine import machine_info, publish
from linen.devaccounts import dev_accounts
from linen.ports import free_port

DEFAULT_OUT = Path("bench/results/hostile.json")
DEFAULT_BUDGET = 120.0
DEFAULT_KILLS = 5
DEFAULT_SEED = 1
REQUEST_TIMEOUT = 8.0  # seconds one request may take before it counts as a timeout (the node's own EVM timeout is 5 s)
WATCH_INTERVAL = 0.1
WATCH_TIMEOUT = 1.0
LOOP_CALL_TIMEOUT = 15.0  # the concurrent loop calls: long enough to see a queue behind the EVM timeout
MARGIN = 30.0  # seconds past the budget after which everything is killed
RECOVERY_WAIT = 10.0  # after a timeout, how long to wait for the node to answer again
RESTART_TIMEOUT = 30.0
BLOCK_PERIOD = 1.0
SHARES = {"fuzz": 0.42, "bad_txs": 0.18, "kill9": 0.4}  # of the budget left once the node is up
FUZZ_SPLIT = {"systematic": 0.2, "methods": 0.45, "ws": 0.1, "envelopes": 0.1, "executing": 0.15}
EXAMPLES_KEPT = 12  # per outcome and phase
LOAD_SENDERS = (0, 1, 2, 3, 4)  # dev accounts the kill9 phase's load uses
BAD_TX_KEYS = {"key": 8, "scenario_key": 9, "heavy_key": 6, "honest": 7}
LOAD_WINDOW = 24  # unconfirmed transfers per load sender
LOAD_INTERVAL = 0.1  # seconds between one sender's sends

HANDLED, INTERNAL, OTHER, NO_ANSWER, MALFORMED = "handled", "internal_error", "other_error", "no_answer", "malformed_answer"
TIMEOUT, CONNECTION, CRASH = "timeout", "connection_error", "crash"
OUTCOMES = (HANDLED, INTERNAL, OTHER, NO_ANSWER, MALFORMED, TIMEOUT, CONNECTION, CRASH)
CLIENT_CODES = {-32700, -32600, -32601, -32602, 3} | set(range(-32099, -31999))
INTERNAL_ERROR = -32603


class Aborted(Exception):
    """The hard deadline passed."""


class SlotOver(Exception):
    """A method's share of the fuzz phase is used up: ends its hypothesis run without generating the rest."""


# -- transport -------------------------------------------------------------------------------------
def http_request(port: int, body: bytes, timeout: float = REQUEST_TIMEOUT, headers: dict | None = None,
                 verb: str = "POST", path: str = "/", chunked: bool = False) -> tuple[int, bytes]:
    """One HTTP request on a fresh connection: (status, body). Raises on transport failures."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        if chunked:
            pieces = [body[i : i + 65_536] for i in range(0, len(body), 65_536)]
            conn.request(verb, path, body=iter(pieces), headers=all_headers, encode_chunked=True)
        else:
            conn.request(verb, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class RpcFailure(Exception):
    pass


def rpc(port: int, method: str, params: list | None = None, timeout: float = REQUEST_TIMEOUT) -> Any:
    _, data = http_request(port, request_body(method, params or []), timeout)
    reply = json.loads(data)
    if not isinstance(reply, dict) or "result" not in reply:
        raise RpcFailure(str(reply)[:300])
    return reply["result"]


def rpc_batch(port: int, calls: list[tuple[str, list]], timeout: float = 15.0) -> list[Any]:
    """Results of a batch in call order (None for an item answered with an error)."""
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
    _, data = http_request(port, body.encode(), timeout)
    replies = json.loads(data)
    if not isinstance(replies, list):
        raise RpcFailure(str(replies)[:300])
    by_id = {r.get("id"): r.get("result") for r in replies if isinstance(r, dict)}
    return [by_id.get(i) for i in range(len(calls))]


def classify_item(item: object) -> tuple[str, Any, str]:
    if not isinstance(item, dict):
        return MALFORMED, None, str(item)[:200]
    error = item.get("error")
    if error is not None:
        if not isinstance(error, dict):
            return MALFORMED, None, str(error)[:200]
        code, message = error.get("code"), str(error.get("message", ""))[:300]
        if code == INTERNAL_ERROR:
            return INTERNAL, code, message
        return (HANDLED if code in CLIENT_CODES else OTHER), code, message
    if "result" in item:
        return HANDLED, None, ""
    return MALFORMED, None, str(item)[:200]


def classify(data: bytes, expect_answer: bool = True) -> tuple[str, Any, str]:
    """(outcome, error code, message) of a JSON-RPC answer body (single or batch)."""
    if not data.strip():
        return (NO_ANSWER, None, "empty body") if expect_answer else (HANDLED, None, "")
    try:
        reply = json.loads(data)
    except ValueError:
        return MALFORMED, None, data[:200].decode(errors="replace")
    if isinstance(reply, list):
        if not reply:
            return MALFORMED, None, "empty batch answer"
        results = [classify_item(item) for item in reply]
        for outcome in (INTERNAL, MALFORMED, OTHER):
            for result in results:
                if result[0] == outcome:
                    return outcome, result[1], f"batch of {len(reply)}: {result[2]}"
        return HANDLED, None, f"batch of {len(reply)} answers"
    return classify_item(reply)


# -- the node under test -----------------------------------------------------------------------------
class Node:
    """`linen node` as a subprocess; restartable on the same data dir and port."""

    def __init__(self, workdir: Path, abort: threading.Event) -> None:
        self.workdir = workdir
        self.abort = abort
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = workdir / "node.log"
        config = workdir / "linen.toml"
        config.write_text(self._config_text())
        self.args = [
            sys.executable, "-m", "linen.cli", "node", "--config", str(config), "--data-dir", str(workdir / "data"),
            "--rpc-port", str(self.port), "--block-period", f"{BLOCK_PERIOD:g}", "--create-empty-blocks",
        ]
        self.proc: subprocess.Popen | None = None
        self.up = False  # meant to be serving (False while killed on purpose)
        self.up_since = 0.0
        self.starts = 0
        self.lock = threading.Lock()

    @staticmethod
    def _config_text() -> str:
        from linen.config import SCHEMA

        lines = []
        if ("rpc", "auth-port") in SCHEMA:  # the authenticated endpoint on a free port (8551 could clash)
            lines += ["[rpc]", "auth-port = 0"]
        return "\n".join(lines) + "\n"

    @property
    def pid(self) -> int | None:
        proc = self.proc
        return proc.pid if proc is not None else None

    def alive(self) -> bool:
        proc = self.proc
        return proc is not None and proc.poll() is None

    def start(self, timeout: float = RESTART_TIMEOUT) -> float:
        """Start (or restart) and wait until it answers; returns the seconds that took."""
        begin = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== hostile bench: start #{self.starts + 1} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd())
        self.starts += 1
        deadline = begin + timeout
        while time.monotonic() < deadline and not self.abort.is_set():
            if self.proc.poll() is not None:
                raise RuntimeError(f"linen node exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                rpc(self.port, "eth_blockNumber", timeout=1.0)
                self.up_since = time.monotonic()
                self.up = True
                return self.up_since - begin
            except (OSError, ValueError, RpcFailure, http.client.HTTPException):
                time.sleep(0.1)
        self.kill9()
        raise TimeoutError(f"linen node did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def kill9(self) -> None:
        self.up = False
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)

    def stop(self) -> int | None:
        self.up = False
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        return proc.returncode

    def restart(self) -> float:
        self.kill9()
        return self.start()

    def auth(self) -> tuple[int, dict[str, str]] | None:
        """(port, fresh Authorization header) of the node's authenticated endpoint, None if it has none."""
        data = self.workdir / "data"
        try:
            from linen.rpc.auth import auth_header, read_secret

            url = (data / "auth-rpc.url").read_text().strip()
            return int(url.rsplit(":", 1)[1].strip("/")), auth_header(read_secret(data / "jwt.hex"))
        except Exception:  # noqa: BLE001 - an older node without it, or not written yet
            return None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# -- the watchdog ----------------------------------------------------------------------------------------
def read_rss_kb(pid: int | None) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB of `pid`, zeros if unreadable."""
    if pid is None:
        return 0, 0
    rss = hwm = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class Watchdog(threading.Thread):
    """eth_blockNumber every 100 ms (1 s timeout): the longest silence, the longest head stall, peak RSS."""

    def __init__(self, node: Node, t0: float) -> None:
        super().__init__(name="hostile-watchdog", daemon=True)
        self.node = node
        self.t0 = t0
        self.stopping = threading.Event()
        self.phase = "setup"
        self.answers = collections.Counter()
        self.failures = collections.Counter()
        self.max_gap: dict[str, float] = collections.defaultdict(float)
        self.max_gap_at: dict[str, float] = {}
        self.max_stall: dict[str, float] = collections.defaultdict(float)
        self.peak_rss_kb = 0
        self.peak_rss_phase: dict[str, int] = collections.defaultdict(int)
        self.peak_rss_during = ""  # what was being sent when the RSS was highest
        self.last_hwm: dict[int | None, int] = {}
        self.activity: Callable[[], str] = lambda: ""
        self.last_ok: float | None = None
        self.last_block: int | None = None
        self.last_block_change: float | None = None
        self.head = 0

    def _sample_memory(self) -> None:
        """Every 50 ms, apart from the RPC probe (which a frozen node would hold up)."""
        while not self.stopping.wait(0.05):
            phase, pid = self.phase, self.node.pid
            rss, hwm = read_rss_kb(pid)
            # VmHWM catches a peak between two samples; it only grows, so it counts where it grew
            peak = max(rss, hwm) if hwm > self.last_hwm.get(pid, 0) else rss
            self.last_hwm[pid] = max(hwm, self.last_hwm.get(pid, 0))
            self.peak_rss_phase[phase] = max(self.peak_rss_phase[phase], peak)
            if peak > self.peak_rss_kb:
                self.peak_rss_during = f"{phase}: {self.activity()}"[:300]
                self.peak_rss_kb = peak

    def run(self) -> None:
        threading.Thread(target=self._sample_memory, name="hostile-rss", daemon=True).start()
        while not self.stopping.wait(WATCH_INTERVAL):
            node, phase = self.node, self.phase
            if not node.up:
                continue
            up_since = node.up_since
            number = None
            try:
                number = int(rpc(node.port, "eth_blockNumber", timeout=WATCH_TIMEOUT), 16)
            except Exception:  # noqa: BLE001 - any failure is a missed answer
                self.failures[phase] += 1
            now = time.monotonic()
            if not node.up or node.up_since != up_since:  # killed or restarted meanwhile: not a silence
                self.last_ok = self.last_block_change = None
                continue
            since = max(self.last_ok or up_since, up_since)
            gap = now - since
            if gap > self.max_gap[phase]:
                self.max_gap[phase] = gap
                self.max_gap_at[phase] = round(since - self.t0, 1)
            if number is None:
                continue
            self.answers[phase] += 1
            self.last_ok = now
            self.head = number
            if self.last_block_change is None or self.last_block_change < up_since or number != self.last_block:
                self.last_block, self.last_block_change = number, now
            self.max_stall[phase] = max(self.max_stall[phase], now - self.last_block_change)

    def report(self) -> dict[str, Any]:
        phases = sorted(set(self.answers) | set(self.failures) | set(self.max_gap))
        return {
            "answers": sum(self.answers.values()),
            "failures": sum(self.failures.values()),
            "longest_unanswered_s": round(max(self.max_gap.values(), default=0.0), 2),
            "longest_head_stall_s": round(max(self.max_stall.values(), default=0.0), 2),
            "peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
            "peak_rss_during": self.peak_rss_during,
            "per_phase": {
                p: {"answers": self.answers[p], "failures": self.failures[p],
                    "longest_unanswered_s": round(self.max_gap[p], 2), "started_at_s": self.max_gap_at.get(p),
                    "longest_head_stall_s": round(self.max_stall[p], 2),
                    "peak_rss_mb": round(self.peak_rss_phase[p] / 1024, 1)}
                for p in phases
            },
        }


# -- recording ---------------------------------------------------------------------------------------------
def _show(value: Any, limit: int = 600) -> str:
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
            self.slowest.append((seconds, method, _show(request, 300), f"{outcome} {code or ''} {message[:120]}"))
            self.slowest = sorted(self.slowest, reverse=True)[:10]
        if outcome == HANDLED:
            return
        key = (outcome, method, code, re.sub(r"\d+", "N", message)[:80])
        if outcome == INTERNAL:  # every distinct defect request is worth a reproducer
            key += (_show(request, 100),)
        if key in self.seen_defects or len(self.examples[outcome]) >= EXAMPLES_KEPT:
            return
        self.seen_defects.add(key)
        example = {"method": method, "request": _show(request), "code": code, "message": message[:300],
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
                rpc(self.node.port, "eth_blockNumber", timeout=1.0)
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
            first = int(rpc(self.node.port, "eth_blockNumber", timeout=2.0), 16)
            second = first
            end = time.monotonic() + BLOCK_PERIOD * 3.5
            while second <= first and time.monotonic() < end:
                time.sleep(0.2)
                second = int(rpc(self.node.port, "eth_blockNumber", timeout=2.0), 16)
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
        self.current = f"{method} {_show(request, 160)}"
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
        stall = {"phase": phase, "method": method, "request": _show(request, 300), **extra}
        if recovered is None and not self.abort.is_set():
            stall["restarted"] = True
            self.echo(f"  node unresponsive {seconds + RECOVERY_WAIT:.0f}s after {method}: kill -9 and restart")
            self._restart(f"unresponsive for {seconds + RECOVERY_WAIT:.0f}s after {method} {_show(request, 200)}")
        self.stalls.append(stall)
        return extra


# -- phase 1: fuzz ---------------------------------------------------------------------------------------------
def _known_values(bench: Bench) -> Known:
    known = Known()
    port = bench.node.port
    known.addresses += [a.address for a in dev_accounts()]
    with contextlib.suppress(Exception):
        for n in range(0, 3):
            block = rpc(port, "eth_getBlockByNumber", [hex(n), False])
            if block:
                known.hashes.append(block["hash"])
    with contextlib.suppress(Exception):
        known.filter_ids.append(rpc(port, "eth_newBlockFilter", []))
        known.filter_ids.append(rpc(port, "eth_newFilter", [{"fromBlock": "earliest"}]))
    return known


def _hypothesis_run(strategy: Any, max_examples: int, seed: int, body: Callable[[Any], None],
                    bench_abort_set: Callable[[], bool] = lambda: False) -> None:
    """Run `body` on up to `max_examples` generated values: no shrinking, no database, no deadline."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    @hypothesis_seed(seed)
    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False, verbosity=Verbosity.quiet)
    @given(strategy)
    def run(value: Any) -> None:
        body(value)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hypothesis warns about the large reprs it is asked to build
            run()
    except (Aborted, SlotOver):
        pass
    except Exception as exc:  # noqa: BLE001 - hypothesis' own complaints (flaky, unsatisfiable) end this method only
        if "Aborted" in repr(exc):
            raise Aborted from exc
    if bench_abort_set():
        raise Aborted


def phase_fuzz(bench: Bench, seconds: float, seed: int) -> dict[str, Any]:
    try:
        import hypothesis  # noqa: F401
    except ImportError:  # pragma: no cover - the test extras install it
        return {"skipped": "hypothesis is not installed: pip install -e '.[test]'"}
    tally = Tally("fuzz")
    begin = time.monotonic()
    known = _known_values(bench)
    kinds = strategies(known)
    names = fuzz_order(method_names())
    plain = [n for n in names if n not in EXECUTING]
    executing = [n for n in names if n in EXECUTING]
    deadline_all = begin + seconds
    deadline_systematic = begin + seconds * FUZZ_SPLIT["systematic"]
    deadline_plain = deadline_systematic + seconds * FUZZ_SPLIT["methods"]
    deadline_ws = deadline_plain + seconds * FUZZ_SPLIT["ws"]
    deadline_envelopes = deadline_ws + seconds * FUZZ_SPLIT["envelopes"]
    skipped: list[str] = []
    systematic_skipped = 0
    error = None
    bench_errors: list[dict] = []
    looping_skipped: collections.Counter = collections.Counter()

    auth_only = _auth_only_methods(bench, names)
    auth_methods = [f"(auth) {n}" for n in auth_only]
    plain += auth_methods

    def fuzz(label: str, until: float, methods_left: int) -> None:
        """This method's share of the time left until `until` (a slow one shortens the later ones' shares)."""
        slot = max(0.05, (until - time.monotonic()) / methods_left)
        deadline = time.monotonic() + slot
        method = label.removeprefix("(auth) ")
        on_auth = label != method

        def body(params: Any) -> None:
            if time.monotonic() >= deadline or bench.abort.is_set():
                raise SlotOver
            if method in EXECUTING and may_loop(params):
                looping_skipped[method] += 1  # LOOP_CALLS covers these, all at once
                return
            try:
                target: dict[str, Any] = {}
                if on_auth:
                    auth = bench.node.auth()
                    if auth is None:
                        raise SlotOver
                    target = {"port": auth[0], "headers": auth[1]}
                bench.send(tally, label, request_body(method, params), params, deadline=deadline, **target)
            except (Aborted, SlotOver):
                raise
            except Exception as exc:  # noqa: BLE001 - a benchmark bug must not stop the run: note it
                bench_errors.append({"method": method, "params": _show(params, 300),
                                     "error": "".join(traceback.format_exception(exc))[-1500:]})

        _hypothesis_run(params_strategy(method, kinds), 2_000, seed, body, bench.abort.is_set)

    try:
        systematic_skipped = systematic(bench, tally, names, known, deadline_systematic)
        for index, method in enumerate(plain):
            fuzz(method, deadline_plain, len(plain) - index)
        fuzz_ws(bench, tally, max(1.0, deadline_ws - time.monotonic()), kinds, seed)
        for name, case in envelopes():
            if time.monotonic() >= max(deadline_envelopes, deadline_ws + 2.0):
                skipped.append(name)
                continue
            send_envelope(bench, tally, name, case)
        auth_attacks(bench, tally, auth_only)
        loop_calls(bench, tally)
        for index, method in enumerate(executing):
            fuzz(method, deadline_all, len(executing) - index)
    except Aborted:
        pass
    except Exception as exc:  # noqa: BLE001 - a bug of the benchmark: keep what was measured
        error = f"{type(exc).__name__}: {exc}"[:500]
    report = tally.report()
    if error:
        report["error"] = error
    report["methods"] = names
    report["auth_only_methods"] = auth_only
    report["ws_methods"] = list(WS_METHODS)
    report["envelopes_skipped"] = skipped
    report["systematic_skipped"] = systematic_skipped
    report["benchmark_errors"] = bench_errors[:10]
    report["generated_looping_params_skipped"] = dict(looping_skipped)
    return report


def systematic(bench: Bench, tally: Tally, names: list[str], known: Known, deadline: float) -> int:
    """Every method with each hostile leaf in each slot and object field; returns how many were left unsent."""
    per_method = [[(m, p) for p in systematic_cases(m, known)] for m in names if m not in WS_METHODS]
    # round-robin over the methods, so a short phase still reaches every one of them
    cases = [case for row in itertools.zip_longest(*per_method) for case in row if case is not None]
    sent = 0
    for method, params in cases:
        if time.monotonic() >= deadline:
            break
        if method in EXECUTING and may_loop(params):
            continue
        bench.send(tally, method, request_body(method, params), params)
        sent += 1
    return len(cases) - sent


def _auth_only_methods(bench: Bench, names: list[str]) -> list[str]:
    """The registry's methods the public port says do not exist: served on the authenticated endpoint only."""
    if bench.node.auth() is None:
        return []
    try:
        replies = rpc_batch_raw(bench.node.port, [(n, []) for n in names])
    except Exception:  # noqa: BLE001
        return []
    return [n for n, r in zip(names, replies, strict=True)
            if isinstance(r, dict) and (r.get("error") or {}).get("code") == -32601]


def auth_attacks(bench: Bench, tally: Tally, auth_only: list[str]) -> None:
    """Write methods on the authenticated endpoint without a valid token: each must be refused."""
    auth = bench.node.auth()
    if auth is None or not auth_only:
        return
    import base64

    port, good = auth
    token = good["Authorization"].removeprefix("Bearer ")
    head, payload, signature = token.split(".")

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    stale = b64({"iat": int(time.time()) - 3600})
    tampered = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    headers = {
        "no Authorization header": {},
        "Bearer with an empty token": {"Authorization": "Bearer "},
        "Basic scheme": {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
        "alg none": {"Authorization": f"Bearer {b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."},
        "tampered signature": {"Authorization": f"Bearer {head}.{payload}.{tampered}"},
        "stale iat, old signature": {"Authorization": f"Bearer {head}.{stale}.{signature}"},
        "a 100 KB token": {"Authorization": "Bearer " + "a" * 50_000 + "." + "b" * 50_000 + ".c"},
    }
    method = auth_only[0]
    params: list = []
    for name, header in headers.items():
        label = f"(auth attack) {name}"
        begin = time.monotonic()
        try:
            status, data = http_request(port, request_body(method, params), REQUEST_TIMEOUT, headers=header)
        except (OSError, http.client.HTTPException) as exc:
            tally.add(label, {"method": method, "headers": header}, bench.transport_failure(exc), message=str(exc))
            continue
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and "result" in reply:  # the write went through: an authentication bypass
            tally.add(label, {"method": method, "headers": header}, OTHER, None,
                      f"AUTH BYPASS: HTTP {status} answered with a result", time.monotonic() - begin)
        elif status >= 500:
            tally.add(label, {"method": method, "headers": header}, OTHER, None, f"HTTP {status}",
                      time.monotonic() - begin)
        else:
            tally.add(label, {"method": method, "headers": header}, HANDLED, seconds=time.monotonic() - begin)


def rpc_batch_raw(port: int, calls: list[tuple[str, list]], timeout: float = 15.0) -> list[Any]:
    """The whole answer objects of a batch, in call order."""
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
    _, data = http_request(port, body.encode(), timeout)
    replies = json.loads(data)
    by_id = {r.get("id"): r for r in replies if isinstance(r, dict)} if isinstance(replies, list) else {}
    return [by_id.get(i) for i in range(len(calls))]


def loop_calls(bench: Bench, tally: Tally) -> None:
    """The infinite-loop calls of LOOP_CALLS, all at once: each should end at the node's EVM timeout."""
    threads = []
    for method, params in LOOP_CALLS:
        label = f"(loop, concurrent) {method}"
        thread = threading.Thread(target=bench.send, args=(tally, label, request_body(method, params), params),
                                  kwargs={"timeout": LOOP_CALL_TIMEOUT}, daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join(LOOP_CALL_TIMEOUT + RECOVERY_WAIT + 2)


def send_envelope(bench: Bench, tally: Tally, name: str, case: dict[str, Any]) -> None:
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
                rpc(bench.node.port, "eth_blockNumber", timeout=2.0)
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


def fuzz_ws(bench: Bench, tally: Tally, seconds: float, kinds: dict[str, Any], seed: int) -> None:
    """eth_subscribe / eth_unsubscribe with generated params, and raw hostile frames, over WebSocket."""
    if seconds <= 0:
        return
    messages: list[tuple[str, Any, bool]] = []
    for method in WS_METHODS:
        collected: list[Any] = []
        _hypothesis_run(params_strategy(method, kinds), 40, seed, collected.append)
        messages += [(method, request_body(method, p).decode("utf-8", errors="surrogatepass"), False)
                     for p in collected]
    messages += [("(ws frame) " + name, frame, name.startswith("11 MB")) for name, frame in WS_RAW]
    asyncio.run(_ws_session(bench, tally, messages, time.monotonic() + seconds))


async def _ws_session(bench: Bench, tally: Tally, messages: list[tuple[str, Any, bool]], deadline: float) -> None:
    import aiohttp

    ws = None
    async with aiohttp.ClientSession() as session:
        try:
            for method, frame, close_ok in messages:
                if time.monotonic() >= deadline or bench.abort.is_set():
                    break
                begin = time.monotonic()
                try:
                    if ws is None or ws.closed:
                        ws = await session.ws_connect(bench.node.ws_url, max_msg_size=0,
                                                      timeout=aiohttp.ClientWSTimeout(ws_close=REQUEST_TIMEOUT))
                    await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
                    outcome, code, message = await _ws_answer(ws, close_ok)
                except TimeoutError:
                    outcome, code, message = TIMEOUT, None, "no answer within the timeout"
                    with contextlib.suppress(Exception):
                        await ws.close()
                except (aiohttp.ClientError, OSError, ConnectionError) as exc:
                    outcome, code, message = bench.transport_failure(exc), None, str(exc)[:200]
                    if outcome == CONNECTION and close_ok:
                        outcome = HANDLED
                tally.add(method, frame if len(frame) < 2000 else frame[:300], outcome, code, message,
                          time.monotonic() - begin)
        finally:
            if ws is not None:
                await ws.close()


async def _ws_answer(ws: Any, close_ok: bool) -> tuple[str, Any, str]:
    from aiohttp import WSMsgType

    while True:
        msg = await asyncio.wait_for(ws.receive(), REQUEST_TIMEOUT)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
            return (HANDLED if close_ok else CONNECTION), None, f"closed: {ws.close_code}"
        data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
        if b'"eth_subscription"' in data[:200]:
            continue  # a notification, not the answer
        return classify(data)


# -- phase 2: bad transactions ---------------------------------------------------------------------------------
def phase_bad_txs(bench: Bench, seconds: float) -> dict[str, Any]:
    tally = Tally("bad_txs")
    port = bench.node.port
    deadline = time.monotonic() + seconds
    accounts = dev_accounts()
    keys = {role: Key.from_hex(accounts[i].private_key) for role, i in BAD_TX_KEYS.items()}
    chain_id = int(rpc(port, "eth_chainId"), 16)

    def send(param: Any) -> dict:
        body = request_body("eth_sendRawTransaction", [param])
        try:
            _, data = http_request(bench.node.port, body, REQUEST_TIMEOUT)
            reply = json.loads(data)
            return reply if isinstance(reply, dict) else {"outcome": MALFORMED, "detail": str(reply)[:200]}
        except (OSError, ValueError, http.client.HTTPException) as exc:
            outcome = MALFORMED if isinstance(exc, ValueError) else bench.transport_failure(exc)
            return {"outcome": outcome, "detail": f"{type(exc).__name__}: {exc}"}

    def nonce_of(address: bytes) -> int:
        return int(rpc(bench.node.port, "eth_getTransactionCount", [hx(address), "pending"]), 16)

    def wait_receipt(tx_hash: str, timeout: float) -> dict | None:
        end = min(time.monotonic() + timeout, deadline + 5)
        while time.monotonic() < end and not bench.abort.is_set():
            with contextlib.suppress(Exception):
                receipt = rpc(bench.node.port, "eth_getTransactionReceipt", [tx_hash], timeout=2.0)
                if receipt:
                    return receipt
            time.sleep(0.25)
        return None

    ctx = Ctx(chain_id, keys["key"], keys["scenario_key"], keys["heavy_key"], Key(os.urandom(32)), send, nonce_of,
              wait_receipt)
    cases: list[dict[str, Any]] = []
    unexpected: list[dict[str, Any]] = []
    try:
        for name, expect, build in CASES:
            bench.check_abort()
            if time.monotonic() >= deadline:
                cases.append({"name": name, "expected": expect, "answer": "skipped: out of time"})
                continue
            begin = time.monotonic()
            bench.current = f"bad tx: {name}"
            try:
                param = build(ctx)
            except Exception as exc:  # noqa: BLE001 - the node failed a helper query (nonce, receipt)
                cases.append({"name": name, "expected": expect, "answer": "not built", "detail": str(exc)[:300]})
                continue
            reply = send(param)
            elapsed = time.monotonic() - begin
            summary = reply_summary(reply)
            answer = summary["answer"]
            if answer == "refused":
                outcome, code, message = classify_item(reply)
            elif answer == "accepted":
                outcome, code, message = HANDLED, None, ""
            else:
                outcome, code, message = answer, None, summary.get("detail", "")
            extra = None
            if outcome == TIMEOUT:
                extra = bench.after_timeout("bad_txs", "eth_sendRawTransaction", {"case": name}, elapsed)
                summary.update(extra)
            tally.add("eth_sendRawTransaction", {"case": name, "raw": _show(param, 300)}, outcome, code, message,
                      elapsed, extra)
            entry = {"name": name, "expected": expect, **summary, "seconds": round(elapsed, 3),
                     "raw_bytes": (len(param) - 2) // 2 if isinstance(param, str) else None}
            if answer in ("accepted", "refused") and expect != "any" and answer[:3] != expect[:3]:
                entry["unexpected"] = True
                unexpected.append({"name": name, "expected": expect, "got": answer,
                                   "message": summary.get("message"), "raw": _show(param, 400)})
            cases.append(entry)
        _settle_accepted(bench, cases, deadline - 3.0)
        honest = _honest_transfer(bench, ctx, keys["honest"], max(8.0, deadline - time.monotonic()))
    except Aborted:
        honest = {"included": False, "detail": "aborted at the hard deadline"}
    report = tally.report()
    report.update({"cases": cases, "cases_total": len(CASES), "unexpected": unexpected, "honest_transfer": honest})
    return report


def _settle_accepted(bench: Bench, cases: list[dict[str, Any]], deadline: float) -> None:
    """Where the accepted bad-list transactions ended up: their receipt status, or still pooled."""
    accepted = [c for c in cases if c.get("answer") == "accepted" and isinstance(c.get("hash"), str)]
    if not accepted:
        return
    receipts: list = []
    end = min(time.monotonic() + BLOCK_PERIOD * 6, deadline)
    while time.monotonic() < end and not bench.abort.is_set():
        time.sleep(BLOCK_PERIOD)
        with contextlib.suppress(Exception):
            receipts = rpc_batch(bench.node.port, [("eth_getTransactionReceipt", [c["hash"]]) for c in accepted])
        if receipts and sum(1 for r in receipts if r) >= len(accepted) - 1:  # the queued (+5 gap) one stays
            break
    if receipts:
        for case, receipt in zip(accepted, receipts, strict=True):
            case["receipt"] = ("not included yet" if not receipt else
                               {"status": receipt.get("status"), "gasUsed": receipt.get("gasUsed"),
                                "block": receipt.get("blockNumber")})


def _honest_transfer(bench: Bench, ctx: Ctx, key: Key, timeout: float) -> dict[str, Any]:
    """After the bad list: a plain transfer must be included within a few blocks (the chain moves)."""
    begin = time.monotonic()
    try:
        head = int(rpc(bench.node.port, "eth_blockNumber", timeout=2.0), 16)
        raw = hx(ctx.t2(key))
    except Exception as exc:  # noqa: BLE001
        return {"included": False, "detail": f"node did not answer: {exc}"[:300]}
    reply = ctx.send(raw)
    if not isinstance(reply.get("result"), str):
        return {"included": False, "detail": f"refused: {reply_summary(reply)}"}
    receipt = ctx.wait_receipt(reply["result"], min(timeout, 15.0))
    if receipt is None:
        return {"included": False, "hash": reply["result"], "head_before": head,
                "detail": f"no receipt within {time.monotonic() - begin:.1f}s"}
    return {"included": True, "hash": reply["result"], "blocks_after_send": int(receipt["blockNumber"], 16) - head,
            "seconds": round(time.monotonic() - begin, 2), "status": receipt.get("status")}


# -- phase 3: kill -9 under load ----------------------------------------------------------------------------------
class Load:
    """Honest transfers from the dev accounts, a receipt poller, and what each of them saw."""

    def __init__(self, bench: Bench, rng: random.Random, chain_id: int) -> None:
        self.bench = bench
        self.chain_id = chain_id
        accounts = dev_accounts()
        self.keys = [Key.from_hex(accounts[i].private_key) for i in LOAD_SENDERS]
        self.recipients = [bytes(rng.getrandbits(8) for _ in range(20)) for _ in LOAD_SENDERS]
        self.values = [rng.randrange(1, 10**6) for _ in range(4096)]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: dict[str, tuple[int, int, int]] = {}  # hash -> (sender index, nonce, value)
        self.unconfirmed: dict[str, int] = {}  # hash -> sender index
        self.seen: dict[str, dict[str, Any]] = {}  # hash -> {block, blockHash, epoch}
        self.refusals: collections.Counter = collections.Counter()
        self.epoch = 0  # kills so far
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(len(self.keys)):
            self.threads.append(threading.Thread(target=self._sender, args=(index,), daemon=True))
        self.threads.append(threading.Thread(target=self._poller, daemon=True))
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 2)

    def _sender(self, index: int) -> None:
        key, to = self.keys[index], self.recipients[index]
        nonce: int | None = None
        count = 0
        while not self.stop.is_set():
            node = self.bench.node
            if not node.up:
                nonce = None
                time.sleep(0.1)
                continue
            try:
                if nonce is None:
                    nonce = int(rpc(node.port, "eth_getTransactionCount", [hx(key.address), "pending"], 2.0), 16)
                with self.lock:
                    waiting = sum(1 for s in self.unconfirmed.values() if s == index)
                if waiting >= LOAD_WINDOW:
                    time.sleep(0.2)
                    continue
                value = self.values[count % len(self.values)]
                fields = [be(self.chain_id), be(nonce), be(10**8), be(10**9), be(21_000), to, be(value), b"", []]
                raw = typed(2, fields, key)
                _, data = http_request(node.port, request_body("eth_sendRawTransaction", [hx(raw)]), 2.0)
                reply = json.loads(data)
                if isinstance(reply, dict) and isinstance(reply.get("result"), str):
                    with self.lock:
                        self.sent[reply["result"]] = (index, nonce, value)
                        self.unconfirmed[reply["result"]] = index
                    nonce += 1
                    count += 1
                else:
                    message = str((reply.get("error") or {}).get("message", reply))[:60] if isinstance(reply, dict) else "?"
                    self.refusals[re.sub(r"\d+", "N", message)] += 1
                    nonce = None
                    time.sleep(0.2)
            except Exception:  # noqa: BLE001 - the node is being killed: resync once it is back
                nonce = None
                time.sleep(0.1)
            time.sleep(LOAD_INTERVAL)

    def _poller(self) -> None:
        while not self.stop.wait(0.3):
            node = self.bench.node
            if not node.up:
                continue
            with self.lock:
                hashes = list(self.unconfirmed)[:300]
                epoch = self.epoch
            if not hashes:
                continue
            try:
                receipts = rpc_batch(node.port, [("eth_getTransactionReceipt", [h]) for h in hashes], 3.0)
            except Exception:  # noqa: BLE001
                continue
            with self.lock:
                if epoch != self.epoch:
                    continue  # a kill happened while asking: do not credit these to the earlier epoch
                for tx_hash, receipt in zip(hashes, receipts, strict=True):
                    if receipt:
                        self.seen[tx_hash] = {"block": receipt["blockNumber"], "blockHash": receipt["blockHash"],
                                              "epoch": epoch}
                        self.unconfirmed.pop(tx_hash, None)

    def forget_unconfirmed(self) -> int:
        """After a kill: the pool is gone, the senders resync; unconfirmed ones are looked up at the end."""
        with self.lock:
            self.epoch += 1
            dropped = len(self.unconfirmed)
            self.unconfirmed.clear()
            return dropped


def phase_kill9(bench: Bench, seconds: float, kills: int, rng: random.Random) -> dict[str, Any]:
    node = bench.node
    deadline = time.monotonic() + seconds
    chain_id = int(rpc(node.port, "eth_chainId"), 16)
    load = Load(bench, rng, chain_id)
    addresses = [hx(k.address) for k in load.keys] + [hx(r) for r in load.recipients]
    start_head = int(rpc(node.port, "eth_blockNumber"), 16)
    start_balances = [int(b, 16) for b in rpc_batch(node.port, [("eth_getBalance", [a, "latest"]) for a in addresses])]
    start_nonces = [int(n, 16) for n in rpc_batch(node.port, [("eth_getTransactionCount", [hx(k.address), "latest"])
                                                               for k in load.keys])]
    events: list[dict[str, Any]] = []
    verify_reserve = min(12.0, 0.25 * seconds)  # seconds kept for the final checks
    cycle = max(2.0, (seconds - verify_reserve) / max(1, kills) - 3.0)  # load time between kills, minus a restart
    load.start()
    bench.current = "kill9: load from dev accounts 0-4"
    try:
        for number in range(kills):
            wait = rng.uniform(0.4 * cycle, cycle)
            if time.monotonic() + wait + 2.0 > deadline - verify_reserve:
                events.append({"kill": number + 1, "skipped": "out of time"})
                break
            time.sleep(wait)
            bench.check_abort()
            with load.lock:
                seen_before = len(load.seen)
            head = bench.watchdog.head
            node.kill9()
            pooled = load.forget_unconfirmed()
            try:
                restart = node.start()
            except (RuntimeError, TimeoutError) as exc:
                events.append({"kill": number + 1, "restart_failed": str(exc)[:500]})
                bench.crashes.append({"phase": "kill9", "restart_failed": str(exc)[:1500]})
                raise Aborted from exc
            head_after = int(rpc(node.port, "eth_blockNumber", timeout=2.0), 16)
            events.append({"kill": number + 1, "at_s": round(time.monotonic() - bench.watchdog.t0, 1),
                           "receipts_seen_before": seen_before, "unconfirmed_at_kill": pooled,
                           "head_seen_before": head, "head_after_restart": head_after, "restart_s": round(restart, 2)})
        time.sleep(min(2.0, max(0.0, deadline - verify_reserve - time.monotonic())))
    except Aborted:
        pass
    finally:
        load.join()
    if bench.abort.is_set() or not node.alive():
        return {"events": events, "aborted": True, "sent": len(load.sent), "receipts_seen": len(load.seen)}
    time.sleep(BLOCK_PERIOD * 2)  # the last accepted transfers get their block
    checks = _verify(bench, load, addresses, start_balances, start_nonces, start_head)
    return {"kills_done": sum(1 for e in events if "restart_s" in e), "events": events, "sent": len(load.sent),
            "receipts_seen": len(load.seen), "load_refusals": dict(load.refusals.most_common(8)), **checks}


def _verify(bench: Bench, load: Load, addresses: list[str], start_balances: list[int], start_nonces: list[int],
            start_head: int) -> dict[str, Any]:
    port = bench.node.port
    hashes = list(load.sent)
    receipts: dict[str, dict] = {}
    for i in range(0, len(hashes), 200):
        chunk = hashes[i : i + 200]
        for tx_hash, receipt in zip(chunk, rpc_batch(port, [("eth_getTransactionReceipt", [h]) for h in chunk]),
                                    strict=True):
            if receipt:
                receipts[tx_hash] = receipt
    lost = []
    for tx_hash, seen in load.seen.items():
        now = receipts.get(tx_hash)
        if now is None or now["blockHash"] != seen["blockHash"] or now["blockNumber"] != seen["block"]:
            lost.append({"hash": tx_hash, "seen": seen, "now": None if now is None else
                         {"block": now["blockNumber"], "blockHash": now["blockHash"]}})
    head = int(rpc(port, "eth_blockNumber"), 16)
    canonical_mismatch = []
    seen_blocks = sorted({(int(s["block"], 16), s["blockHash"]) for s in load.seen.values()})
    for i in range(0, len(seen_blocks), 200):
        chunk = seen_blocks[i : i + 200]
        for (number, block_hash), block in zip(chunk, rpc_batch(port, [("eth_getBlockByNumber", [hex(n), False])
                                                                      for n, _ in chunk]), strict=True):
            if not block or block["hash"] != block_hash:
                canonical_mismatch.append({"block": number, "seen": block_hash, "now": block and block["hash"]})
    # nonces and balances
    included = collections.Counter()
    spent = [0] * len(load.keys)
    received = [0] * len(load.keys)
    for tx_hash, receipt in receipts.items():
        index, _nonce, value = load.sent[tx_hash]
        if receipt.get("status") != "0x1":
            continue
        included[index] += 1
        spent[index] += value + int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
        received[index] += value
    end_nonces = [int(n, 16) for n in rpc_batch(port, [("eth_getTransactionCount", [hx(k.address), "latest"])
                                                        for k in load.keys])]
    end_balances = [int(b, 16) for b in rpc_batch(port, [("eth_getBalance", [a, "latest"]) for a in addresses])]
    senders = len(load.keys)
    accounts = []
    for i in range(senders):
        accounts.append({
            "sender": addresses[i], "included": included[i], "nonce_delta": end_nonces[i] - start_nonces[i],
            "nonce_ok": end_nonces[i] - start_nonces[i] == included[i],
            "sender_balance_ok": start_balances[i] - end_balances[i] == spent[i],
            "recipient_balance_ok": end_balances[senders + i] - start_balances[senders + i] == received[i],
        })
    return {
        "state_manager": _state_manager_catch_up(port, head),
        "lost_receipts": len(lost),
        "lost_examples": lost[:10],
        "receipts_checked": len(load.seen),
        "blocks_no_longer_canonical": canonical_mismatch[:10],
        "accepted_never_included": sum(1 for h in hashes if h not in receipts),
        "included_total": len(receipts),
        "blocks": [start_head, head],
        "accounts": accounts,
        "balances_add_up": all(a["sender_balance_ok"] and a["recipient_balance_ok"] for a in accounts),
        "nonces_match_included": all(a["nonce_ok"] for a in accounts),
    }


def _state_manager_catch_up(port: int, head: int, timeout: float = 10.0) -> dict[str, Any]:
    """After the kills: the in-node state manager reaches the node's head (its trielogs survived kill -9)."""
    begin = time.monotonic()
    applied = None
    while time.monotonic() - begin < timeout:
        try:
            applied = int(rpc(port, "rollup_getZkEVMBlockNumber", timeout=2.0), 16)
        except Exception as exc:  # noqa: BLE001 - no state manager in this node
            return {"checked": False, "detail": str(exc)[:200]}
        if applied >= head:
            return {"checked": True, "caught_up": True, "head": head, "applied": applied,
                    "seconds": round(time.monotonic() - begin, 2)}
        time.sleep(0.5)
    return {"checked": True, "caught_up": False, "head": head, "applied": applied}


# -- the run ---------------------------------------------------------------------------------------------------------
LOG_PROBLEM_RE = re.compile(r"(ERROR|CRITICAL|Traceback|internal error)")


def _log_problems(path: Path, limit: int = 30) -> dict[str, Any]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    hits = [line[:300] for line in lines if LOG_PROBLEM_RE.search(line)]
    return {"count": len(hits), "tracebacks": sum(1 for line in lines if line.startswith("Traceback")),
            "first": hits[:limit]}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    phases = result["phases"]
    totals: collections.Counter = collections.Counter()
    internal_examples: list[dict] = []
    timeout_examples: list[dict] = []
    for name in ("fuzz", "bad_txs"):
        phase = phases.get(name) or {}
        totals.update(phase.get("outcomes", {}))
        internal_examples += [dict(e, phase=name) for e in phase.get("examples", {}).get(INTERNAL, [])]
        timeout_examples += [dict(e, phase=name) for e in phase.get("examples", {}).get(TIMEOUT, [])]
    kill = phases.get("kill9") or {}
    bad = phases.get("bad_txs") or {}
    watch = result["watchdog"]
    crashes = len(result["crashes"])  # each crash once (a request that found the node dead counts as `crash` too)
    return {
        "cases_tried": sum(totals.values()),
        "handled": totals[HANDLED],
        "internal_errors": totals[INTERNAL],
        "other_errors": totals[OTHER],
        "timeouts": totals[TIMEOUT],
        "no_answer": totals[NO_ANSWER],
        "malformed_answers": totals[MALFORMED],
        "connection_errors": totals[CONNECTION],
        "crashes": crashes,
        "forced_restarts": len(result["forced_restarts"]),
        "longest_unanswered_s": watch["longest_unanswered_s"],
        "longest_head_stall_s": watch["longest_head_stall_s"],
        "watchdog_answers": watch["answers"],
        "peak_rss_mb": watch["peak_rss_mb"],
        "bad_txs_unexpected": len(bad.get("unexpected", [])),
        "honest_tx_included_after_bad_txs": (bad.get("honest_transfer") or {}).get("included"),
        "kills": kill.get("kills_done", 0),
        "lost_receipts": kill.get("lost_receipts"),
        "balances_add_up": kill.get("balances_add_up"),
        "nonces_match_included": kill.get("nonces_match_included"),
        "state_manager_caught_up": (kill.get("state_manager") or {}).get("caught_up"),
        "internal_error_examples": internal_examples[:20],
        "timeout_examples": timeout_examples[:20],
    }


def run(budget: float = DEFAULT_BUDGET, seed: int = DEFAULT_SEED, kills: int = DEFAULT_KILLS,
        out: Path | str = DEFAULT_OUT, keep_workdir: bool = False,
        echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the three phases within `budget` seconds (hard stop at budget + MARGIN); write and return the JSON."""
    t0 = time.monotonic()
    started = datetime.datetime.now(datetime.UTC)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="linen-hostile-"))
    abort = threading.Event()
    node = Node(workdir, abort)
    watchdog = Watchdog(node, t0)
    hard_deadline = t0 + budget + MARGIN
    bench = Bench(node, watchdog, abort, hard_deadline, echo)

    def hard_stop() -> None:
        abort.set()
        node.kill9()

    timer = threading.Timer(budget + MARGIN, hard_stop)
    timer.daemon = True
    timer.start()
    phases: dict[str, Any] = {}
    error = None
    try:
        echo(f"starting linen node in {workdir} (port {node.port})")
        startup = node.start(timeout=min(60.0, budget))
        watchdog.start()
        order = ("fuzz", "bad_txs", "kill9")
        for name, fn in (("fuzz", lambda s: phase_fuzz(bench, s, seed)),
                         ("bad_txs", lambda s: phase_bad_txs(bench, s)),
                         ("kill9", lambda s: phase_kill9(bench, s, kills, rng))):
            if abort.is_set():
                phases[name] = {"skipped": "hard deadline passed"}
                continue
            # each phase its share of what is left, so one that overran takes from the ones after it
            left = budget - (time.monotonic() - t0)
            rest = order[order.index(name):]
            seconds = max(8.0, left * SHARES[name] / sum(SHARES[n] for n in rest))
            echo(f"phase {name}: {seconds:.0f}s")
            watchdog.phase = name
            try:
                if name != "fuzz":
                    bench.ensure_healthy(name)
                phase_begin = time.monotonic()
                phases[name] = fn(seconds)
                phases[name]["phase_s"] = round(time.monotonic() - phase_begin, 1)
            except Aborted:
                phases[name] = {"aborted": "hard deadline passed or the node could not be restarted"}
            except Exception as exc:  # noqa: BLE001 - a phase that fails is reported, the others still run
                phases[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    except (RuntimeError, TimeoutError) as exc:
        error = str(exc)[:2000]
    finally:
        timer.cancel()
        watchdog.stopping.set()
        exit_code = node.stop()
        watchdog.join(3)
    result: dict[str, Any] = {
        "summary": {},
        "phases": phases,
        "watchdog": watchdog.report(),
        "crashes": bench.crashes,
        "forced_restarts": bench.forced_restarts,
        "stalls": bench.stalls[:30],
        "node_log_problems": _log_problems(node.log_path),
        "node": {"args": node.args[2:], "starts": node.starts, "exit_code_at_stop": exit_code,
                 "startup_s": round(startup, 2) if error is None else None},
        "config": {"budget_s": budget, "seed": seed, "kills": kills, "request_timeout_s": REQUEST_TIMEOUT,
                   "watch_interval_s": WATCH_INTERVAL, "watch_timeout_s": WATCH_TIMEOUT, "margin_s": MARGIN,
                   "shares": SHARES, "fuzz_split": FUZZ_SPLIT, "block_period_s": BLOCK_PERIOD},
        "machine": machine_info(("linen", "hypothesis", "aiohttp")),
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
    }
    if error:
        result["error"] = error
    result["summary"] = _summary(result)
    if keep_workdir or error:
        result["workdir"] = str(workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return publish(out, result, format_table, echo)


def strict_failures(result: dict[str, Any]) -> list[str]:
    """Why `--strict` fails the run: crashes, lost receipts or internal errors (empty when none)."""
    summary = result["summary"]
    reasons = []
    if summary["crashes"]:
        reasons.append(f"{summary['crashes']} crash(es)")
    if summary["lost_receipts"]:
        reasons.append(f"{summary['lost_receipts']} lost receipt(s)")
    if summary["internal_errors"]:
        reasons.append(f"{summary['internal_errors']} internal error(s)")
    if result.get("error"):
        reasons.append("the node did not start")
    return reasons


def format_table(result: dict[str, Any]) -> str:
    s = result["summary"]
    rows = [
        ("cases tried", s["cases_tried"]), ("handled", s["handled"]), ("internal errors (-32603)", s["internal_errors"]),
        ("other error codes", s["other_errors"]), ("timeouts", s["timeouts"]), ("no answer", s["no_answer"]),
        ("malformed answers", s["malformed_answers"]), ("connection errors", s["connection_errors"]),
        ("crashes", s["crashes"]), ("forced restarts (hung or stuck)", s["forced_restarts"]),
        ("longest eth_blockNumber silence", f"{s['longest_unanswered_s']} s"),
        ("longest head stall", f"{s['longest_head_stall_s']} s"), ("watchdog answers", s["watchdog_answers"]),
        ("peak RSS", f"{s['peak_rss_mb']} MB"), ("bad txs answered unexpectedly", s["bad_txs_unexpected"]),
        ("honest tx included after bad txs", s["honest_tx_included_after_bad_txs"]), ("kill -9s", s["kills"]),
        ("lost receipts", s["lost_receipts"]), ("balances add up", s["balances_add_up"]),
        ("nonces = included count", s["nonces_match_included"]),
        ("state manager caught up after kills", s["state_manager_caught_up"]),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append("")
    lines.append(f"{'phase':<8} {'tried':>6} {'handled':>8} {'internal':>8} {'timeout':>8} {'other':>6} {'silence s':>9}")
    for name in ("fuzz", "bad_txs"):
        phase = result["phases"].get(name) or {}
        outcomes = phase.get("outcomes", {})
        silence = result["watchdog"]["per_phase"].get(name, {}).get("longest_unanswered_s", "")
        other = sum(v for k, v in outcomes.items() if k not in (HANDLED, INTERNAL, TIMEOUT))
        lines.append(f"{name:<8} {phase.get('tried', 0):>6} {outcomes.get(HANDLED, 0):>8} "
                     f"{outcomes.get(INTERNAL, 0):>8} {outcomes.get(TIMEOUT, 0):>8} {other:>6} {silence:>9}")
    for example in s["internal_error_examples"][:8]:
        lines.append(f"  internal error: {example['method']} {example['request'][:160]}")
    for example in s["timeout_examples"][:8]:
        lines.append(f"  timeout: {example['method']} {example['request'][:160]}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Attack benchmark: fuzzing, bad transactions, kill -9 under load.")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--kills", type=int, default=DEFAULT_KILLS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep-workdir", action="store_true")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.budget, args.seed, args.kills, args.out, args.keep_workdir)
    if args.strict and strict_failures(result):
        sys.exit(1)
    return result
