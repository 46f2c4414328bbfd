"""L1 costs of the devnet pipeline: time from L2 inclusion to L1 finalization, and L1 gas per L2 transaction.

One run of `linen devnet` (anvil L1, L2 node, coordinator, prover controller) as a subprocess in a temp
dir, with a steady load: `txs` ETH transfers (dev accounts 0-8, fresh random recipients) and `erc20`
TestToken transfers (dev account 9, which deploys the token first) spread evenly over `seconds`.

- Inclusion: a watcher polls the L2's eth_blockNumber every 0.1 s and reads each new block's
  transactions; a tx is included when its block is first seen (its receipt is served from then on;
  every receipt is fetched afterwards to check its status).
- Finalization: a watcher calls the rollup's currentL2BlockNumber() on L1 every 0.2 s; a block is
  finalized when that number first reaches it. Latency = finalization time - inclusion time.
- Gas: from the coordinator's SQLite store, the finalized aggregations that hold the measured blocks,
  their blobs' submission txs and their finalization txs; the L1 receipts' gasUsed, blobGasUsed,
  effectiveGasPrice and blobGasPrice, summed and divided by the L2 transactions in those aggregations'
  blocks (counted with eth_getBlockByNumber). Blob fill comes from the coordinator's log lines.

The devnet is stopped with SIGINT and must exit. bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from linen.benchmarks.l1_records import Rpc, l1_events, l1_gas, modules_blocking_a_second_block, prover_time
from linen.benchmarks.load_figures import percentile
from linen.benchmarks.load_signing import Signer, contract_address, erc20_transfer_data
from linen.benchmarks.machine import machine_info, publish
from linen.benchmarks.throughput import compile_token
from linen.config import load_section_values
from linen.node import DEVNET_COORDINATOR
from linen.ports import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = Path("bench/results/l1_costs.json")
CURRENT_L2_BLOCK = "0x" + keccak(b"currentL2BlockNumber()")[:4].hex()
REPORTED_SETTINGS = (*DEVNET_COORDINATOR, "blob-size-limit", "target-blobs-per-transaction", "submission-delay",
                     "l1-confirmations", "proofs-limit")


class Poller(threading.Thread):
    """Calls `step(rpc)` every `interval` s until stopped; counts failures by message."""

    def __init__(self, url: str, interval: float, step: Callable[[Rpc], None]) -> None:
        super().__init__(daemon=True)
        self.rpc, self.interval, self.step = Rpc(url), interval, step
        self.stopping = threading.Event()
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step(self.rpc)
            except Exception as exc:  # noqa: BLE001 - a benchmark watcher keeps watching
                self.errors[str(exc)[:160]] += 1
            self.stopping.wait(self.interval)


def start_devnet(workdir: Path, port: int, timeout: float, extra_args: Sequence[str] = (),
                 block_period: float = 1.0) -> tuple[subprocess.Popen, dict[str, Any]]:
    data_dir = workdir / "devnet"
    command = [sys.executable, "-m", "linen.cli", "devnet", "--data-dir", str(data_dir), "--fresh",
               "--block-period", str(block_period), "--rpc-port", str(port), *extra_args]
    with (workdir / "devnet.log").open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not (data_dir / "devnet.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_devnet(process)
            raise RuntimeError(f"the devnet did not start (exit {process.returncode}); see {workdir / 'devnet.log'}")
        time.sleep(0.25)
    return process, json.loads((data_dir / "devnet.json").read_text())


def stop_devnet(process: subprocess.Popen, timeout: float = 60.0) -> dict[str, Any]:
    """SIGINT, then wait; SIGKILL the devnet's own process group only if it does not exit in time."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
        return {"returncode": process.returncode, "seconds_to_exit": round(time.monotonic() - started, 1)}
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the session this benchmark started
        process.wait()
        return {"returncode": None, "killed_after_s": timeout}


