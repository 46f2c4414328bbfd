"""Sending pre-signed transactions at a node as fast as it takes them, and watching blocks arrive."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from linen.benchmarks.load_client import Client, RpcError
from linen.benchmarks.load_signing import SignedTx, Signer

DEFAULT_WINDOW = 48  # unconfirmed txs per sender the submitter allows
WATCH_INTERVAL = 0.025  # seconds between eth_blockNumber polls
MAX_ATTEMPTS = 5  # sends of one tx before its sender is given up
RETRY_DELAY = 0.25  # seconds a sender waits after an error


# -- the watcher: which block included which tx, and when the client first saw that block ----------
@dataclass(slots=True)
class SeenBlock:
    number: int
    timestamp: int
    seen: float  # perf_counter() when eth_blockNumber first reported it
    hashes: list[str]
    gas_used: int


class Watcher:
    def __init__(self, client: Client, after_block: int, on_block: Callable[[SeenBlock], None]) -> None:
        self.client = client
        self.next_number = after_block + 1
        self.on_block = on_block
        self.blocks: list[SeenBlock] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> Watcher:
        self._task = asyncio.create_task(self._run(), name="watcher")
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                head = int(await self.client.call("eth_blockNumber"), 16)
                seen = time.perf_counter()
                while self.next_number <= head:
                    block = await self.client.call("eth_getBlockByNumber", hex(self.next_number), False)
                    if block is None:
                        break
                    hashes = [h if isinstance(h, str) else h["hash"] for h in block["transactions"]]
                    seen_block = SeenBlock(
                        self.next_number,
                        int(block["timestamp"], 16),
                        seen,
                        [h.lower() for h in hashes],
                        int(block["gasUsed"], 16),
                    )
                    self.blocks.append(seen_block)
                    self.next_number += 1
                    self.on_block(seen_block)
            except (RpcError, aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError) as exc:
                self.errors[_brief(exc)] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_INTERVAL)


# -- the submitter --------------------------------------------------------------------------------
class Lane:
    """One sender's pre-signed transactions, sent in nonce order."""

    __slots__ = ("txs", "next", "inflight", "queued", "retry", "attempts", "held", "dead")

    def __init__(self, txs: list[SignedTx]) -> None:
        self.txs = txs
        self.next = 0
        self.inflight = 0
        self.queued = False
        self.retry: collections.deque[int] = collections.deque()
        self.attempts: dict[int, int] = {}
        self.held = False
        self.dead = False

    def has_work(self) -> bool:
        return not self.dead and (bool(self.retry) or self.next < len(self.txs))


