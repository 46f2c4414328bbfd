"""How long a bridge message takes on the devnet: until it can be claimed, and until the postman has claimed it.

One fresh `linen devnet` (anvil mining a block a second, the coordinator anchoring L1 messages after 2 L1
confirmations and finalizing L2 blocks on L1, the postman on dev account 9) as a subprocess in a temp dir,
started and stopped as the l1-costs benchmark does. `messages` deposits (dev account 1, each paying the
postman a fee) and `messages` withdrawals (dev account 2, also with a fee) are sent through BridgeClient,
evenly spread over `seconds`, the withdrawals half a step after the deposits; each send returns once its
receipt is in.

Two watchers poll every 0.25 s: one reads the L2 message service's logs (L1L2MessageHashesAddedToInbox:
a deposit became claimable; MessageClaimed: it was claimed), the other the rollup's MessageClaimed logs
and currentL2BlockNumber() (a withdrawal became claimable when that number first reached its L2 block).
A time is when a watcher first saw the event, so each figure carries up to a poll interval (and the
receipt wait, 0.25 s polls) of observation delay. Per message:

- send -> receipt: the source chain's receipt, as the sender saw it;
- receipt -> claimable: anchored on L2 (deposit), or its L2 block finalized on L1 (withdrawal);
- claimable -> claimed and send -> claimed: until the claim's MessageClaimed log, counted only when the
  claim was sent by the postman's address (messages claimed by anyone else are reported apart).
"""

from __future__ import annotations

import datetime
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak

from linen.benchmarks.l1_costs import Poller, finish_devnet, round_seconds, seconds_stats, start_devnet
from linen.benchmarks.l1_records import Rpc
from linen.benchmarks.machine import machine_info, publish
from linen.bridge.abi import MESSAGE_CLAIMED_TOPIC
from linen.bridge.client import BridgeClient, BridgeEndpoints, SentMessage
from linen.config import load_section_values
from linen.devaccounts import dev_account
from linen.node import DEVNET_COORDINATOR, DEVNET_POSTMAN, POSTMAN_DEV_ACCOUNT
from linen.ports import free_port

DEFAULT_OUT = Path("bench/results/bridge_latency.json")
DEPOSIT_VALUE, WITHDRAWAL_VALUE = 5 * 10**16, 10**16  # deposits fill the rollup that pays withdrawals out on L1
FEE = 10**16  # 0.01 ETH: many times a claim's cost on either devnet chain, so the postman claims every message
DEPOSITOR, WITHDRAWER = 1, 2  # dev accounts no devnet service signs with
POLL_S = 0.25
ADDED_TOPIC = keccak(b"L1L2MessageHashesAddedToInbox(bytes32[])")
CURRENT_L2_BLOCK = "0x" + keccak(b"currentL2BlockNumber()")[:4].hex()
DIRECTIONS = ("deposits", "withdrawals")


@dataclass
class Timed:
    """One message and when it passed each stage (seconds after the benchmark's t0)."""

    message: SentMessage
    sent: float
    receipt: float


class Watch:
    """What the two watchers saw: anchorings and claims on L2, claims and finalized L2 blocks on L1."""

    def __init__(self, info: dict[str, Any], t0: float) -> None:
        self.service, self.rollup = info["contracts"]["l2MessageService"], info["contracts"]["rollup"]
        self.t0 = t0
        self.cursors = {"L1": int(Rpc(info["l1"]["rpc"]).call("eth_blockNumber"), 16),
                        "L2": int(Rpc(info["l2"]["rpc"]).call("eth_blockNumber"), 16)}
        self.anchored: dict[bytes, float] = {}
        self.claimed: dict[str, dict[bytes, tuple[float, str]]] = {"L1": {}, "L2": {}}  # hash -> (seen, claim tx)
        self.finalized: list[tuple[int, float]] = []  # (currentL2BlockNumber, first seen)
        self.lock = threading.Lock()

    def _new_logs(self, rpc: Rpc, chain: str, address: str) -> list[dict]:
        head = int(rpc.call("eth_blockNumber"), 16)
        if head <= self.cursors[chain]:
            return []
        logs = rpc.call("eth_getLogs", {"address": address, "fromBlock": hex(self.cursors[chain] + 1),
                                        "toBlock": hex(head)})
        self.cursors[chain] = head
        return logs

    def watch_l2(self, rpc: Rpc) -> None:
        for log in self._new_logs(rpc, "L2", self.service):
            seen, topic = time.monotonic() - self.t0, bytes.fromhex(log["topics"][0][2:])
            with self.lock:
                if topic == ADDED_TOPIC:
                    (hashes,) = abi_decode(["bytes32[]"], bytes.fromhex(log["data"][2:]))
                    for message_hash in hashes:
                        self.anchored.setdefault(bytes(message_hash), seen)
                elif topic == MESSAGE_CLAIMED_TOPIC:
                    self.claimed["L2"].setdefault(bytes.fromhex(log["topics"][1][2:]), (seen, log["transactionHash"]))

    def watch_l1(self, rpc: Rpc) -> None:
        value = int(rpc.call("eth_call", {"to": self.rollup, "data": CURRENT_L2_BLOCK}, "latest"), 16)
        seen = time.monotonic() - self.t0
        with self.lock:
            if not self.finalized or value > self.finalized[-1][0]:
                self.finalized.append((value, seen))
        for log in self._new_logs(rpc, "L1", self.rollup):
            if bytes.fromhex(log["topics"][0][2:]) == MESSAGE_CLAIMED_TOPIC:
                with self.lock:
                    self.claimed["L1"].setdefault(bytes.fromhex(log["topics"][1][2:]),
                                                  (time.monotonic() - self.t0, log["transactionHash"]))

    def claimable_at(self, direction: str, message: SentMessage) -> float | None:
        with self.lock:
            if direction == "deposits":
                return self.anchored.get(bytes(message.message_hash))
            return next((t for value, t in self.finalized if value >= message.sent.block_number), None)

    def claim_of(self, direction: str, message: SentMessage) -> tuple[float, str] | None:
        with self.lock:
            return self.claimed["L2" if direction == "deposits" else "L1"].get(bytes(message.message_hash))


