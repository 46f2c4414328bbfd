"""Phase 3 of `linen bench hostile`: kill -9 under load, then whether anything the node confirmed was lost.

Honest transfers keep the node busy while it is killed at random points and restarted on the same
data dir; a poller notes every receipt as it first appears. A receipt that is gone afterwards, or
sits in another block, means a block was confirmed before it was durable.
"""

from __future__ import annotations

import collections
import json
import random
import re
import threading
import time
from typing import Any

from linen.benchmarks.hostile_fuzz import request_body
from linen.benchmarks.hostile_node import BLOCK_PERIOD
from linen.benchmarks.hostile_rpc import REQUEST_TIMEOUT, block_number, http_request, rpc, rpc_batch
from linen.benchmarks.hostile_session import Aborted, Bench
from linen.benchmarks.hostile_txs import Key, be, hx, typed
from linen.devaccounts import dev_accounts

LOAD_SENDERS = (0, 1, 2, 3, 4)  # dev accounts the kill9 phase's load uses
LOAD_WINDOW = 24  # unconfirmed transfers per load sender
LOAD_INTERVAL = 0.1  # seconds between one sender's sends
CHECK_BATCH = 200  # calls per batch in the final checks


def _batched(port: int, calls: list[tuple[str, list]]) -> list[Any]:
    """rpc_batch in batches of CHECK_BATCH calls, so thousands of receipts do not make one huge answer."""
    results: list[Any] = []
    for i in range(0, len(calls), CHECK_BATCH):
        results += rpc_batch(port, calls[i : i + CHECK_BATCH])
    return results


def _balances(port: int, addresses: list[str]) -> list[int]:
    return [int(b, 16) for b in rpc_batch(port, [("eth_getBalance", [a, "latest"]) for a in addresses])]


def _nonces(port: int, keys: list[Key]) -> list[int]:
    return [int(n, 16) for n in rpc_batch(port, [("eth_getTransactionCount", [hx(k.address), "latest"]) for k in keys])]


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
    """Up to `kills` kill -9s at seeded random points under load, then the checks of `_verify`."""
    node = bench.node
    deadline = time.monotonic() + seconds
    chain_id = int(rpc(node.port, "eth_chainId"), 16)
    load = Load(bench, rng, chain_id)
    addresses = [hx(k.address) for k in load.keys] + [hx(r) for r in load.recipients]
    start_head = block_number(node.port)
    start_balances = _balances(node.port, addresses)
    start_nonces = _nonces(node.port, load.keys)
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
            head_after = block_number(node.port, timeout=2.0)
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
    """Receipts still in the same canonical block; nonces and balances agree with what was included."""
    port = bench.node.port
    hashes = list(load.sent)
    found = _batched(port, [("eth_getTransactionReceipt", [h]) for h in hashes])
    receipts: dict[str, dict] = {h: r for h, r in zip(hashes, found, strict=True) if r}
    lost = []
    for tx_hash, seen in load.seen.items():
        now = receipts.get(tx_hash)
        if now is None or now["blockHash"] != seen["blockHash"] or now["blockNumber"] != seen["block"]:
            lost.append({"hash": tx_hash, "seen": seen, "now": None if now is None else
                         {"block": now["blockNumber"], "blockHash": now["blockHash"]}})
    head = block_number(port)
    canonical_mismatch = []
    seen_blocks = sorted({(int(s["block"], 16), s["blockHash"]) for s in load.seen.values()})
    blocks = _batched(port, [("eth_getBlockByNumber", [hex(n), False]) for n, _ in seen_blocks])
    for (number, block_hash), block in zip(seen_blocks, blocks, strict=True):
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
    end_nonces = _nonces(port, load.keys)
    end_balances = _balances(port, addresses)
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