class Pump:
    """Sends the lanes' transactions round-robin from `connections` workers, `window` unconfirmed per lane."""

    def __init__(self, client: Client, lanes: list[Lane], window: int) -> None:
        self.client = client
        self.lanes = lanes
        self.window = window
        self.lane_of = {tx.hash: lane for lane in lanes for tx in lane.txs}
        self.ready: collections.deque[Lane] = collections.deque()
        self.wake = asyncio.Event()
        self.sent_at: dict[str, float] = {}  # accepted txs: hash -> when the accepted send started
        self.outstanding: set[str] = set()  # sent (or being sent) and not seen included
        self.included: dict[str, tuple[int, float]] = {}  # hash -> (block number, block first seen)
        self.foreign: list[str] = []  # included hashes this pump never had
        self.round_trips: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.error_count = 0
        self.attempts = 0
        for lane in lanes:
            self._enqueue(lane)

    def _enqueue(self, lane: Lane) -> None:
        if not lane.queued and not lane.held and lane.inflight < self.window and lane.has_work():
            lane.queued = True
            self.ready.append(lane)
            self.wake.set()

    def _release(self, lane: Lane) -> None:
        lane.held = False
        self._enqueue(lane)

    def on_block(self, block: SeenBlock) -> None:
        for tx_hash in block.hashes:
            lane = self.lane_of.get(tx_hash)
            if lane is None:
                self.foreign.append(tx_hash)
                continue
            if tx_hash in self.included:
                continue
            self.included[tx_hash] = (block.number, block.seen)
            if tx_hash in self.outstanding:
                self.outstanding.discard(tx_hash)
                lane.inflight -= 1
                self._enqueue(lane)

    def all_sent(self) -> bool:
        return not any(lane.has_work() for lane in self.lanes)

    async def worker(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = time.perf_counter()
            if now >= deadline:
                return
            if not self.ready:
                if self.all_sent():
                    return
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), min(0.05, deadline - now))
                continue
            lane = self.ready.popleft()
            lane.queued = False
            if lane.held or lane.dead or lane.inflight >= self.window or not lane.has_work():
                continue
            if lane.retry:
                index = lane.retry.popleft()
            else:
                index = lane.next
                lane.next += 1
            tx = lane.txs[index]
            lane.inflight += 1
            self.outstanding.add(tx.hash)
            self._enqueue(lane)  # back of the line: round-robin over the senders
            self.attempts += 1
            started = time.perf_counter()
            try:
                result = await self.client.post(tx.body)
                error = None if str(result).lower() == tx.hash else f"node returned hash {result}, expected {tx.hash}"
                accepted = True
            except (RpcError, aiohttp.ClientError, TimeoutError) as exc:
                error = _brief(exc)
                retried = lane.attempts.get(index, 0) > 0
                accepted = "already known" in error.lower() or (retried and "nonce too low" in error.lower())
            if error is not None:
                self.error_count += 1
                self.errors[_normalise_error(error)] += 1
            if accepted or tx.hash in self.included:
                self.sent_at.setdefault(tx.hash, started)
                if error is None:
                    self.round_trips.append(time.perf_counter() - started)
                continue
            # Refused: not in flight any more; retry the same tx after a pause (its successors would
            # only queue behind the nonce hole), and give the sender up after MAX_ATTEMPTS.
            if tx.hash in self.outstanding:
                self.outstanding.discard(tx.hash)
                lane.inflight -= 1
            lane.attempts[index] = lane.attempts.get(index, 0) + 1
            if lane.attempts[index] >= MAX_ATTEMPTS:
                lane.dead = True
                continue
            lane.retry.appendleft(index)
            lane.held = True
            loop.call_later(RETRY_DELAY, self._release, lane)

    async def run(self, connections: int, deadline: float = math.inf) -> None:
        await asyncio.gather(*(self.worker(deadline) for _ in range(connections)))

    async def wait_included(self, timeout: float, stall: float) -> None:
        """Until every accepted tx is included, `timeout` passes, or no inclusion happens for `stall` s."""
        deadline = time.perf_counter() + timeout
        last_count, last_progress = -1, time.perf_counter()
        while time.perf_counter() < deadline:
            missing = sum(1 for h in self.sent_at if h not in self.included)
            if missing == 0:
                return
            if len(self.included) != last_count:
                last_count, last_progress = len(self.included), time.perf_counter()
            elif time.perf_counter() - last_progress > stall:
                return
            await asyncio.sleep(0.1)


async def _pending_nonce(client: Client, address: bytes) -> int:
    return int(await client.call("eth_getTransactionCount", "0x" + address.hex(), "pending"), 16)


async def _head_number(client: Client) -> int:
    return int(await client.call("eth_blockNumber"), 16)


async def _send_all(client: Client, watch: Client, plan: dict[Signer, list[SignedTx]], connections: int, what: str) -> Pump:
    """Send every tx of `plan` (per sender, in nonce order) and wait until all are included."""
    pump = Pump(client, [Lane(txs) for txs in plan.values() if txs], DEFAULT_WINDOW)
    watcher = Watcher(watch, await _head_number(client), pump.on_block).start()
    try:
        await asyncio.wait_for(pump.run(connections), 300)
        await pump.wait_included(timeout=300, stall=60)
    finally:
        await watcher.stop()
    total = sum(len(txs) for txs in plan.values())
    missing = [h for lane in pump.lanes for h in (tx.hash for tx in lane.txs) if h not in pump.included]
    if missing:
        raise RuntimeError(
            f"set-up ({what}): {len(missing)} of {total} txs not included; errors: {dict(pump.errors.most_common(5))}"
        )
    return pump


def _brief(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
    if not isinstance(exc, str) and not isinstance(exc, RpcError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 200 else text[:197] + "..."


def _normalise_error(message: str) -> str:
    """Group messages that differ only in numbers/hashes."""
    return re.sub(r"0x[0-9a-fA-F]+|\d+", "N", message)
