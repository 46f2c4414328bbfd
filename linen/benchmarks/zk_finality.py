"""Inclusion to L1 finality on the zk devnet (`linen devnet --proofs zk`), for waves of plain transfers.

One devnet in a temp dir (its first start makes the SRS and keys the circuits; that set-up time is
reported apart). For each wave size (16 and 64 by default), one after the other on the same chain:
the transfers (dev accounts 1-8, half to fresh addresses so the tree gets inserts, half to dev
account 9) are sent at once; a transaction is included when its receipt is served, and the wave is
finalized when the rollup's currentL2BlockNumber() on L1 reaches the wave's last block. Latency =
finalization - inclusion of the wave's last block. The finalization transactions' gas and proof types
come from L1 (`DataFinalizedV3` and the calldata), the provers' seconds from the controller's log
(`l1_records.prover_time`).
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from linen.benchmarks.hostile_txs import wait_until
from linen.benchmarks.l1_costs import CURRENT_L2_BLOCK, finish_devnet, start_devnet
from linen.benchmarks.l1_records import FINALIZED_TOPIC, Rpc, prover_time
from linen.benchmarks.load_signing import Signer
from linen.benchmarks.machine import machine_info, publish
from linen.devaccounts import dev_accounts
from linen.ports import free_port


def _wait(predicate, timeout: float, what: str, interval: float = 0.2):  # type: ignore[no-untyped-def]
    value = wait_until(predicate, timeout, interval)
    if not value:
        raise TimeoutError(f"{what}: not within {timeout:.0f} s")
    return value


def _wave(l2: Rpc, l1: Rpc, rollup: str, chain_id: int, senders: list[Signer], nonces: dict[bytes, int],
          sink: bytes, size: int, timeout: float) -> dict[str, Any]:
    txs = []
    for i in range(size):
        sender = senders[i % len(senders)]
        to = sink if i % 2 else os.urandom(20)
        raw, tx_hash = sender.sign(chain_id, nonces[sender.address], 21_000, to, value=10**15 + i)
        nonces[sender.address] += 1
        txs.append((raw, tx_hash))
    sent_at = time.time()
    for raw, _ in txs:
        l2.call("eth_sendRawTransaction", "0x" + raw.hex())
    receipts = {}

    def all_included() -> bool:
        for _, tx_hash in txs:
            if tx_hash not in receipts:
                receipt = l2.call("eth_getTransactionReceipt", "0x" + tx_hash.hex())
                if receipt is None:
                    return False
                receipts[tx_hash] = receipt
        return True

    _wait(all_included, 120, f"{size} transfers included", 0.1)
    included_at = time.time()
    blocks = sorted({int(r["blockNumber"], 16) for r in receipts.values()})
    assert all(r["status"] == "0x1" and int(r["gasUsed"], 16) == 21_000 for r in receipts.values())

    def finalized() -> bool:
        return int(l1.call("eth_call", {"to": rollup, "data": CURRENT_L2_BLOCK}, "latest"), 16) >= blocks[-1]

    _wait(finalized, timeout, f"blocks {blocks[0]}-{blocks[-1]} finalized on L1", 0.2)
    finalized_at = time.time()
    return {"transfers": size, "blocks": [blocks[0], blocks[-1]], "block_count": len(blocks),
            "send_to_inclusion_s": round(included_at - sent_at, 1),
            "inclusion_to_finality_s": round(finalized_at - included_at, 1)}


def _finalizations(l1: Rpc, rollup: str) -> list[dict[str, Any]]:
    logs = l1.call("eth_getLogs", {"address": rollup, "fromBlock": "0x0", "toBlock": "latest",
                                   "topics": [FINALIZED_TOPIC]})
    out = []
    for log in logs:
        receipt = l1.call("eth_getTransactionReceipt", log["transactionHash"])
        tx = l1.call("eth_getTransactionByHash", log["transactionHash"])
        out.append({"start": int(log["topics"][1], 16), "end": int(log["topics"][2], 16),
                    "gas": int(receipt["gasUsed"], 16), "selector": tx["input"][:10]})
    return out


def run(waves: tuple[int, ...], out: Path, keep_workdir: bool = False, timeout: float = 1200.0,
        echo=print) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    workdir = Path(tempfile.mkdtemp(prefix="linen-zk-finality-"))
    started = time.monotonic()
    process, info = start_devnet(workdir, free_port(), timeout=900, extra_args=("--proofs", "zk"),
                                 block_period=2.0)
    result: dict[str, Any] = {"benchmark": "zk_finality", "date": datetime.date.today().isoformat(),
                              "machine": machine_info(), "first_start_s": round(time.monotonic() - started, 1)}
    failed = True
    try:
        l1, l2 = Rpc(info["l1"]["rpc"]), Rpc(info["l2"]["rpc"])
        rollup = info["contracts"]["rollup"]
        chain_id = int(l2.call("eth_chainId"), 16)
        accounts = dev_accounts()
        senders = [Signer(bytes.fromhex(a.private_key[2:])) for a in accounts[1:9]]
        nonces = {s.address: int(l2.call("eth_getTransactionCount", "0x" + s.address.hex(), "latest"), 16)
                  for s in senders}
        sink = bytes.fromhex(accounts[9].address[2:])
        result["waves"] = []
        for size in waves:
            wave = _wave(l2, l1, rollup, chain_id, senders, nonces, sink, size, timeout)
            echo(f"[bench] {size} transfers: blocks {wave['blocks']}, finalized on L1 "
                 f"{wave['inclusion_to_finality_s']} s after inclusion")
            result["waves"].append(wave)
        result["finalizations"] = _finalizations(l1, rollup)
        failed = False
    finally:
        finish_devnet(process, info, workdir, result, failed=failed, keep_workdir=True, echo=echo)
        result["prover_time"] = prover_time((workdir / "devnet.log").read_text(errors="replace"))
        if not (failed or keep_workdir):
            shutil.rmtree(workdir, ignore_errors=True)
            result["workdir"] = None
    return publish(out, result, format_table, echo)


def format_table(r: dict[str, Any]) -> str:
    lines = [f"zk devnet (first start with SRS and circuit keys: {r['first_start_s']} s)",
             f"{'transfers':>9} {'blocks':>9} {'include s':>9} {'inclusion→L1 finality s':>24}"]
    for w in r.get("waves", []):
        lines.append(f"{w['transfers']:>9} {w['blocks'][0]:>4}-{w['blocks'][1]:<4} {w['send_to_inclusion_s']:>9} "
                     f"{w['inclusion_to_finality_s']:>24}")
    for f in r.get("finalizations", []):
        lines.append(f"finalization of blocks {f['start']}-{f['end']}: {f['gas']:,} gas ({f['selector']})")
    for kind, p in r.get("prover_time", {}).items():
        lines.append(f"prover {kind}: {p['each_s']} s")
    return "\n".join(lines)
