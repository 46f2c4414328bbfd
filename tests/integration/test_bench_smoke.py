"""Smoke tests of the benchmarks that run real processes: short runs against a real Linen node (or devnet) and anvil."""

from __future__ import annotations

import json

import pytest

from linen.benchmarks import bridge_latency
from linen.benchmarks.throughput import run

pytestmark = pytest.mark.slow


@pytest.mark.timeout(600)
def test_throughput_benchmark_smoke(tmp_path):
    out = tmp_path / "results" / "throughput.json"
    targets = ("linen", "linen-untraced", "anvil")
    result = run(seconds=6, senders=10, out=out, targets=targets, kinds=("eth",), echo=lambda _: None)

    written = json.loads(out.read_text())
    assert written["summary"] == result["summary"]
    assert set(written["targets"]) == set(targets)
    assert written["machine"]["cpus"] >= 1 and written["date"]
    for target in targets:
        case = written["targets"][target]["eth"]
        assert "error" not in case, case.get("error")
        assert case["included"] > 0, target
        assert case["included_in_window"] > 0, target
        # Every tx in the blocks the watcher saw was one of ours, and was one the node accepted from us.
        assert case["foreign_included"] == 0, case["foreign_sample"]
        assert case["included_unsent"] == 0
        assert case["included"] <= case["submitted"]
        assert case["inclusion_rate_tps"] > 0
        assert case["latency_ms"]["p50"] is not None and case["latency_ms"]["p50"] <= case["latency_ms"]["p99"]
        assert case["receipts_sampled"]["status_ok"] == case["receipts_sampled"]["sampled"] > 0
    assert written["summary"]["eth"]["ratio_linen_over_anvil"] > 0
    assert written["summary"]["eth"]["tracing_rate_cost"] < 1  # both Linen variants included transactions
    profile = written["targets"]["linen"]["eth"]["profile"]
    assert profile["blocks_logged"] > 0 and profile["blocks_missing_log_line"] == 0
    assert profile["per_tx_us"]["exec"] > 0 and profile["decode_recover_in_process"]["txs"] > 0


@pytest.mark.timeout(600)
def test_bridge_latency_benchmark_smoke(tmp_path):
    """One deposit and one withdrawal on a fresh devnet: both claimed by the postman, every stage in order."""
    out = tmp_path / "results" / "bridge_latency.json"
    result = bridge_latency.run(messages=1, seconds=2, out=out, claim_timeout=180, echo=lambda _: None)

    written = json.loads(out.read_text())
    assert written["deposits"] == result["deposits"] and written["machine"]["cpus"] >= 1 and written["date"]
    for direction in ("deposits", "withdrawals"):
        figures = written[direction]
        assert (figures["sent"], figures["claimed_by_postman"], figures["claimed_by_others"]) == (1, 1, 0), figures
        (message,) = figures["messages"]
        assert message["sent"] <= message["receipt"] <= message["claimable"] <= message["claimed"], message
        for stage in ("receipt_to_claimable_s", "claimable_to_claimed_s", "send_to_claimed_s"):
            assert figures[stage]["count"] == 1 and figures[stage]["p50"] > 0, (stage, figures[stage])
    assert written["devnet_exit"]["returncode"] == 0 and not written["devnet_exit"]["l1_still_answering"]
    assert bridge_latency.format_table(written).count("send -> claimed") == 2
