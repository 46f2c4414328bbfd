"""The node `linen bench hostile` attacks, and the watchdog that sees how it fares.

`Node` is throughput's `TargetProcess` made restartable (same data dir and port, so kill -9 and
restart test recovery) and aware of the run's abort; `Watchdog` probes eth_blockNumber and samples
RSS on separate threads, so a frozen node shows up as silence instead of freezing the sampler.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from linen.benchmarks.hostile_rpc import RpcFailure, block_number
from linen.benchmarks.load_targets import TargetProcess
from linen.ports import free_port

BLOCK_PERIOD = 1.0
RESTART_TIMEOUT = 30.0
WATCH_INTERVAL = 0.1
WATCH_TIMEOUT = 1.0
RSS_INTERVAL = 0.05


class Node(TargetProcess):
    """`linen node` as a subprocess; restartable on the same data dir and port."""

    def __init__(self, workdir: Path, abort: threading.Event) -> None:
        port = free_port()
        config = workdir / "linen.toml"
        config.write_text(self._config_text())
        args = [
            sys.executable, "-m", "linen.cli", "node", "--config", str(config), "--data-dir", str(workdir / "data"),
            "--rpc-port", str(port), "--block-period", f"{BLOCK_PERIOD:g}", "--create-empty-blocks",
        ]
        super().__init__("linen node", args, workdir / "node.log", port, Path.cwd(), ready_method="eth_blockNumber")
        self.workdir = workdir
        self.abort = abort
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.up = False  # meant to be serving (False while killed on purpose)
        self.up_since = 0.0
        self.starts = 0

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

    def start(self, timeout: float = RESTART_TIMEOUT) -> float:  # type: ignore[override]
        """Start (or restart) and wait until it answers; returns the seconds that took.

        Not TargetProcess.start: this wait must give up as soon as the run is aborted.
        """
        begin = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== hostile bench: start #{self.starts + 1} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        self.starts += 1
        deadline = begin + timeout
        while time.monotonic() < deadline and not self.abort.is_set():
            if self.proc.poll() is not None:
                raise RuntimeError(f"linen node exited with {self.proc.returncode}:\n{self.log_tail(2000)}")
            try:
                block_number(self.port, timeout=1.0)
                self.up_since = time.monotonic()
                self.up = True
                return self.up_since - begin
            except (OSError, ValueError, RpcFailure, http.client.HTTPException):
                time.sleep(0.1)
        self.kill9()
        raise TimeoutError(f"linen node did not answer within {timeout:.0f}s:\n{self.log_tail(2000)}")

    def kill9(self) -> None:
        self.up = False
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)

    def stop(self) -> int | None:  # type: ignore[override]
        """SIGTERM (then kill); returns the exit code, for the report."""
        self.up = False
        proc = self.proc
        super().stop()
        return None if proc is None else proc.returncode

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
        while not self.stopping.wait(RSS_INTERVAL):
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
                number = block_number(node.port, timeout=WATCH_TIMEOUT)
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

