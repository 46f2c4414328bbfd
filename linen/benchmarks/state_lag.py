"""State-manager lag benchmark: does the zk state keep up with the node at its benchmark rate?

Issue 4's target: with `poseidon2-bn254`, the state manager stays within 2 blocks of the node's head
while the node sustains its throughput-benchmark load. This runs the throughput benchmark's load
(`linen.benchmarks.throughput`: pre-signed transfers from fresh senders over 32 connections, 1 s
blocks, the raised trace limits) against three set-ups, one after the other in the same run:

- `no-state-manager`: the node alone, the rate to compare against;
- `apart`: the node pushing trielogs (`[state] push-url`) to a `linen state-manager` process, which
  has its own core, as Linea runs Shomei;
- `in-node`: the state manager inside the node process (the devnet's wiring), sharing its GIL.

While the load runs a sampler polls the node's `eth_blockNumber` and the state manager's
`rollup_getZkEVMBlockNumber` every 100 ms. Figures: the node's inclusion rate, the lag in blocks
(head minus imported, per sample: p50, p99, max, share of samples within 2), the delay from a block
first seen at the node to first seen imported (p50, p99, max), the time to catch up once the load
stops, and each process's CPU use. Results print as a table and go to JSON atomically.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linen.benchmarks.load_client import Client, RpcError
from linen.benchmarks.load_figures import percentile
from linen.benchmarks.load_targets import POOL_PER_SENDER, POOL_SIZE, TargetProcess, linen_process
from linen.benchmarks.machine import machine_info, publish
from linen.benchmarks.throughput import DEFAULT_CONNECTIONS, _measure_case
from linen.ports import free_port

DEFAULT_OUT = Path("bench/results/state_lag.json")
SETUPS = ("no-state-manager", "apart", "in-node")
KINDS = ("eth", "erc20")
SAMPLE_INTERVAL = 0.1  # seconds between lag samples
TARGET_LAG_BLOCKS = 2
CATCH_UP_TIMEOUT = 300.0  # seconds the state manager gets to reach the head after the load stops


def state_manager_process(workdir: Path, node_url: str, port: int, auth_port: int) -> TargetProcess:
    """`linen state-manager` as its own process, following `node_url` (ready once it answers its head); the
    node pushes to its authenticated endpoint on `auth_port`, signed with the node's JWT secret."""
    args = [
        sys.executable, "-m", "linen.cli", "state-manager",
        "--node-rpc", node_url, "--data-dir", str(workdir / "sm"), "--rpc-port", str(port),
        "--hasher", "poseidon2-bn254", "--auth-port", str(auth_port), "--jwt-secret", str(workdir / "data" / "jwt.hex"),
    ]
    return TargetProcess("state manager", args, workdir / "state-manager.log", port, workdir,
                         ready_method="rollup_getZkEVMBlockNumber")


@dataclass
class LagSampler:
    """Polls the node's head and the state manager's imported block; notes when each block first shows."""

    node_url: str
    state_url: str
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (perf_counter, head, imported)
    seen_at_node: dict[int, float] = field(default_factory=dict)
    seen_imported: dict[int, float] = field(default_factory=dict)
    errors: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        async with Client(self.node_url, 1) as node, Client(self.state_url, 1) as state:
            while not stop.is_set():
                try:
                    head = int(await node.call("eth_blockNumber"), 16)
                    imported = int(await state.call("rollup_getZkEVMBlockNumber"), 16)
                except (RpcError, OSError, TimeoutError, ValueError):
                    self.errors += 1
                else:
                    now = time.perf_counter()
                    self.samples.append((now, head, imported))
                    _note_first(self.seen_at_node, head, now)
                    _note_first(self.seen_imported, imported, now)
                try:
                    await asyncio.wait_for(stop.wait(), SAMPLE_INTERVAL)
                except TimeoutError:
                    pass

    def figures(self, t0: float, t1: float) -> dict[str, Any]:
        """Lag over the measured window [t0, t1]; block delays for blocks first seen in it."""
        lags = sorted(head - imported for t, head, imported in self.samples if t0 <= t <= t1)
        delays = sorted(
            self.seen_imported[n] - seen
            for n, seen in self.seen_at_node.items()
            if t0 <= seen <= t1 and n in self.seen_imported
        )
        within = sum(1 for lag in lags if lag <= TARGET_LAG_BLOCKS)
        return {
            "samples": len(lags),
            "lag_blocks": {
                "p50": percentile(lags, 50),
                "p99": percentile(lags, 99),
                "max": lags[-1] if lags else None,
                "share_within_target": round(within / len(lags), 4) if lags else None,
            },
            "block_delay_s": {
                "blocks": len(delays),
                "p50": _round(percentile(delays, 50)),
                "p99": _round(percentile(delays, 99)),
                "max": _round(delays[-1] if delays else None),
            },
            "sampler_errors": self.errors,
        }


