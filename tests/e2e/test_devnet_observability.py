"""Operators see the pipeline: /metrics and /health on a running `linen devnet`, and an L1 that
stalls (anvil's mining paused) while L2 blocks arrive.

With L1 paused, the actor waiting for an L1 receipt is reported stalled while conflation and
request writing go on; once L1 mines again everything catches up to finality.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from linen.devaccounts import dev_accounts
from tests.e2e.chromium import HeadlessPage, chromium_path
from tests.e2e.devnet_support import DevnetProcess, call, wait_for
from tests.e2e.test_devnet_finality import l2_web3, sign
from tests.helpers import LINEN, ROOT

pytestmark = pytest.mark.slow

FAMILIES = (
    "linen_head_block", "linen_blocks_sealed", "linen_transactions_included", "linen_transactions_refused",
    "linen_txpool_transactions", "linen_block_build_seconds", "linen_state_manager_block",
    "linen_state_manager_lag_blocks", "linen_rpc_requests", "linen_coordinator_batches", "linen_coordinator_blobs",
    "linen_coordinator_aggregations", "linen_l1_submissions", "linen_l1_gas_used", "linen_l2_finalized_block",
    "linen_l1_messages_anchored", "linen_proof_requests", "linen_prove_seconds", "linen_postman_messages",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # kept after the run (gitignored)
L1_ACTORS = ("coordinator.blob-submission", "coordinator.finalization")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.read()


def scrape(devnet: DevnetProcess) -> dict[str, dict[tuple, float]]:
    """family -> {(sample name, sorted labels): value}"""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(get(devnet.info["l2"]["metrics"]).decode()):
        out[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    return out


def value(metrics: dict, family: str, sample: str | None = None, **labels: str) -> float:
    wanted = tuple(sorted(labels.items()))
    return sum(v for (name, got), v in metrics[family].items()
               if (sample is None or name == sample) and all(item in got for item in wanted))


def health(devnet: DevnetProcess) -> dict:
    return json.loads(get(devnet.info["l2"]["health"]))


def wait_until(what: str, predicate, timeout: float, devnet: DevnetProcess):
    return wait_for(what, predicate, timeout, lambda: f"health {health(devnet)}\n{devnet.log()}")


def send_transfers(devnet: DevnetProcess, key: str, first_nonce: int, count: int) -> int:
    """`count` transfers; the block of the last one."""
    w3 = l2_web3(devnet.l2)
    hashes = [call(devnet.l2, "eth_sendRawTransaction",
                   "0x" + sign(key, first_nonce + i, to="0x" + "22" * 20, value=1).hex()) for i in range(count)]
    return w3.eth.wait_for_transaction_receipt(hashes[-1], timeout=60)["blockNumber"]


async def watch_dashboard(devnet: DevnetProcess, block: int, screenshot: Path) -> list[str]:
    """Open /dashboard?block=N in headless Chromium and wait until it shows the block finalized on L1;
    the page's console errors (none expected)."""
    binary = chromium_path()
    assert binary, "chromium is not installed (./run installs Debian's chromium when absent)"
    page = await HeadlessPage(binary).start()
    try:
        await page.goto(f"{devnet.info['l2']['dashboard']}?block={block}")
        stage = await page.wait_for(
            "(document.getElementById('tracked-stage') || {dataset: {}}).dataset.stage === 'finalized on L1'"
            " && document.getElementById('tracked-stage').textContent", timeout=150)
        assert stage == f"block {block}: finalized on L1"
        finalized = await page.evaluate("document.querySelector('#stage-finalized .big').textContent")
        assert int(finalized.lstrip("#")) >= block
        assert "live" in await page.evaluate("document.getElementById('connection').textContent")
        actors = await page.evaluate("document.getElementById('actors').textContent")
        assert "coordinator.blob-submission" in actors and "sequencer.block-producer" in actors
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(screenshot)
        return page.errors
    finally:
        await page.close()