def send_spread(send: Callable[[], SentMessage], count: int, seconds: float, offset: float, t0: float,
                timed: list[Timed], errors: Counter[str]) -> None:
    """`count` sends, the k-th at (k + offset) * seconds / count after the start; each waits for its receipt."""
    start = time.monotonic()
    for k in range(count):
        time.sleep(max(0.0, start + (k + offset) * seconds / count - time.monotonic()))
        sent_at = time.monotonic() - t0
        try:
            message = send()
        except Exception as exc:  # noqa: BLE001 - counted and reported; the run goes on
            errors[str(exc)[:160]] += 1
            continue
        timed.append(Timed(message, sent_at, time.monotonic() - t0))


def _stats(values: list[float]) -> dict[str, float | None]:
    return seconds_stats(values, quantiles=(50, 99))


def summarize(direction: str, timed: list[Timed], errors: Counter[str], watch: Watch, claimers: dict[str, str],
              postman: str) -> dict[str, Any]:
    """The figures of one direction; `claimers` maps each claim tx to its sender."""
    to_receipt, to_claimable, claimable_to_claimed, to_claimed = [], [], [], []
    rows, by_postman, by_others, unclaimed = [], 0, 0, 0
    for item in timed:
        claimable = watch.claimable_at(direction, item.message)
        claim = watch.claim_of(direction, item.message)
        claimer = claimers.get(claim[1]) if claim else None
        to_receipt.append(item.receipt - item.sent)
        if claimable is not None:
            to_claimable.append(claimable - item.receipt)
        if claim is None:
            unclaimed += 1
        elif claimer is not None and claimer.lower() == postman.lower():
            by_postman += 1
            to_claimed.append(claim[0] - item.sent)
            if claimable is not None:
                claimable_to_claimed.append(claim[0] - claimable)
        else:
            by_others += 1
        rows.append({"hash": "0x" + bytes(item.message.message_hash).hex(), "nonce": item.message.nonce,
                     "source_block": item.message.sent.block_number, "sent": round_seconds(item.sent),
                     "receipt": round_seconds(item.receipt), "claimable": round_seconds(claimable),
                     "claimed": round_seconds(claim[0]) if claim else None, "claim_tx": claim[1] if claim else None,
                     "claimer": claimer})
    return {
        "sent": len(timed), "send_errors": dict(errors), "claimable": len(to_claimable),
        "claimed_by_postman": by_postman, "claimed_by_others": by_others, "unclaimed": unclaimed,
        "send_to_receipt_s": _stats(to_receipt), "receipt_to_claimable_s": _stats(to_claimable),
        "claimable_to_claimed_s": _stats(claimable_to_claimed), "send_to_claimed_s": _stats(to_claimed),
        "messages": rows,
    }