def _note_first(seen: dict[int, float], number: int, now: float) -> None:
    """Every block up to `number` is seen by `now` (a poll can skip numbers; they were passed earlier)."""
    low = max(seen, default=-1) + 1
    for n in range(low, number + 1):
        seen[n] = now


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def start_setup(setup: str, case_dir: Path) -> tuple[TargetProcess, TargetProcess | None, str | None]:
    """(node, separate state manager or None, URL serving rollup_getZkEVMBlockNumber or None)."""
    if setup == "no-state-manager":
        return linen_process(case_dir).start(), None, None
    if setup == "in-node":
        node = linen_process(case_dir, state_config='enabled = true\nhasher = "poseidon2-bn254"\n').start()
        return node, None, node.url
    if setup == "apart":
        sm_port, sm_auth_port = free_port(), free_port()
        node = linen_process(case_dir, state_config=f'enabled = false\npush-url = "http://127.0.0.1:{sm_auth_port}"\n')
        node.start()
        try:
            manager = state_manager_process(case_dir, node.url, sm_port, sm_auth_port).start()
        except BaseException:
            node.stop()
            raise
        return node, manager, manager.url
    raise ValueError(f"unknown set-up {setup!r}; known: {SETUPS}")


async def _measure(
    node: TargetProcess, manager: TargetProcess | None, state_url: str | None, kind: str,
    seconds: float, senders: int, window: int, connections: int, workdir: Path,
) -> dict[str, Any]:
    sampler = LagSampler(node.url, state_url) if state_url else None
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop)) if sampler else None
    sm_cpu0 = manager.cpu_seconds() if manager else None
    result = await _measure_case(node, kind, seconds, senders, window, connections, 10**9, max(60.0, 3 * seconds), workdir)
    measurement = result.pop("_private")["measurement"]
    sm_cpu1 = manager.cpu_seconds() if manager else None
    out: dict[str, Any] = {
        "inclusion_rate_tps": result["inclusion_rate_tps"],
        "included_in_window": result["included_in_window"],
        "submitted": result["submitted"],
        "latency_ms": result["latency_ms"],
        "not_included": result["not_included"],
        "blocks_in_window": result["blocks_in_window"],
        "txs_per_block_mean": result["txs_per_block"]["mean"],
        "node_cpu_share": result["node_cpu_share_in_window"],
        "other_processes_cpu_share": result["other_processes_cpu_share_in_window"],
    }
    if sampler is None or sampling is None:
        return out
    catch_up = await _wait_caught_up(node.url, state_url)  # type: ignore[arg-type]
    stop.set()
    await sampling
    out.update(sampler.figures(measurement.t0, measurement.t1))
    out["catch_up_after_load_s"] = catch_up
    window_s = measurement.t1 - measurement.t0
    if sm_cpu0 is not None and sm_cpu1 is not None:
        out["state_manager_cpu_share"] = round((sm_cpu1 - sm_cpu0) / max(window_s, 1e-9), 3)
    return out


async def _wait_caught_up(node_url: str, state_url: str) -> float | None:
    """Seconds until the state manager has imported the node's head as of now; None on time-out."""
    started = time.perf_counter()
    async with Client(node_url, 1) as node, Client(state_url, 1) as state:
        head = int(await node.call("eth_blockNumber"), 16)
        while time.perf_counter() - started < CATCH_UP_TIMEOUT:
            if int(await state.call("rollup_getZkEVMBlockNumber"), 16) >= head:
                return round(time.perf_counter() - started, 2)
            await asyncio.sleep(SAMPLE_INTERVAL)
    return None


