"""What the devnet's coordinator recorded and L1 holds: gas of its L1 transactions, events, trace limits.

Read by the l1_costs benchmark after a run: the coordinator's SQLite store (read-only) names the
submission and finalization transactions; their L1 receipts give the gas; the rollup's
DataSubmittedV3 / DataFinalizedV3 logs are checked against the store; and one block's trace counters
against the batch trace limits show which modules keep conflation from putting two blocks in a batch.
"""

from __future__ import annotations

import datetime
import http.client
import json
import re
import sqlite3
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from linen.execution.tracer.limits import load_trace_limits
from linen.protocol.blob import BLOB_SIZE

FINALIZED_TOPIC = "0x" + keccak(b"DataFinalizedV3(uint256,uint256,bytes32,bytes32,bytes32)").hex()
SUBMITTED_TOPIC = "0x" + keccak(b"DataSubmittedV3(bytes32,bytes32,bytes32)").hex()
BLOB_LINE = re.compile(r"blob (\d+)-(\d+) \((\d+) batches, (\d+) bytes packed\)")


class Rpc:
    """JSON-RPC over one keep-alive HTTP connection (one per thread)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)

    def call(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        try:
            self.conn.request("POST", "/", body, {"Content-Type": "application/json"})
            reply = json.loads(self.conn.getresponse().read())
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            raise
        if reply.get("error"):
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


def l1_gas(store: Path, l1: Rpc, l2: Rpc, first: int, last: int, log_text: str) -> dict[str, Any]:
    """L1 gas of the finalized aggregations holding blocks first..last, per L2 transaction in them."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    aggs = db.execute("SELECT start, end_block, trigger, blob_count, finalization_tx FROM aggregations "
                      "WHERE finalization_tx IS NOT NULL AND end_block >= ? AND start <= ? ORDER BY start",
                      (first, last)).fetchall()
    if not aggs:
        return {"error": "no finalized aggregation holds the measured blocks"}
    low, high = aggs[0][0], aggs[-1][1]
    blobs = db.execute("SELECT start, end_block, submission_tx FROM blobs WHERE start >= ? AND end_block <= ? "
                       "ORDER BY start", (low, high)).fetchall()
    batch_triggers = Counter(t for (t,) in db.execute("SELECT trigger FROM batches WHERE start >= ? AND end_block <= ?",
                                                      (low, high)))
    db.close()
    packed = {(int(m[1]), int(m[2])): int(m[4]) for m in BLOB_LINE.finditer(log_text)}
    totals: Counter[str] = Counter()
    for role, hashes in (("submission", sorted({b[2] for b in blobs if b[2]})), ("finalization", [a[4] for a in aggs])):
        for tx_hash in hashes:
            r = l1.call("eth_getTransactionReceipt", tx_hash)
            totals[f"{role}_txs"] += 1
            totals[f"{role}_execution_gas"] += int(r["gasUsed"], 16)
            totals["blob_gas"] += int(r.get("blobGasUsed") or "0x0", 16)
            totals["wei"] += int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16) + int(
                r.get("blobGasUsed") or "0x0", 16) * int(r.get("blobGasPrice") or "0x0", 16)
    l2_txs = sum(len(l2.call("eth_getBlockByNumber", hex(n), False)["transactions"]) for n in range(low, high + 1))
    blob_bytes = [packed.get((b[0], b[1])) for b in blobs]
    known = [n for n in blob_bytes if n is not None]
    execution = totals["submission_execution_gas"] + totals["finalization_execution_gas"]
    return {
        "range": [low, high], "l2_txs": l2_txs, "aggregations": len(aggs), "blobs": len(blobs),
        "blobs_without_submission_tx": sum(1 for b in blobs if not b[2]), **totals,
        "per_l2_tx": {
            "blob_gas": round(totals["blob_gas"] / l2_txs), "execution_gas": round(execution / l2_txs),
            "submission_execution_gas": round(totals["submission_execution_gas"] / l2_txs),
            "finalization_execution_gas": round(totals["finalization_execution_gas"] / l2_txs),
            "wei_on_this_anvil": round(totals["wei"] / l2_txs),
        },
        "blob_packed_bytes": {"mean": round(sum(known) / len(known)) if known else None,
                              "mean_fill": round(sum(known) / len(known) / BLOB_SIZE, 4) if known else None,
                              "per_l2_tx": round(sum(known) / l2_txs, 1) if len(known) == len(blobs) else None},
        "aggregation_ranges": [[a[0], a[1], a[2], a[3]] for a in aggs], "batch_triggers": dict(batch_triggers),
        "blocks_per_batch": round((high - low + 1) / max(1, sum(batch_triggers.values())), 2),
    }


def l1_events(l1: Rpc, rollup: str, store: Path) -> dict[str, Any]:
    """DataSubmittedV3 / DataFinalizedV3 on L1 against the store's submission and finalization txs."""
    logs = {topic: l1.call("eth_getLogs", {"address": rollup, "fromBlock": "0x0", "toBlock": "latest", "topics": [topic]})
            for topic in (SUBMITTED_TOPIC, FINALIZED_TOPIC)}
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    stored = {(s, e): tx for s, e, tx in db.execute("SELECT start, end_block, finalization_tx FROM aggregations")}
    submitted_blobs = db.execute("SELECT COUNT(*) FROM blobs WHERE submission_tx IS NOT NULL").fetchone()[0]
    db.close()
    on_l1 = {(int(x["topics"][1], 16), int(x["topics"][2], 16)): x["transactionHash"] for x in logs[FINALIZED_TOPIC]}
    mismatches = [f"{k}: L1 {on_l1.get(k)} store {stored.get(k)}" for k in sorted(set(on_l1) | {
        k for k, tx in stored.items() if tx}) if on_l1.get(k) != stored.get(k)]
    return {"data_submitted_events": len(logs[SUBMITTED_TOPIC]), "store_submitted_blobs": submitted_blobs,
            "data_finalized_events": len(on_l1), "mismatches": mismatches}


def modules_blocking_a_second_block(l2: Rpc, block: int) -> dict[str, list[int]]:
    """Modules whose count in `block` exceeds half the batch limit: no batch can hold two such blocks."""
    counts = l2.call("linea_getBlockTracesCountersV2", {"blockNumber": block})["tracesCounters"]
    limits = load_trace_limits().regular
    return {m: [int(n), limits[m]] for m, n in counts.items() if m in limits and 2 * int(n) > limits[m]}


PROVER_LINE = re.compile(r"^(\S+ \S+) INFO linen\.prover\.controller: controller \S+: (?:proving (\S+)$|(\S+) → )")
PROOF_KINDS = {"getZkProof.json": "execution", "getZkBlobCompressionProof.json": "compression",
               "getZkAggregatedProof.json": "aggregation"}


def prover_time(log_text: str) -> dict[str, dict[str, float]]:
    """Per proof kind: how many the controller ran and their wall time, from its start/end log lines."""
    started: dict[str, float] = {}
    spent: dict[str, list[float]] = {}
    for line in log_text.splitlines():
        match = PROVER_LINE.match(line)
        if match is None:
            continue
        at = datetime.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if match[2]:
            started[match[2]] = at
        elif match[3] in started:
            kind = next((k for suffix, k in PROOF_KINDS.items() if match[3].endswith(suffix)), "other")
            spent.setdefault(kind, []).append(at - started.pop(match[3]))
    return {kind: {"proofs": len(v), "mean_s": round(sum(v) / len(v), 2), "total_s": round(sum(v), 1),
                   "each_s": [round(x, 1) for x in v]}
            for kind, v in spent.items()}
