"""Throughput benchmark: sustained inclusion rate and submit-to-inclusion latency, Linen vs anvil.

For every target (a fresh `linen node` with a 1 s block period, the same with its tracer off, a fresh
anvil with `--block-time 1`) and every kind of transaction (plain ETH transfers, ERC-20 transfers):

1. set-up, not timed: fund `senders` fresh keys from the dev accounts (and for erc20 deploy TestToken
   and hand every sender tokens), and wait until all of it is included;
2. pre-sign every transaction of the measured phase (EIP-1559, the node's chain id, consecutive nonces
   per sender) so the client spends no time signing while it is timed;
3. measured phase: `connections` concurrent HTTP connections send eth_sendRawTransaction for `seconds`,
   round-robin over the senders, keeping at most `window` unconfirmed transactions per sender (the
   node's pool takes 64 per sender); a watcher polls eth_blockNumber / eth_getBlockByNumber and notes
   the first time it sees each block. Afterwards it waits (bounded) until every accepted tx is included;
4. figures: inclusion rate, latency percentiles, errors, and for Linen where its time goes (the node's
   "sealed block" log lines, its CPU time, and decode+recover measured in-process).

bench/README.md explains every figure. `run()` prints a table and writes JSON atomically to `out`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import coincurve
import orjson
from eth_hash.auto import keccak

from linen.benchmarks.machine import machine_info as common_machine_info
from linen.benchmarks.machine import publish
from linen.devaccounts import dev_accounts
from linen.ports import free_port
from linen.tools import tool_path

ROOT = Path(__file__).resolve().parent.parent.parent
TOKEN_SOURCE = ROOT / "tests" / "contracts" / "TestToken.sol"
COMPILE_JS = ROOT / "tools" / "compile.js"
DEFAULT_OUT = Path("bench/results/throughput.json")

TARGETS = ("linen", "linen-untraced", "anvil")
KINDS = ("eth", "erc20")

BLOCK_PERIOD = 1.0  # seconds, both targets
MAX_FEE = 10**9  # 1 gwei fee cap; the base fee sits at its 7 wei floor
TIP = 10**9  # 1 gwei priority fee (effective tip: fee cap - base fee)
BASE_FEE_FLOOR = 7  # Linen's floor; anvil is started with the same base fee
ETH_GAS = 21_000
ERC20_GAS = 90_000  # a transfer to a fresh address uses ~52k
TOKEN = 10**18  # "1 token" (18 decimals)
TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")  # transfer(address,uint256)
BALANCE_OF_SELECTOR = bytes.fromhex("70a08231")  # balanceOf(address)

POOL_PER_SENDER = 64  # Linen's txpool max-per-sender (and max nonce gap)
POOL_SIZE = 10_000  # Linen's txpool max-pool-size
DEFAULT_WINDOW = 48  # unconfirmed txs per sender the submitter allows
DEFAULT_CONNECTIONS = 32  # anvil keeps scaling up to ~32-64 on 2 cores; Linen is CPU-bound either way
DEFAULT_MAX_PRESIGN = 150_000  # txs pre-signed per (target, kind) at most (~40 us each to sign)
WATCH_INTERVAL = 0.025  # seconds between eth_blockNumber polls
MAX_ATTEMPTS = 5  # sends of one tx before its sender is given up
RETRY_DELAY = 0.25  # seconds a sender waits after an error
DECODE_SAMPLE = 2000  # txs decoded in-process for the decode+recover figure

SEALED_RE = re.compile(
    r"^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) )?.*?"
    r"sealed block (\d+) with (\d+) txs, gas (\d+) \(exec (\d+) ms, roots (\d+) ms, commit (\d+) ms\)",
    re.MULTILINE,
)
SEND_PREFIX = b'{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["'
SEND_SUFFIX = b'"]}'
JSON_HEADERS = {"Content-Type": "application/json"}


# -- signing (pre-computed, so a minimal RLP encoder beats the general one by ~20 us/tx) ------------
def _rlp_len(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def _rlp_bytes(value: bytes) -> bytes:
    if len(value) == 1 and value[0] < 0x80:
        return value
    return _rlp_len(len(value), 0x80) + value


def _rlp_int(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    return _rlp_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _rlp_list(payload: bytes) -> bytes:
    return _rlp_len(len(payload), 0xC0) + payload


def contract_address(sender: bytes, nonce: int) -> bytes:
    return keccak(_rlp_list(_rlp_bytes(sender) + _rlp_int(nonce)))[12:]


class Signer:
    """A private key that signs EIP-1559 transactions fast (coincurve, hand-rolled RLP)."""

    __slots__ = ("_key", "address", "private_key")

    def __init__(self, private_key: bytes) -> None:
        self.private_key = private_key
        self._key = coincurve.PrivateKey(private_key)
        self.address = keccak(self._key.public_key.format(compressed=False)[1:])[12:]

    @classmethod
    def fresh(cls) -> Signer:
        return cls(os.urandom(32))

    def sign(self, chain_id: int, nonce: int, gas: int, to: bytes, value: int = 0, data: bytes = b"") -> tuple[bytes, bytes]:
        """A signed type-2 transaction: (raw envelope, tx hash). Creates a contract when `to` is b""."""
        fields = (
            _rlp_int(chain_id) + _rlp_int(nonce) + _rlp_int(TIP) + _rlp_int(MAX_FEE) + _rlp_int(gas)
            + _rlp_bytes(to) + _rlp_int(value) + _rlp_bytes(data) + b"\xc0"
        )
        sig = self._key.sign_recoverable(keccak(b"\x02" + _rlp_list(fields)), hasher=None)
        signed = fields + _rlp_int(sig[64]) + _rlp_int(int.from_bytes(sig[:32], "big")) + _rlp_int(int.from_bytes(sig[32:64], "big"))
        raw = b"\x02" + _rlp_list(signed)
        return raw, keccak(raw)


def erc20_transfer_data(to: bytes, amount: int) -> bytes:
    return TRANSFER_SELECTOR + to.rjust(32, b"\x00") + amount.to_bytes(32, "big")


@dataclass(slots=True)
class SignedTx:
    hash: str  # 0x-hex, lower case
    raw: bytes
    body: bytes  # the whole eth_sendRawTransaction request


def signed_tx(raw: bytes, tx_hash: bytes) -> SignedTx:
    hex_raw = ("0x" + raw.hex()).encode()
    return SignedTx("0x" + tx_hash.hex(), raw, SEND_PREFIX + hex_raw + SEND_SUFFIX)


# -- JSON-RPC over HTTP ---------------------------------------------------------------------------
class RpcError(Exception):
    pass


class Client:
    """JSON-RPC over one aiohttp session (keep-alive connections, at most `connections` of them)."""

    def __init__(self, url: str, connections: int = 1, timeout: float = 60.0) -> None:
        self.url = url
        self.connections = connections
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connections),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def post(self, body: bytes) -> Any:
        assert self.session is not None
        async with self.session.post(self.url, data=body, headers=JSON_HEADERS) as response:
            data = await response.read()
            status = response.status
        try:
            reply = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise RpcError(f"HTTP {status}: {data[:200]!r}") from None
        if not isinstance(reply, dict):
            raise RpcError(f"HTTP {status}: unexpected reply {str(reply)[:200]}")
        if reply.get("error") is not None:
            error = reply["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise RpcError(str(message))
        if "result" not in reply:
            raise RpcError(f"HTTP {status}: reply without result: {str(reply)[:200]}")
        return reply["result"]

    async def call(self, method: str, *params: Any) -> Any:
        return await self.post(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}))


def _sync_rpc(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, JSON_HEADERS)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RpcError(str(reply["error"]))
    return reply["result"]


# -- the processes under test ---------------------------------------------------------------------
class TargetProcess:
    """A node under test: a subprocess with its output in a log file, answering JSON-RPC on `url`."""

    def __init__(self, name: str, args: list[str], log_path: Path, port: int, cwd: Path,
                 ready_method: str = "eth_chainId") -> None:
        self.name = name
        self.ready_method = ready_method  # answered once the process serves
        self.args = args
        self.log_path = log_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> TargetProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                _sync_rpc(self.url, self.ready_method, timeout=1.0)
                return self
            except (OSError, RpcError, ValueError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer {self.ready_method} within {timeout:.0f}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the process so far (Linux /proc), None if unavailable."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


BENCH_LIMITS_FACTOR = 64  # the seed limits cap a block at 200 txs; raised so only the tracer's CPU cost differs


def bench_limits_file(workdir: Path) -> Path:
    """The seed trace limits with every module limit raised (fixed tables stay exact, as they must)."""
    from linen.execution.tracer.limits import load_trace_limits
    from linen.execution.tracer.modules import FIXED_TABLE_SIZES

    seed = load_trace_limits()
    lines = []
    for section, limits in (("traces_limits", seed.regular), ("traces_limits_large", seed.large)):
        lines.append(f"[{section}]")
        for module, limit in limits.items():
            lines.append(f"{module} = {limit if module in FIXED_TABLE_SIZES else limit * BENCH_LIMITS_FACTOR}")
    path = workdir / "bench-limits.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def linen_process(workdir: Path, traced: bool = True, state_config: str = "enabled = false\n") -> TargetProcess:
    """A fresh `linen node`; `traced=False` turns the tracer (and the line limits) off, to measure its cost.

    The state manager is off by default: its lag has its own benchmark (`linen.benchmarks.state_lag`),
    which passes the `[state]` section it wants as `state_config`.
    """
    port = free_port()
    config = workdir / "linen.toml"
    config.write_text(f"[tracer]\nenabled = {'true' if traced else 'false'}\n[state]\n{state_config}")
    args = [
        sys.executable, "-m", "linen.cli", "node",
        "--config", str(config),
        "--data-dir", str(workdir / "data"),
        "--rpc-port", str(port),
        "--block-period", f"{BLOCK_PERIOD:g}",
        "--traces-limits", str(bench_limits_file(workdir)),
    ]
    return TargetProcess("linen" if traced else "linen-untraced", args, workdir / "node.log", port, workdir)


def linen_block_gas_limit() -> int:
    from linen.chain.genesis import DEFAULT_GAS_LIMIT

    return DEFAULT_GAS_LIMIT


def anvil_process(workdir: Path) -> TargetProcess:
    port = free_port()
    args = [
        str(tool_path("anvil")),
        "--port", str(port),
        "--hardfork", "prague",
        "--silent",
        "--block-time", f"{BLOCK_PERIOD:g}",
        # Same block gas limit and base fee as Linen's devnet genesis, so blocks fill the same way.
        "--gas-limit", str(linen_block_gas_limit()),
        "--block-base-fee-per-gas", str(BASE_FEE_FLOOR),
    ]
    return TargetProcess("anvil", args, workdir / "anvil.log", port, workdir)


STARTERS: dict[str, Callable[[Path], TargetProcess]] = {
    "linen": linen_process,
    "linen-untraced": lambda workdir: linen_process(workdir, traced=False),
    "anvil": anvil_process,
}


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


# -- set-up ---------------------------------------------------------------------------------------
_COMPILED: dict[str, dict] = {}


def compile_token(workdir: Path) -> dict:
    """TestToken's {abi, bytecode}: compiled with the pinned solc-js (tools/compile.js), once per process."""
    digest = hashlib.sha256(TOKEN_SOURCE.read_bytes()).hexdigest()
    if digest not in _COMPILED:
        out = workdir / "TestToken.json"
        subprocess.run(["node", str(COMPILE_JS), str(out), str(TOKEN_SOURCE)], check=True, cwd=ROOT, capture_output=True)
        _COMPILED[digest] = json.loads(out.read_text())["TestToken"]
    return _COMPILED[digest]


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


