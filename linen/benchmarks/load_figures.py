"""What a measured phase gives: rates, latency percentiles, where Linen's time goes, and the table."""

from __future__ import annotations

import datetime
import math
import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from linen.benchmarks.load_pump import Pump, SeenBlock
from linen.benchmarks.load_signing import SignedTx
from linen.benchmarks.load_targets import BLOCK_PERIOD

DECODE_SAMPLE = 2000  # txs decoded in-process for the decode+recover figure
SEALED_RE = re.compile(
    r"^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) )?.*?"
    r"sealed block (\d+) with (\d+) txs, gas (\d+) \(exec (\d+) ms, roots (\d+) ms, commit (\d+) ms\)",
    re.MULTILINE,
)


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
