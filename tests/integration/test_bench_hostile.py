"""Smoke test of `linen bench hostile`: a tiny budget against a real node, every figure in its JSON."""

from __future__ import annotations

import json
import time

import pytest

from linen.benchmarks import hostile
from linen.benchmarks.hostile_node import RESTART_TIMEOUT, Node
from linen.benchmarks.hostile_session import RECOVERY_WAIT
from linen.benchmarks.hostile_txs import CASES

pytestmark = pytest.mark.slow


@pytest.mark.timeout(180)
def test_hostile_benchmark_smoke(tmp_path):
    out = tmp_path / "results" / "hostile.json"
    begin = time.monotonic()
    result = hostile.run(budget=30, seed=3, kills=1, out=out, echo=lambda _: None)
    assert time.monotonic() - begin < 30 + hostile.MARGIN + 15  # bounded even when the node misbehaves

    written = json.loads(out.read_text())
    assert written["summary"] == result["summary"]
    assert "error" not in written, written.get("error")
    summary = written["summary"]
    for field in ("cases_tried", "handled", "internal_errors", "timeouts", "crashes", "longest_unanswered_s",
                  "longest_head_stall_s", "peak_rss_mb", "lost_receipts", "internal_error_examples",
                  "forced_restarts", "bad_txs_unexpected", "honest_tx_included_after_bad_txs"):
        assert field in summary, field
    assert summary["cases_tried"] > 0 and summary["handled"] > 0
    assert summary["watchdog_answers"] > 0 and written["watchdog"]["answers"] == summary["watchdog_answers"]
    assert summary["peak_rss_mb"] > 0
    assert set(written["phases"]) == {"fuzz", "bad_txs", "kill9"}
    assert written["phases"]["fuzz"]["tried"] > 0
    assert written["phases"]["bad_txs"]["cases_total"] == len(CASES)
    assert "events" in written["phases"]["kill9"]
    assert written["config"]["budget_s"] == 30 and written["machine"]["cpus"] >= 1 and written["date"]
    assert "cases tried" in hostile.format_table(written)
    assert isinstance(hostile.strict_failures(written), list)


@pytest.mark.timeout(240)
def test_hostile_benchmark_ends_when_the_node_freezes(tmp_path, monkeypatch):
    """SIGSTOP the node mid-fuzz: the run notices, kill -9s and restarts it, and still ends in time."""
    import os
    import signal
    import threading

    start = Node.start
    frozen: list[int] = []

    def start_then_freeze(self, timeout=RESTART_TIMEOUT):
        seconds = start(self, timeout)
        if not frozen:
            frozen.append(self.proc.pid)
            threading.Timer(6.0, os.kill, (self.proc.pid, signal.SIGSTOP)).start()
        return seconds

    monkeypatch.setattr(Node, "start", start_then_freeze)
    begin = time.monotonic()
    result = hostile.run(budget=30, seed=4, kills=1, out=tmp_path / "hostile.json", echo=lambda _: None)
    assert time.monotonic() - begin < 30 + hostile.MARGIN + 15
    assert frozen
    assert result["summary"]["timeouts"] >= 1
    assert result["forced_restarts"] and result["forced_restarts"][0]["phase"] == "fuzz"
    assert result["summary"]["longest_unanswered_s"] >= RECOVERY_WAIT
    assert result["phases"]["bad_txs"].get("tried", 0) > 0  # the phases after the freeze still ran