async def setup(
    client: Client, watch: Client, chain_id: int, kind: str, senders: list[Signer], per_sender: int,
    gas_per_tx: int, connections: int, workdir: Path,
) -> bytes | None:
    """Fund the senders (and for erc20 deploy TestToken and give them tokens); returns the token address."""
    devs = [Signer(bytes.fromhex(acct.private_key[2:])) for acct in dev_accounts()]
    nonces = {dev: await _pending_nonce(client, dev.address) for dev in devs}
    plan: dict[Signer, list[SignedTx]] = {dev: [] for dev in devs}

    def add(dev: Signer, gas: int, to: bytes, value: int = 0, data: bytes = b"") -> None:
        plan[dev].append(signed_tx(*dev.sign(chain_id, nonces[dev], gas, to, value, data)))
        nonces[dev] += 1

    token = None
    tokens_per_sender = per_sender * TOKEN
    per_dev = math.ceil(len(senders) / len(devs))
    if kind == "erc20":
        artifact = compile_token(workdir)
        supply = tokens_per_sender * per_dev * len(devs)
        deployer = devs[0]
        token = contract_address(deployer.address, nonces[deployer])
        add(deployer, 3_000_000, b"", 0, bytes.fromhex(artifact["bytecode"][2:]) + supply.to_bytes(32, "big"))
        for dev in devs[1:]:  # every dev account hands out its share, so distribution runs in parallel
            add(deployer, 100_000, token, 0, erc20_transfer_data(dev.address, tokens_per_sender * per_dev))
    fund = max(10**18, 2 * per_sender * gas_per_tx * MAX_FEE)
    for i, sender in enumerate(senders):
        add(devs[i % len(devs)], ETH_GAS, sender.address, fund)
    await _send_all(client, watch, plan, connections, "funding")
    if token is not None:
        receipt = await client.call("eth_getTransactionReceipt", plan[devs[0]][0].hash)
        if receipt is None or int(receipt["status"], 16) != 1:
            raise RuntimeError(f"set-up: TestToken deployment failed: {receipt}")
        plan = {dev: [] for dev in devs}
        for i, sender in enumerate(senders):
            add(devs[i % len(devs)], 100_000, token, 0, erc20_transfer_data(sender.address, tokens_per_sender))
        await _send_all(client, watch, plan, connections, "token distribution")
    # Spot-check the last sender got what it needs.
    balance = int(await client.call("eth_getBalance", "0x" + senders[-1].address.hex(), "latest"), 16)
    if balance < fund:
        raise RuntimeError(f"set-up: sender balance {balance} < {fund}")
    if token is not None:
        data = BALANCE_OF_SELECTOR + senders[-1].address.rjust(32, b"\x00")
        result = await client.call("eth_call", {"to": "0x" + token.hex(), "data": "0x" + data.hex()}, "latest")
        if int(result, 16) < tokens_per_sender:
            raise RuntimeError(f"set-up: sender token balance {int(result, 16)} < {tokens_per_sender}")
    return token