def test_metrics_health_dashboard_and_an_l1_stall(tmp_path):
    devnet = DevnetProcess(tmp_path / "devnet").start()
    try:
        key = dev_accounts()[3].private_key
        last = send_transfers(devnet, key, 0, 5)
        # a transaction whose nonce is used: refused at submission, counted by reason
        with pytest.raises(AssertionError, match="nonce too low"):
            call(devnet.l2, "eth_sendRawTransaction", "0x" + sign(key, 0, to="0x" + "22" * 20, value=1).hex())

        # -- the dashboard, opened before finality, shows the block reach "finalized on L1" live
        screenshot = ARTIFACTS / "dashboard.png"
        errors = asyncio.run(watch_dashboard(devnet, last, screenshot))
        assert errors == []
        assert screenshot.stat().st_size > 10_000
        devnet.wait_finalized(last, timeout=30)
        # `linen status` draws the same picture in the terminal
        status = subprocess.run([*LINEN, "status", "--data-dir", str(devnet.data_dir), "--block", str(last)],
                                capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert status.returncode == 0, status.stderr
        assert f"block {last}: finalized on L1" in status.stdout and "coordinator.conflation" in status.stdout

        # -- /metrics: every family, with values that fit what just happened
        m = wait_until("the finalization counted", lambda: (lambda s: s if value(s, "linen_l2_finalized_block") >= last
                                                            else None)(scrape(devnet)), 30, devnet)
        missing = [f for f in FAMILIES if f not in m]
        assert not missing, missing
        head = value(m, "linen_head_block")
        assert head >= last
        assert value(m, "linen_blocks_sealed", "linen_blocks_sealed_total") >= last - 1
        assert value(m, "linen_transactions_included", "linen_transactions_included_total") >= 5
        assert value(m, "linen_transactions_refused", stage="submission", reason="nonce too low") == 1
        assert value(m, "linen_block_build_seconds", "linen_block_build_seconds_count") >= 1
        assert 0 <= value(m, "linen_state_manager_lag_blocks") <= 5
        assert value(m, "linen_rpc_requests", method="eth_sendRawTransaction", outcome="ok") >= 5  # and the devnet's own deployment
        assert value(m, "linen_rpc_requests", method="eth_sendRawTransaction", outcome="-32003") == 1
        assert value(m, "linen_coordinator_batches", state="finalized") + value(
            m, "linen_coordinator_batches", state="proven") >= 1
        assert value(m, "linen_coordinator_aggregations", state="finalized") >= 1
        assert value(m, "linen_l1_submissions", kind="blobs") >= 1
        assert value(m, "linen_l1_submissions", kind="finalization") >= 1
        assert value(m, "linen_l1_gas_used", kind="finalization") > 50_000
        assert value(m, "linen_proof_requests", kind="execution", outcome="success") >= 1
        assert value(m, "linen_prove_seconds", "linen_prove_seconds_count", kind="aggregation") >= 1
        assert value(m, "linen_l1_messages_anchored") >= 0
        assert ("linen_postman_messages", (("direction", "L1_TO_L2"), ("status", "SENT"))) in m["linen_postman_messages"]

        report = health(devnet)
        for name in ("sequencer.block-producer", "coordinator.conflation", "coordinator.proofs", *L1_ACTORS,
                     "coordinator.anchoring", "prover.controller.prover-devnet", "postman.l1_to_l2", "postman.l2_to_l1"):
            assert report["actors"][name]["status"] == "ok", (name, report["actors"][name])

        # -- L1 stops mining: the L1 sender stalls, conflation and request writing go on
        call(devnet.l1, "evm_setIntervalMining", 0)
        paused_at = int(call(devnet.l1, "eth_blockNumber"), 16)
        batches_before = value(m, "linen_coordinator_batches")
        last = send_transfers(devnet, key, 5, 5)

        def stalled():
            actors = health(devnet)["actors"]
            return [n for n in L1_ACTORS if actors[n]["status"] == "stalled"]

        names = wait_until("an L1 actor reported stalled", stalled, 90, devnet)
        actors = health(devnet)["actors"]
        assert health(devnet)["status"] == "stalled"
        assert actors["coordinator.conflation"]["status"] == "ok"
        assert actors["coordinator.proofs"]["status"] == "ok"
        assert actors["sequencer.block-producer"]["status"] == "ok"
        assert actors[names[0]]["busySeconds"] > 15
        wait_until("new batches conflated and requested during the stall",
                   lambda: value(scrape(devnet), "linen_coordinator_batches") > batches_before, 60, devnet)
        assert int(call(devnet.l1, "eth_blockNumber"), 16) == paused_at  # L1 really did not move
        assert devnet.finalized_block() < last

        # -- L1 mines again: everything catches up
        call(devnet.l1, "evm_setIntervalMining", 1)
        devnet.wait_finalized(last, timeout=180)
        wait_until("every actor ok again", lambda: all(a["status"] == "ok" for a in health(devnet)["actors"].values()),
                   60, devnet)
        assert devnet.stop() == 0
    finally:
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
        devnet.stop_l1()
