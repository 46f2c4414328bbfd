"""Phase 2 of `linen bench hostile`: the named bad transactions of `hostile_txs.CASES`, then an honest one.

Each case is sent once with eth_sendRawTransaction and its answer compared with what a correct node
does; the honest transfer at the end shows whether the chain still includes anything after them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import time
from typing import Any

from linen.benchmarks.hostile_fuzz import request_body
from linen.benchmarks.hostile_node import BLOCK_PERIOD
from linen.benchmarks.hostile_rpc import (
    HANDLED,
    MALFORMED,
    REQUEST_TIMEOUT,
    TIMEOUT,
    block_number,
    classify_item,
    http_request,
    rpc,
    rpc_batch,
)
from linen.benchmarks.hostile_session import Aborted, Bench, Tally, show
from linen.benchmarks.hostile_txs import CASES, Ctx, Key, hx, reply_summary
from linen.devaccounts import dev_accounts

BAD_TX_KEYS = {"key": 8, "scenario_key": 9, "heavy_key": 6, "honest": 7}  # dev account index per role


def phase_bad_txs(bench: Bench, seconds: float) -> dict[str, Any]:
    """Every case of CASES (those past `seconds` are listed as skipped), then the honest transfer."""
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
            tally.add("eth_sendRawTransaction", {"case": name, "raw": show(param, 300)}, outcome, code, message,
                      elapsed, extra)
            entry = {"name": name, "expected": expect, **summary, "seconds": round(elapsed, 3),
                     "raw_bytes": (len(param) - 2) // 2 if isinstance(param, str) else None}
            if answer in ("accepted", "refused") and expect != "any" and answer[:3] != expect[:3]:
                entry["unexpected"] = True
                unexpected.append({"name": name, "expected": expect, "got": answer,
                                   "message": summary.get("message"), "raw": show(param, 400)})
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
        head = block_number(bench.node.port, timeout=2.0)
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