def finish_devnet(process: subprocess.Popen, info: dict[str, Any], workdir: Path, result: dict[str, Any], *,
                  failed: bool, keep_workdir: bool, echo: Callable[[str], None]) -> None:
    """Stop a benchmark's devnet and write into `result` how it went; a failed run keeps its workdir for a look."""
    result["devnet_exit"] = stop_devnet(process)
    try:  # the devnet stops its anvil; one still answering would be an orphan
        Rpc(info["l1"]["rpc"], timeout=2).call("eth_chainId")
        result["devnet_exit"]["l1_still_answering"] = True
    except Exception:  # noqa: BLE001 - refused or reset: it is gone
        result["devnet_exit"]["l1_still_answering"] = False
    log_text = (workdir / "devnet.log").read_text(errors="replace")
    result["log_problems"] = [line for line in log_text.splitlines()
                              if " WARNING " in line or " ERROR " in line or "Traceback" in line][:20]
    result["workdir"] = str(workdir) if keep_workdir or failed else None
    if failed:
        echo(f"[bench] the run failed; devnet data and log kept in {workdir}")
    elif not keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)


def deploy_token(l2: Rpc, chain_id: int, deployer: Signer, workdir: Path) -> bytes:
    artifact = compile_token(workdir)
    nonce = int(l2.call("eth_getTransactionCount", "0x" + deployer.address.hex(), "pending"), 16)
    raw, tx_hash = deployer.sign(chain_id, nonce, 3_000_000, b"", 0,
                                 bytes.fromhex(artifact["bytecode"][2:]) + (10**30).to_bytes(32, "big"))
    l2.call("eth_sendRawTransaction", "0x" + raw.hex())
    for _ in range(300):
        receipt = l2.call("eth_getTransactionReceipt", "0x" + tx_hash.hex())
        if receipt is not None:
            if int(receipt["status"], 16) != 1:
                raise RuntimeError(f"TestToken deployment failed: {receipt}")
            return contract_address(deployer.address, nonce)
        time.sleep(0.1)
    raise RuntimeError("TestToken deployment was not included within 30 s")