def run_case(setup: str, kind: str, seconds: float, senders: int, window: int, connections: int, workdir: Path) -> dict[str, Any]:
    case_dir = workdir / f"{setup}-{kind}"
    case_dir.mkdir(parents=True)
    node, manager, state_url = start_setup(setup, case_dir)
    try:
        return asyncio.run(_measure(node, manager, state_url, kind, seconds, senders, window, connections, workdir))
    except BaseException as exc:
        if isinstance(exc, Exception):
            exc.add_note(f"node log tail:\n{node.log_tail()}")
            if manager is not None:
                exc.add_note(f"state manager log tail:\n{manager.log_tail()}")
        raise
    finally:
        if manager is not None:
            manager.stop()
        node.stop()


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"State-manager lag, {result['date']} (poseidon2-bn254, 1 s blocks, {result['config']['seconds']:g} s per case)",
        f"{'set-up / kind':<24}{'tx/s':>8}{'lag p50':>9}{'lag p99':>9}{'lag max':>9}{'≤2 share':>10}"
        f"{'delay p50':>11}{'delay p99':>11}{'catch-up':>10}{'SM cpu':>8}",
    ]
    for setup, per_kind in result["setups"].items():
        for kind, case in per_kind.items():
            if "error" in case:
                lines.append(f"{setup + ' / ' + kind:<24}FAILED: {case['error']}")
                continue
            lag = case.get("lag_blocks", {})
            delay = case.get("block_delay_s", {})
            cells = [
                case["inclusion_rate_tps"], lag.get("p50"), lag.get("p99"), lag.get("max"),
                lag.get("share_within_target"), delay.get("p50"), delay.get("p99"),
                case.get("catch_up_after_load_s"), case.get("state_manager_cpu_share"),
            ]
            widths = (8, 9, 9, 9, 10, 11, 11, 10, 8)
            lines.append(f"{setup + ' / ' + kind:<24}" + "".join(f"{'-' if v is None else v!s:>{w}}" for v, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def run(
    seconds: float = 20.0,
    senders: int = 200,
    out: Path = DEFAULT_OUT,
    setups: Sequence[str] = SETUPS,
    kinds: Sequence[str] = KINDS,
    connections: int = DEFAULT_CONNECTIONS,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure every set-up and kind in one run; print a table, write JSON to `out`, return it."""
    unknown = [s for s in setups if s not in SETUPS] + [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown set-ups/kinds: {unknown} (set-ups: {SETUPS}, kinds: {KINDS})")
    window = max(1, min(48, int(POOL_SIZE * 0.9) // senders, POOL_PER_SENDER))
    workdir = Path(tempfile.mkdtemp(prefix="linen-state-lag-"))
    started = datetime.datetime.now(datetime.UTC)
    machine = machine_info()
    detail: dict[str, dict[str, Any]] = {}
    try:
        for setup in setups:
            detail[setup] = {}
            for kind in kinds:
                echo(f"[bench] {setup} / {kind}: {seconds:g} s under load ...")
                try:
                    case = run_case(setup, kind, seconds, senders, window, connections, workdir)
                except Exception as exc:
                    case = {"error": f"{type(exc).__name__}: {exc}", "log_tail": "\n".join(getattr(exc, "__notes__", []))[-3000:]}
                echo(f"[bench] {setup} / {kind}: {case}")
                detail[setup][kind] = case
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "benchmark": "state_lag",
        "date": started.isoformat(timespec="seconds"),
        "config": {"seconds": seconds, "senders": senders, "connections": connections, "window": window,
                   "target_lag_blocks": TARGET_LAG_BLOCKS, "hasher": "poseidon2-bn254"},
        "machine": machine,
        "setups": detail,
    }
    return publish(out, result, format_table, echo)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="State-manager lag behind the node under throughput load.")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    args = parser.parse_args(argv)
    return run(args.seconds, args.senders, args.out, tuple(s for s in args.setups.split(",") if s),
               tuple(k for k in args.kinds.split(",") if k), args.connections)


if __name__ == "__main__":
    main()
