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
import contextlib
import datetime
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from linen.benchmarks.load_client import Client, RpcError
from linen.benchmarks.load_figures import (
    Measurement,
    _round,
    decode_cost,
    figures,
    format_table,
    parse_sealed_lines,
    producer_seconds_within,
    summarise,
)
from linen.benchmarks.load_pump import (
    DEFAULT_WINDOW,
    WATCH_INTERVAL,
    Lane,
    Pump,
    SeenBlock,
    Watcher,
    _brief,
    _head_number,
    _pending_nonce,
    _send_all,
)
from linen.benchmarks.load_signing import (
    BALANCE_OF_SELECTOR,
    ERC20_GAS,
    ETH_GAS,
    MAX_FEE,
    TIP,
    TOKEN,
    SignedTx,
    Signer,
    contract_address,
    erc20_transfer_data,
    presign,
    signed_tx,
)
from linen.benchmarks.load_targets import (
    BLOCK_PERIOD,
    POOL_PER_SENDER,
    POOL_SIZE,
    ROOT,
    TargetProcess,
    anvil_process,
    linen_process,
)
from linen.benchmarks.machine import machine_info as common_machine_info
from linen.benchmarks.machine import publish
from linen.devaccounts import dev_accounts
from linen.tools import tool_path

TOKEN_SOURCE = ROOT / "tests" / "contracts" / "TestToken.sol"
COMPILE_JS = ROOT / "tools" / "compile.js"
DEFAULT_OUT = Path("bench/results/throughput.json")
TARGETS = ("linen", "linen-untraced", "anvil")
KINDS = ("eth", "erc20")
DEFAULT_CONNECTIONS = 32  # anvil keeps scaling up to ~32-64 on 2 cores; Linen is CPU-bound either way
DEFAULT_MAX_PRESIGN = 150_000  # txs pre-signed per (target, kind) at most (~40 us each to sign)


STARTERS: dict[str, Callable[[Path], TargetProcess]] = {
    "linen": linen_process,
    "linen-untraced": lambda workdir: linen_process(workdir, traced=False),
    "anvil": anvil_process,
}


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