def run(
    messages: int = 15,
    seconds: float = 90.0,
    out: Path = DEFAULT_OUT,
    claim_timeout: float = 240.0,
    keep_workdir: bool = False,
    *,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """One devnet run: the deposits and withdrawals, both watchers; prints a table, writes JSON to `out`."""
    if messages < 1 or seconds <= 0 or claim_timeout <= 0:
        raise ValueError("messages must be >= 1, seconds and claim_timeout > 0")
    started = datetime.datetime.now(datetime.UTC)
    workdir = Path(tempfile.mkdtemp(prefix="linen-bridge-latency-"))
    t0 = time.monotonic()
    echo(f"[bench] starting the devnet in {workdir} ...")
    process, info = start_devnet(workdir, free_port(), timeout=300.0)
    result: dict[str, Any] = {"benchmark": "bridge_latency", "date": started.isoformat(timespec="seconds")}
    failed = True  # until the figures are in: a failed run keeps its workdir (devnet.log) for a look
    try:
        result["devnet_start_s"] = round(time.monotonic() - t0, 1)
        endpoints = BridgeEndpoints.from_devnet(workdir / "devnet")
        depositor = BridgeClient(endpoints, dev_account(DEPOSITOR).private_key)
        withdrawer = BridgeClient(endpoints, dev_account(WITHDRAWER).private_key)
        watch = Watch(info, t0)
        pollers = [Poller(info["l2"]["rpc"], POLL_S, watch.watch_l2), Poller(info["l1"]["rpc"], POLL_S, watch.watch_l1)]
        for poller in pollers:
            poller.start()
        timed: dict[str, list[Timed]] = {d: [] for d in DIRECTIONS}
        errors: dict[str, Counter[str]] = {d: Counter() for d in DIRECTIONS}
        senders = [
            threading.Thread(target=send_spread, daemon=True, args=(
                lambda: depositor.deposit(depositor.account.address, DEPOSIT_VALUE, FEE), messages, seconds, 0.0,
                t0, timed["deposits"], errors["deposits"])),
            threading.Thread(target=send_spread, daemon=True, args=(
                lambda: withdrawer.withdraw(withdrawer.account.address, WITHDRAWAL_VALUE, FEE), messages, seconds,
                0.5, t0, timed["withdrawals"], errors["withdrawals"])),
        ]
        echo(f"[bench] sending {messages} deposits and {messages} withdrawals over {seconds:g} s ...")
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        echo(f"[bench] sent; waiting (at most {claim_timeout:g} s) for the postman to claim them ...")
        deadline = time.monotonic() + claim_timeout
        while time.monotonic() < deadline and process.poll() is None and any(
                watch.claim_of(d, item.message) is None for d in DIRECTIONS for item in timed[d]):
            time.sleep(0.5)
        for poller in pollers:
            poller.stopping.set()
            poller.join(5)

        postman = dev_account(POSTMAN_DEV_ACCOUNT).address
        claimers = {}  # claim tx -> its sender
        for chain in ("L1", "L2"):
            rpc = Rpc(info[chain.lower()]["rpc"])
            for _seen, tx_hash in watch.claimed[chain].values():
                claimers[tx_hash] = rpc.call("eth_getTransactionByHash", tx_hash)["from"]
        coordinator = load_section_values("coordinator", None, dict(DEVNET_COORDINATOR))
        result.update({
            "config": {
                "messages_per_direction": messages, "seconds": seconds, "claim_timeout_s": claim_timeout,
                "deposit_value_wei": DEPOSIT_VALUE, "withdrawal_value_wei": WITHDRAWAL_VALUE, "fee_wei": FEE,
                "watcher_poll_s": POLL_S, "l1": "anvil, a block every second", "l2_block_period_s": 1.0,
                "devnet_coordinator": {k: coordinator[k] for k in DEVNET_COORDINATOR},
                "devnet_postman": dict(DEVNET_POSTMAN),
            },
            **{d: summarize(d, timed[d], errors[d], watch, claimers, postman) for d in DIRECTIONS},
            "finalization_steps": [[v, round(t, 2)] for v, t in watch.finalized],
            "watcher_errors": {str(i): dict(p.errors) for i, p in enumerate(pollers) if p.errors},
        })
        failed = False
    finally:
        finish_devnet(process, info, workdir, result, failed=failed, keep_workdir=keep_workdir, echo=echo)
    result["duration_s"] = round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1)
    result["machine"] = machine_info()
    return publish(out, result, format_table, echo)


def format_table(r: dict[str, Any]) -> str:
    rows = [("receipt -> claimable", "receipt_to_claimable_s"), ("claimable -> claimed", "claimable_to_claimed_s"),
            ("send -> claimed", "send_to_claimed_s"), ("send -> receipt", "send_to_receipt_s")]
    lines = [f"bridge latency on the devnet, {r['date']}: {r['config']['messages_per_direction']} deposits and "
             f"{r['config']['messages_per_direction']} withdrawals over {r['config']['seconds']:g} s",
             f"{'direction':<12}{'stage':<22}{'p50 s':>8}{'p99 s':>8}{'max s':>8}{'n':>5}"]
    for direction in DIRECTIONS:
        d = r[direction]
        for label, key in rows:
            s = d[key]
            shown = ["-" if s[k] is None else f"{s[k]:.2f}" for k in ("p50", "p99", "max")]
            lines.append(f"{direction[:-1]:<12}{label:<22}{shown[0]:>8}{shown[1]:>8}{shown[2]:>8}{s['count']:>5}")
        lines.append(f"{'':<12}sent {d['sent']} (errors {sum(d['send_errors'].values())}), claimed by the postman "
                     f"{d['claimed_by_postman']}, by others {d['claimed_by_others']}, unclaimed {d['unclaimed']}")
    lines.append(f"devnet exit after SIGINT: {r['devnet_exit']}; log problems: {len(r['log_problems'])}")
    return "\n".join(lines)