def presign(chain_id: int, kind: str, senders: list[Signer], nonces: list[int], per_sender: int, token: bytes | None) -> list[list[SignedTx]]:
    """Per sender, `per_sender` consecutive-nonce transfers to random fresh addresses."""
    lanes = []
    for sender, first in zip(senders, nonces, strict=True):
        txs = []
        for nonce in range(first, first + per_sender):
            recipient = os.urandom(20)
            if kind == "eth":
                raw, tx_hash = sender.sign(chain_id, nonce, ETH_GAS, recipient, 1)
            else:
                assert token is not None
                raw, tx_hash = sender.sign(chain_id, nonce, ERC20_GAS, token, 0, erc20_transfer_data(recipient, TOKEN))
            txs.append(signed_tx(raw, tx_hash))
        lanes.append(txs)
    return lanes


# -- figures --------------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1e3, 1)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _brief(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
    if not isinstance(exc, str) and not isinstance(exc, RpcError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 200 else text[:197] + "..."


def _normalise_error(message: str) -> str:
    """Group messages that differ only in numbers/hashes."""
    return re.sub(r"0x[0-9a-fA-F]+|\d+", "N", message)


def parse_sealed_lines(text: str) -> dict[int, dict[str, Any]]:
    """Linen's "sealed block N with K txs, gas G (exec X ms, roots Y ms, commit Z ms)" lines, by block.

    `logged_at` is the line's logging timestamp (local time, epoch seconds) when the line has one.
    """
    blocks = {}
    for match in SEALED_RE.finditer(text):
        stamp = match.group(1)
        number, txs, gas, execute, roots, commit = map(int, match.groups()[1:])
        logged_at = None
        if stamp:
            logged_at = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        blocks[number] = {
            "txs": txs, "gas": gas, "exec_ms": execute, "roots_ms": roots, "commit_ms": commit, "logged_at": logged_at,
        }
    return blocks


def producer_seconds_within(sealed: Iterable[dict[str, Any]], start: float, end: float) -> float:
    """Producer time (exec + roots + commit) that falls inside [start, end] (epoch seconds).

    A block's production is taken to be the interval that ends at its log line and lasts its logged total.
    """
    total = 0.0
    for block in sealed:
        if block["logged_at"] is None:
            continue
        busy = (block["exec_ms"] + block["roots_ms"] + block["commit_ms"]) / 1e3
        finished = block["logged_at"]
        total += max(0.0, min(finished, end) - max(finished - busy, start))
    return total


def decode_cost(txs: Iterable[SignedTx], chain_id: int) -> dict[str, Any]:
    """Linen's submission-side stateless work, in-process: decode_transaction (RLP, checks, ecrecover)."""
    from linen.execution.transactions import decode_transaction

    raws = [tx.raw for tx in txs][:DECODE_SAMPLE]
    if not raws:
        return {"txs": 0}
    for raw in raws[:50]:  # warm-up
        decode_transaction(raw, chain_id)
    started = time.perf_counter()
    for raw in raws:
        decode_transaction(raw, chain_id)
    elapsed = time.perf_counter() - started
    return {"txs": len(raws), "us_per_tx": round(elapsed / len(raws) * 1e6, 1)}


@dataclass
class Measurement:
    t0: float
    t1: float
    t0_wall: float  # time.time() at t0
    pump: Pump
    watcher_blocks: list[SeenBlock]
    watcher_errors: dict[str, int]
    node_cpu: float | None
    client_cpu: float
    drain_s: float
    exhausted_senders: int
    receipts: dict[str, Any] = field(default_factory=dict)
    other_cpu: float | None = None  # CPU seconds used by every other process on the machine


def figures(m: Measurement) -> dict[str, Any]:
    window = m.t1 - m.t0
    pump = m.pump
    ours = pump.lane_of
    in_window = [b for b in m.watcher_blocks if m.t0 < b.seen <= m.t1]
    ours_per_block = {b.number: sum(1 for h in b.hashes if h in ours) for b in m.watcher_blocks}
    included_in_window = sum(ours_per_block[b.number] for b in in_window)
    latencies = sorted(seen - pump.sent_at[h] for h, (_, seen) in pump.included.items() if h in pump.sent_at)
    block_rate = None
    timestamp_rate = None
    if len(in_window) >= 2:
        later = sum(ours_per_block[b.number] for b in in_window[1:])
        span = in_window[-1].seen - in_window[0].seen
        block_rate = later / span if span > 0 else None
        ts_span = in_window[-1].timestamp - in_window[0].timestamp
        timestamp_rate = later / ts_span if ts_span > 0 else None
    with_txs = [b for b in m.watcher_blocks if ours_per_block[b.number]]
    intervals = [b.seen - a.seen for a, b in zip(in_window, in_window[1:], strict=False)]
    not_included = [h for h in pump.sent_at if h not in pump.included]
    round_trips = sorted(pump.round_trips)
    total_gas = sum(b.gas_used for b in with_txs)
    total_ours = sum(ours_per_block[b.number] for b in with_txs)
    return {
        "window_s": round(window, 3),
        "submitted": len(pump.sent_at),
        "submit_attempts": pump.attempts,
        "submit_rate_tps": round(len(pump.sent_at) / window, 1),
        "included": len(pump.included),
        "included_in_window": included_in_window,
        "inclusion_rate_tps": round(included_in_window / window, 1),
        "block_interval_rate_tps": _round(block_rate),
        "block_timestamp_rate_tps": _round(timestamp_rate),
        "not_included": len(not_included),
        "not_included_sample": not_included[:5],
        "foreign_included": len(pump.foreign),
        "included_unsent": sum(1 for h in pump.included if h not in pump.sent_at),
        "foreign_sample": pump.foreign[:5],
        "latency_ms": {
            "p50": _ms(percentile(latencies, 50)),
            "p90": _ms(percentile(latencies, 90)),
            "p99": _ms(percentile(latencies, 99)),
            "max": _ms(latencies[-1] if latencies else None),
            "mean": _ms(statistics.fmean(latencies) if latencies else None),
        },
        "submit_round_trip_ms": {
            "p50": _ms(percentile(round_trips, 50)),
            "p99": _ms(percentile(round_trips, 99)),
        },
        "errors": pump.error_count,
        "error_samples": dict(pump.errors.most_common(8)),
        "watcher_errors": m.watcher_errors,
        "blocks_in_window": len(in_window),
        "blocks_with_our_txs": len(with_txs),
        "block_interval_s": {
            "mean": _round(statistics.fmean(intervals), 3) if intervals else None,
            "max": _round(max(intervals), 3) if intervals else None,
        },
        "txs_per_block": {
            "mean": _round(total_ours / len(with_txs)) if with_txs else None,
            "max": max((ours_per_block[b.number] for b in with_txs), default=None),
        },
        "gas_per_tx": round(total_gas / total_ours) if total_ours else None,
        "drain_s": round(m.drain_s, 2),
        "exhausted_senders": m.exhausted_senders,
        "node_cpu_s_in_window": _round(m.node_cpu, 2),
        "node_cpu_share_in_window": _round(m.node_cpu / window, 2) if m.node_cpu is not None else None,
        "client_cpu_share_in_window": round(m.client_cpu / window, 2),
        "other_processes_cpu_share_in_window": _round(max(0.0, m.other_cpu) / window, 2) if m.other_cpu is not None else None,
        "receipts_sampled": m.receipts,
        "blocks": [
            [b.number, b.timestamp, round(b.seen - m.t0, 3), ours_per_block[b.number], b.gas_used]
            for b in m.watcher_blocks
        ],
    }


def profile_linen(
    log_text: str, blocks: list[SeenBlock], ours: dict[str, Any], window_wall: tuple[float, float],
    decode: dict[str, Any], node_cpu: float | None, submitted: int, included_in_window: int,
) -> dict[str, Any]:
    """Where Linen's time went, from its "sealed block" log lines for the blocks holding measured txs."""
    sealed = parse_sealed_lines(log_text)
    numbers = [b.number for b in blocks if any(h in ours for h in b.hashes)]
    logged = [sealed[n] for n in numbers if n in sealed]
    txs = sum(s["txs"] for s in logged)
    totals = {k: sum(s[k] for s in logged) for k in ("exec_ms", "roots_ms", "commit_ms")}
    producer_ms = sum(totals.values())
    window_s = window_wall[1] - window_wall[0]
    window_producer_s = producer_seconds_within(sealed.values(), *window_wall)
    per_tx = {k.removesuffix("_ms"): round(v * 1e3 / txs, 1) if txs else None for k, v in totals.items()}
    per_tx["producer_total"] = round(producer_ms * 1e3 / txs, 1) if txs else None
    per_tx["decode_recover"] = decode.get("us_per_tx")
    outside = (node_cpu - window_producer_s) / submitted * 1e6 if node_cpu is not None and submitted else None
    problems = [
        line for line in log_text.splitlines()
        if " WARNING " in line or " ERROR " in line or "Traceback" in line or "dropping transaction" in line
    ]
    return {
        "blocks_logged": len(logged),
        "blocks_missing_log_line": len(numbers) - len(logged),
        "txs": txs,
        "totals_ms": {**totals, "producer": producer_ms},
        "per_tx_us": per_tx,
        "producer_s_in_window": round(window_producer_s, 3),
        "producer_busy_share_in_window": round(window_producer_s / window_s, 2) if window_s else None,
        "node_cpu_per_included_tx_us": _round(node_cpu / included_in_window * 1e6 if node_cpu and included_in_window else None),
        "node_cpu_outside_producer_per_submitted_tx_us": _round(outside),
        "decode_recover_in_process": decode,
        "log_problem_lines": len(problems),
        "log_problem_sample": [line[:300] for line in problems[:5]],
        "notes": (
            "per_tx_us: the node's own timings summed over the blocks holding measured txs, divided by their txs. "
            "exec = pool selection + EVM execution (no signature work); roots = state root, tx and receipt tries; "
            "commit = writing the block. Sender recovery happens in eth_sendRawTransaction instead: decode_recover is "
            "decode_transaction() timed in-process. node_cpu_outside_producer_per_submitted_tx = (node CPU in the "
            "window - producer time of the window's blocks) / txs submitted in the window: HTTP + JSON-RPC + "
            "decode/recover + pool admission (+ the watcher's few queries)."
        ),
    }


# -- one (target, kind) ---------------------------------------------------------------------------
async def _measure_case(
    proc: TargetProcess, kind: str, seconds: float, senders_count: int, window: int, connections: int,
    max_presign: int, drain_timeout: float, workdir: Path,
) -> dict[str, Any]:
    async with Client(proc.url, connections) as client, Client(proc.url, 1) as watch:
        chain_id = int(await client.call("eth_chainId"), 16)
        latest = await client.call("eth_getBlockByNumber", "latest", False)
        gas_limit = int(latest["gasLimit"], 16)
        gas_per_tx = ETH_GAS if kind == "eth" else ERC20_GAS
        blocks = math.ceil(seconds / BLOCK_PERIOD) + 2
        per_sender = max(1, min(window * blocks, max_presign // senders_count))
        senders = [Signer.fresh() for _ in range(senders_count)]

        started = time.perf_counter()
        token = await setup(client, watch, chain_id, kind, senders, per_sender, gas_per_tx, connections, workdir)
        setup_s = time.perf_counter() - started

        started = time.perf_counter()
        nonces = [await _pending_nonce(client, s.address) for s in senders]
        lanes_txs = presign(chain_id, kind, senders, nonces, per_sender, token)
        presign_s = time.perf_counter() - started

        pump = Pump(client, [Lane(txs) for txs in lanes_txs], window)
        watcher = Watcher(watch, await _head_number(client), pump.on_block).start()
        await asyncio.sleep(WATCH_INTERVAL * 2)
        cpu0, client0, busy0 = proc.cpu_seconds(), _own_cpu(), _machine_busy_cpu()
        t0, t0_wall = time.perf_counter(), time.time()
        t1 = t0 + seconds

        async def at_window_end() -> tuple[float | None, float, float | None, int]:
            await asyncio.sleep(max(0.0, t1 - time.perf_counter()))
            exhausted = sum(1 for lane in pump.lanes if not lane.has_work() and not lane.dead)
            return proc.cpu_seconds(), _own_cpu(), _machine_busy_cpu(), exhausted

        # Sampled at t1 sharp: a request sent just before t1 may be answered much later (the node can be
        # busy sealing a block), and the workers only return once it is.
        window_end = asyncio.create_task(at_window_end())
        await pump.run(connections, deadline=t1)
        cpu1, client1, busy1, exhausted = await window_end
        drain_started = time.perf_counter()
        await pump.wait_included(timeout=drain_timeout, stall=min(30.0, drain_timeout))
        drain_s = time.perf_counter() - drain_started
        await asyncio.sleep(WATCH_INTERVAL * 2)
        await watcher.stop()
        receipts = await _sample_receipts(client, list(pump.included))

    measurement = Measurement(
        t0=t0, t1=t1, t0_wall=t0_wall, pump=pump, watcher_blocks=watcher.blocks, watcher_errors=dict(watcher.errors),
        node_cpu=None if cpu0 is None or cpu1 is None else cpu1 - cpu0, client_cpu=client1 - client0,
        drain_s=drain_s, exhausted_senders=exhausted, receipts=receipts,
        other_cpu=None if None in (busy0, busy1, cpu0, cpu1) else busy1 - busy0 - (cpu1 - cpu0) - (client1 - client0),
    )
    result = {
        "chain_id": chain_id,
        "block_gas_limit": gas_limit,
        "gas_limit_per_tx": gas_per_tx,
        "window_per_sender": window,
        "presigned": per_sender * senders_count,
        "presigned_per_sender": per_sender,
        "setup_s": round(setup_s, 2),
        "presign_s": round(presign_s, 2),
        "token": None if token is None else "0x" + token.hex(),
        **figures(measurement),
    }
    result["_private"] = {"lanes": lanes_txs, "measurement": measurement}
    return result


async def _sample_receipts(client: Client, hashes: list[str], count: int = 20) -> dict[str, Any]:
    sample = random.sample(hashes, min(count, len(hashes)))
    ok, failed, errors = 0, 0, []
    for tx_hash in sample:
        try:
            receipt = await client.call("eth_getTransactionReceipt", tx_hash)
        except (RpcError, aiohttp.ClientError, TimeoutError) as exc:
            errors.append(_brief(exc))
            continue
        if receipt is not None and int(receipt["status"], 16) == 1:
            ok += 1
        else:
            failed += 1
    return {"sampled": len(sample), "status_ok": ok, "failed_or_missing": failed, "errors": errors[:3]}


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _machine_busy_cpu() -> float | None:
    """CPU seconds all processes on the machine have used (Linux /proc/stat), None if unavailable."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def run_case(target: str, kind: str, seconds: float, senders: int, window: int, connections: int, max_presign: int, drain_timeout: float, workdir: Path) -> dict[str, Any]:
    """Start a fresh `target`, measure one kind on it, stop it; Linen also gets its time breakdown."""
    case_dir = workdir / f"{target}-{kind}"
    case_dir.mkdir(parents=True)
    proc = STARTERS[target](case_dir)
    proc.start()
    try:
        result = asyncio.run(
            _measure_case(proc, kind, seconds, senders, window, connections, max_presign, drain_timeout, workdir)
        )
    except BaseException as exc:
        if isinstance(exc, Exception):
            exc.add_note(f"{target} log tail:\n{proc.log_tail()}")
        raise
    finally:
        proc.stop()
    private = result.pop("_private")
    if target.startswith("linen"):
        measurement: Measurement = private["measurement"]
        ours = measurement.pump.lane_of
        decode = decode_cost((tx for lane in private["lanes"] for tx in lane), result["chain_id"])
        result["profile"] = profile_linen(
            proc.log_path.read_text(errors="replace"), measurement.watcher_blocks, ours,
            (measurement.t0_wall, measurement.t0_wall + measurement.t1 - measurement.t0), decode, measurement.node_cpu, result["submitted"],
            result["included_in_window"],
        )
    result["log"] = str(proc.log_path)
    return result


# -- machine info, table, JSON --------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """The common machine record plus the versions that matter to this benchmark (anvil's among them)."""
    info = common_machine_info(("linen", "py-evm", "aiohttp", "coincurve"))
    with contextlib.suppress(OSError, FileNotFoundError, subprocess.SubprocessError):
        output = subprocess.run([str(tool_path("anvil")), "--version"], capture_output=True, text=True, timeout=10)
        info["anvil_version"] = output.stdout.splitlines()[0] if output.stdout else None
    return info


def summarise(detail: dict[str, dict[str, dict[str, Any]]], kinds: Sequence[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for kind in kinds:
        row: dict[str, Any] = {}
        for target, per_kind in detail.items():
            case = per_kind.get(kind)
            if case is None:
                continue
            if "error" in case:
                row[target] = {"error": case["error"]}
                continue
            row[target] = {
                "inclusion_rate_tps": case["inclusion_rate_tps"],
                "p50_latency_ms": case["latency_ms"]["p50"],
                "p99_latency_ms": case["latency_ms"]["p99"],
                "submitted": case["submitted"],
                "included": case["included"],
                "not_included": case["not_included"],
                "errors": case["errors"],
                "other_processes_cpu_share": case["other_processes_cpu_share_in_window"],
            }
            if "profile" in case:
                row[target]["time_per_tx_us"] = case["profile"]["per_tx_us"]
        linen, anvil = row.get("linen", {}), row.get("anvil", {})
        if linen.get("inclusion_rate_tps") is not None and anvil.get("inclusion_rate_tps"):
            row["ratio_linen_over_anvil"] = round(linen["inclusion_rate_tps"] / anvil["inclusion_rate_tps"], 3)
        else:
            row["ratio_linen_over_anvil"] = None
        untraced = row.get("linen-untraced", {})
        if linen.get("inclusion_rate_tps") is not None and untraced.get("inclusion_rate_tps"):
            row["tracing_rate_cost"] = round(1 - linen["inclusion_rate_tps"] / untraced["inclusion_rate_tps"], 3)
            traced_us, plain_us = linen.get("time_per_tx_us", {}), untraced.get("time_per_tx_us", {})
            if traced_us.get("exec") is not None and plain_us.get("exec") is not None:
                row["tracing_exec_us_per_tx"] = round(traced_us["exec"] - plain_us["exec"], 1)
        summary[kind] = row
    return summary


def _fmt(value: Any, width: int) -> str:
    text = "-" if value is None else (f"{value:,.1f}" if isinstance(value, float) else str(value))
    return text.rjust(width)


def _positive(value: float | None) -> float | str | None:
    # The log's timings are wall-clock: on a busy machine they can exceed the node's CPU time.
    return "n/a" if value is not None and value < 0 else value


def _pct(share: float | None) -> str | None:
    return None if share is None else f"{share:.0%}"


def format_table(result: dict[str, Any]) -> str:
    config = result["config"]
    lines = [
        f"throughput: {config['seconds']:g} s measured per case, {config['senders']} senders, "
        f"{config['window']} unconfirmed txs per sender, {config['connections']} connections, "
        f"block period {BLOCK_PERIOD:g} s",
        "",
    ]
    header = ("target", "kind", "submitted", "included", "in window", "rate tx/s", "blk-int tx/s", "p50 ms", "p99 ms", "errors", "missing")
    widths = (16, 6, 10, 9, 10, 10, 13, 9, 9, 7, 8)
    lines.append("".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    for target, per_kind in result["targets"].items():
        for kind, case in per_kind.items():
            if "error" in case:
                lines.append(f"{target.ljust(16)}{kind.ljust(6)}  FAILED: {case['error'][:150]}")
                continue
            values = (
                case["submitted"], case["included"], case["included_in_window"], case["inclusion_rate_tps"],
                case["block_interval_rate_tps"], case["latency_ms"]["p50"], case["latency_ms"]["p99"],
                case["errors"], case["not_included"],
            )
            lines.append(target.ljust(16) + kind.ljust(6) + "".join(_fmt(v, w) for v, w in zip(values, widths[2:], strict=True)))
    lines.append("")
    for kind, row in result["summary"].items():
        ratio = row.get("ratio_linen_over_anvil")
        if ratio is not None:
            lines.append(f"ratio linen/anvil inclusion rate ({kind}): {ratio:.3f}")
        cost = row.get("tracing_rate_cost")
        if cost is not None:
            lines.append(
                f"tracing cost ({kind}): {cost:.1%} of the untraced inclusion rate, "
                f"{row.get('tracing_exec_us_per_tx', '-')} us more producer exec time per tx"
            )
    profiled = {
        f"{target.replace('linen-untraced', 'untraced')}/{kind}": case
        for target, per_kind in result["targets"].items()
        if target.startswith("linen")
        for kind, case in per_kind.items()
        if case.get("profile")
    }
    if profiled:
        lines += ["", "linen: where the time goes (us per tx unless marked)".ljust(52) + "".join(k.rjust(16) for k in profiled)]
        rows = (
            ("exec: pool selection + EVM (log)", lambda c: c["profile"]["per_tx_us"]["exec"]),
            ("roots: state/tx/receipt tries (log)", lambda c: c["profile"]["per_tx_us"]["roots"]),
            ("commit: write block (log)", lambda c: c["profile"]["per_tx_us"]["commit"]),
            ("producer total (log)", lambda c: c["profile"]["per_tx_us"]["producer_total"]),
            ("decode+recover (in-process)", lambda c: c["profile"]["per_tx_us"]["decode_recover"]),
            ("node CPU outside producer / submitted tx", lambda c: _positive(c["profile"]["node_cpu_outside_producer_per_submitted_tx_us"])),
            ("node CPU / tx included in window", lambda c: c["profile"]["node_cpu_per_included_tx_us"]),
            ("producer busy, % of window", lambda c: _pct(c["profile"]["producer_busy_share_in_window"])),
            ("node CPU, % of one core", lambda c: _pct(c["node_cpu_share_in_window"])),
        )
        for label, get in rows:
            lines.append(f"  {label}".ljust(52) + "".join(_fmt(get(c), 16) for c in profiled.values()))
    lines.append("")
    for target, per_kind in result["targets"].items():
        for kind, case in per_kind.items():
            if "error" in case:
                continue
            notes = []
            if case["error_samples"]:
                notes.append(f"errors: {case['error_samples']}")
            if case["not_included"]:
                notes.append(f"{case['not_included']} accepted txs never included, e.g. {case['not_included_sample'][:2]}")
            if case["foreign_included"]:
                notes.append(f"{case['foreign_included']} included txs we did not send")
            if case["exhausted_senders"]:
                notes.append(f"{case['exhausted_senders']} senders ran out of pre-signed txs: the rate is a lower bound")
            other = case.get("other_processes_cpu_share_in_window")
            if other is not None and other >= 0.2:
                notes.append(f"other processes used {other:.0%} of a core during the window: figures are disturbed")
            if case["client_cpu_share_in_window"] >= 0.9:
                notes.append(f"client CPU at {case['client_cpu_share_in_window']:.0%}: the client may be the bottleneck")
            for note in notes:
                lines.append(f"{target} {kind}: {note}")
    return "\n".join(lines)


def run(
    seconds: float = 20.0,
    senders: int = 200,
    out: Path = DEFAULT_OUT,
    targets: Sequence[str] = TARGETS,
    kinds: Sequence[str] = KINDS,
    *,
    connections: int = DEFAULT_CONNECTIONS,
    window: int | None = None,
    max_presign: int = DEFAULT_MAX_PRESIGN,
    drain_timeout: float | None = None,
    keep_workdir: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmark for every target and kind; print a table, write JSON to `out`, return it."""
    unknown = [t for t in targets if t not in STARTERS] + [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown targets/kinds: {unknown} (targets: {TARGETS}, kinds: {KINDS})")
    if senders < 1 or seconds <= 0:
        raise ValueError("senders must be >= 1 and seconds > 0")
    # The pool holds 10,000 txs and 64 per sender: stay under both whatever the sender count.
    window = window or max(1, min(DEFAULT_WINDOW, int(POOL_SIZE * 0.9) // senders))
    window = min(window, POOL_PER_SENDER)
    drain_timeout = drain_timeout if drain_timeout is not None else max(60.0, 3 * seconds)
    out = Path(out)
    workdir = Path(tempfile.mkdtemp(prefix="linen-bench-"))
    started = datetime.datetime.now(datetime.UTC)
    machine = machine_info()  # before the run, so load_average tells what else was running
    detail: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        for target in targets:
            detail[target] = {}
            for kind in kinds:
                echo(f"[bench] {target} / {kind}: set-up, pre-signing, then {seconds:g} s measured ...")
                try:
                    case = run_case(target, kind, seconds, senders, window, connections, max_presign, drain_timeout, workdir)
                except Exception as exc:  # record the failure and go on with the other cases
                    notes = "\n".join(getattr(exc, "__notes__", []))
                    case = {"error": f"{type(exc).__name__}: {exc}", "log_tail": notes[-3000:]}
                    echo(f"[bench] {target} / {kind} FAILED: {case['error']}\n{notes}")
                else:
                    echo(
                        f"[bench] {target} / {kind}: {case['inclusion_rate_tps']} tx/s included, "
                        f"p50 {case['latency_ms']['p50']} ms, p99 {case['latency_ms']['p99']} ms"
                    )
                detail[target][kind] = case
    finally:
        if not keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    for per_kind in detail.values():
        for case in per_kind.values():
            if not keep_workdir:
                case.pop("log", None)
    result = {
        "benchmark": "throughput",
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1),
        "config": {
            "seconds": seconds,
            "senders": senders,
            "window": window,
            "connections": connections,
            "block_period_s": BLOCK_PERIOD,
            "max_fee_per_gas": MAX_FEE,
            "max_priority_fee_per_gas": TIP,
            "targets": list(targets),
            "kinds": list(kinds),
            "workdir": str(workdir) if keep_workdir else None,
        },
        "machine": machine,
        "summary": summarise(detail, kinds),
        "targets": detail,
    }
    return publish(out, result, format_table, echo)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Sustained inclusion rate and latency, Linen vs anvil.")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured phase per case")
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: linen,linen-untraced,anvil")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: eth,erc20")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--window", type=int, default=None, help="unconfirmed txs per sender (default 48)")
    parser.add_argument("--max-presign", type=int, default=DEFAULT_MAX_PRESIGN)
    parser.add_argument("--keep-workdir", action="store_true", help="keep the temp dir (node logs, data)")
    args = parser.parse_args(argv)
    return run(
        seconds=args.seconds,
        senders=args.senders,
        out=args.out,
        targets=tuple(t for t in args.targets.split(",") if t),
        kinds=tuple(k for k in args.kinds.split(",") if k),
        connections=args.connections,
        window=args.window,
        max_presign=args.max_presign,
        keep_workdir=args.keep_workdir,
    )


if __name__ == "__main__":
    main()