def send_load(l2: Rpc, chain_id: int, signers: list[Signer], token: bytes, txs: int, erc20: int,
              seconds: float, t0: float) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Send txs + erc20 transactions at a steady rate; the ERC-20 ones evenly spaced among them."""
    total = txs + erc20
    erc20_at = {round((k + 0.5) * total / erc20) for k in range(erc20)} if erc20 else set()
    nonces = {s: int(l2.call("eth_getTransactionCount", "0x" + s.address.hex(), "pending"), 16) for s in signers}
    sent: list[dict[str, Any]] = []
    errors: Counter[str] = Counter()
    start = time.monotonic()
    for i in range(total):
        time.sleep(max(0.0, start + i * seconds / total - time.monotonic()))
        recipient = os.urandom(20)
        if i in erc20_at:
            signer, kind = signers[-1], "erc20"
            raw, tx_hash = signer.sign(chain_id, nonces[signer], 90_000, token, 0, erc20_transfer_data(recipient, 10**18))
        else:
            signer, kind = signers[i % (len(signers) - 1)], "eth"
            raw, tx_hash = signer.sign(chain_id, nonces[signer], 21_000, recipient, int.from_bytes(os.urandom(7), "big"))
        try:
            sent_at = time.monotonic() - t0
            l2.call("eth_sendRawTransaction", "0x" + raw.hex())
            nonces[signer] += 1
            sent.append({"hash": "0x" + tx_hash.hex(), "kind": kind, "sent": sent_at})
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors[str(exc)[:160]] += 1
    return sent, errors


def seconds_stats(values: list[float], quantiles: tuple[int, ...] = (50, 90, 99)) -> dict[str, float | None]:
    ordered = sorted(values)
    return {"count": len(ordered), **{f"p{q}": round_seconds(percentile(ordered, q)) for q in quantiles},
            "min": round_seconds(ordered[0] if ordered else None),
            "max": round_seconds(ordered[-1] if ordered else None)}


def round_seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def run(
    txs: int = 200,
    erc20: int = 10,
    seconds: float = 20.0,
    out: Path = DEFAULT_OUT,
    finality_timeout: float = 600.0,
    keep_workdir: bool = False,
    *,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """One devnet run: the load, both watchers, the gas accounting; prints a table, writes JSON to `out`."""
    if txs < 1 or erc20 < 0 or seconds <= 0:
        raise ValueError("txs must be >= 1, erc20 >= 0 and seconds > 0")
    started = datetime.datetime.now(datetime.UTC)
    workdir = Path(tempfile.mkdtemp(prefix="linen-l1-costs-"))
    t0 = time.monotonic()
    echo(f"[bench] starting the devnet in {workdir} ...")
    process, info = start_devnet(workdir, free_port(), timeout=300.0)
    result: dict[str, Any] = {"benchmark": "l1_costs", "date": started.isoformat(timespec="seconds")}
    seen: dict[int, float] = {}  # L2 block -> first seen (s after t0)
    tx_block: dict[str, int] = {}
    reached: list[tuple[int, float]] = []  # (currentL2BlockNumber, first seen)
    failed = True  # until the figures are in: a failed run keeps its workdir (devnet.log) for a look
    try:
        result["devnet_start_s"] = round(time.monotonic() - t0, 1)
        l2, l1, chain_id = Rpc(info["l2"]["rpc"]), Rpc(info["l1"]["rpc"]), info["l2"]["chainId"]
        rollup = info["contracts"]["rollup"]
        signers = [Signer(bytes.fromhex(a["privateKey"][2:])) for a in info["accounts"]]
        token = deploy_token(l2, chain_id, signers[-1], workdir)
        first_block = int(l2.call("eth_blockNumber"), 16) + 1

        def watch_l2(rpc: Rpc) -> None:
            head = int(rpc.call("eth_blockNumber"), 16)
            for n in range(max(seen, default=first_block - 1) + 1, head + 1):
                block = rpc.call("eth_getBlockByNumber", hex(n), False)
                seen[n] = time.monotonic() - t0
                tx_block.update((h, n) for h in block["transactions"])

        def watch_l1(rpc: Rpc) -> None:
            value = int(rpc.call("eth_call", {"to": rollup, "data": CURRENT_L2_BLOCK}, "latest"), 16)
            if not reached or value > reached[-1][0]:
                reached.append((value, time.monotonic() - t0))

        pollers = [Poller(info["l2"]["rpc"], 0.1, watch_l2), Poller(info["l1"]["rpc"], 0.2, watch_l1)]
        for poller in pollers:
            poller.start()
        echo(f"[bench] sending {txs} ETH + {erc20} ERC-20 transfers over {seconds:g} s ...")
        sent, send_errors = send_load(l2, chain_id, signers, token, txs, erc20, seconds, t0)
        deadline = time.monotonic() + 60
        while any(s["hash"] not in tx_block for s in sent) and time.monotonic() < deadline:
            time.sleep(0.2)
        blocks = sorted({tx_block[s["hash"]] for s in sent if s["hash"] in tx_block})
        last_block = blocks[-1] if blocks else first_block
        echo(f"[bench] included in blocks {first_block}..{last_block}; waiting for L1 to finalize them ...")
        deadline = time.monotonic() + finality_timeout
        while (not reached or reached[-1][0] < last_block) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        for poller in pollers:
            poller.stopping.set()
            poller.join(5)
        statuses = Counter(int(l2.call("eth_getTransactionReceipt", s["hash"])["status"], 16)
                           for s in sent if s["hash"] in tx_block)

        def finalized_at(block: int) -> float | None:
            return next((t for value, t in reached if value >= block), None)

        latency, send_to_final, send_to_inclusion, unfinalized = [], [], [], 0
        for s in sent:
            block = tx_block.get(s["hash"])
            final = finalized_at(block) if block is not None else None
            if block is None or final is None:
                unfinalized += 1
                continue
            latency.append(final - seen[block])
            send_to_final.append(final - s["sent"])
            send_to_inclusion.append(seen[block] - s["sent"])
        store = workdir / "devnet" / "coordinator" / "coordinator.sqlite"
        log_text = (workdir / "devnet.log").read_text(errors="replace")
        settings = load_section_values("coordinator", None, dict(DEVNET_COORDINATOR))
        result.update({
            "config": {"txs": txs, "erc20": erc20, "seconds": seconds, "finality_timeout_s": finality_timeout,
                       "l2_poll_s": 0.1, "l1_poll_s": 0.2, "block_period_s": 1.0, "l1": "anvil, a block every second",
                       "devnet_coordinator": {k: settings[k] for k in REPORTED_SETTINGS}},
            "sent": len(sent), "send_errors": dict(send_errors), "included": sum(statuses.values()),
            "receipt_status": {str(k): v for k, v in statuses.items()}, "not_finalized": unfinalized,
            "blocks": [first_block, last_block], "l2_blocks_with_our_txs": len(blocks),
            "inclusion_to_finalization_s": seconds_stats(latency),
            "send_to_inclusion_s": seconds_stats(send_to_inclusion),
            "inclusion_to_finalization_p50_by_fifth_s": [
                round_seconds(percentile(sorted(latency[k * len(latency) // 5:(k + 1) * len(latency) // 5]), 50))
                for k in range(5)],
            "prover": prover_time(log_text),
            "send_to_finalization_s": seconds_stats(send_to_final),
            "finalization_steps": [[v, round(t, 2)] for v, t in reached],
            "watcher_errors": {str(i): dict(p.errors) for i, p in enumerate(pollers) if p.errors},
            "l1_gas": l1_gas(store, l1, l2, first_block, last_block, log_text),
            "l1_events": l1_events(l1, rollup, store),
            "modules_over_half_the_batch_limit": modules_blocking_a_second_block(l2, blocks[len(blocks) // 2])
            if blocks else None,
        })
        failed = False
    finally:
        finish_devnet(process, info, workdir, result, failed=failed, keep_workdir=keep_workdir, echo=echo)
    result["duration_s"] = round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1)
    result["machine"] = machine_info()
    return publish(out, result, format_table, echo)


def format_table(r: dict[str, Any]) -> str:
    lines = [f"sent {r['sent']}, included {r['included']} (status {r['receipt_status']}), "
             f"not finalized {r['not_finalized']}, L2 blocks {r['blocks'][0]}..{r['blocks'][1]}"]
    for name in ("inclusion_to_finalization_s", "send_to_inclusion_s", "send_to_finalization_s"):
        s = r[name]
        lines.append(f"{name:<29} p50 {s['p50']} s  p90 {s['p90']} s  p99 {s['p99']} s  max {s['max']} s  (n={s['count']})")
    lines.append(f"inclusion_to_finalization p50 by fifth of the sends: {r['inclusion_to_finalization_p50_by_fifth_s']} s")
    lines.append("prover: " + ", ".join(f"{k} {v['proofs']} x {v['mean_s']} s" for k, v in r["prover"].items()))
    gas = r["l1_gas"]
    if "per_l2_tx" in gas:
        p = gas["per_l2_tx"]
        lines.append(f"L1 gas per L2 tx over blocks {gas['range'][0]}..{gas['range'][1]} ({gas['l2_txs']} txs, "
                     f"{gas['aggregations']} aggregations, {gas['blobs']} blobs): blob gas {p['blob_gas']:,}, "
                     f"execution gas {p['execution_gas']:,} (submission {p['submission_execution_gas']:,}, "
                     f"finalization {p['finalization_execution_gas']:,})")
        b = gas["blob_packed_bytes"]
        lines.append(f"blob fill: mean {b['mean']} packed bytes ({b['mean_fill']:.1%}), {b['per_l2_tx']} bytes per L2 tx")
    else:
        lines.append(f"L1 gas: {gas.get('error')}")
    lines.append(f"L1 events: {r['l1_events']}")
    lines.append(f"devnet exit after SIGINT: {r['devnet_exit']}; log problems: {len(r['log_problems'])}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Devnet: L2 inclusion to L1 finalization, and L1 gas per L2 tx.")
    parser.add_argument("--txs", type=int, default=200, help="ETH transfers sent")
    parser.add_argument("--erc20", type=int, default=10, help="ERC-20 transfers sent among them")
    parser.add_argument("--seconds", type=float, default=20.0, help="time over which they are sent")
    parser.add_argument("--finality-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep-workdir", action="store_true", help="keep the temp dir (devnet data and log)")
    args = parser.parse_args(argv)
    return run(args.txs, args.erc20, args.seconds, args.out, args.finality_timeout, args.keep_workdir)


if __name__ == "__main__":
    main()
