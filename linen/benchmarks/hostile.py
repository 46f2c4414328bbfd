"""`linen bench hostile`: an attack benchmark against a standalone `linen node`, bounded in time.

One fresh node (temp data dir, a free port, 1 s blocks with empty blocks on, so the head moves every
second) takes, within `--budget` seconds, three phases:

1. **fuzz**: every RPC method of the node's registry gets hypothesis-generated hostile params
   (`linen.benchmarks.hostile_fuzz`), the WebSocket methods too, then hostile envelopes (batches of
   1000, non-JSON, 5 MB bodies, invalid ids, ...). The methods that run the EVM go last.
2. **bad_txs**: the named bad transactions of `linen.benchmarks.hostile_txs.CASES`, each sent with
   eth_sendRawTransaction, then an honest transfer that must be included within a few blocks.
3. **kill9**: honest transfers from five dev accounts while the node is kill -9'd at random
   points and restarted on the same data dir; afterwards every receipt seen before must still be
   there in the same block, each sender's nonce must equal its included count, and the balances of
   senders and recipients must add up.

Every answer is classified: `handled` (a result, or a client error: -32700, -32600, -32601, -32602,
-32000..-32099, 3), `internal_error` (-32603: a defect, recorded with method and params),
`other_error` (an error code outside those), `no_answer`, `malformed_answer`, `timeout` (no answer
within `REQUEST_TIMEOUT`), `connection_error`, `crash` (the process exited). A watchdog asks
eth_blockNumber every 100 ms (1 s timeout) throughout and records the longest time it went
unanswered and the longest time the head did not move; the node's RSS is sampled from /proc.

The run always ends: a hard deadline (budget + `MARGIN`) kills the node and stops every loop. The
result goes to `bench/results/hostile.json` (bench/README.md describes the figures).

This module runs the phases and reports; the rest lives in `hostile_rpc` (transport, outcomes),
`hostile_node` (the node, the watchdog), `hostile_session` (deadlines, tally, `Bench.send`), the phases
`hostile_fuzz_phase`, `hostile_bad_txs_phase`, `hostile_kill9_phase`, the attacks
`hostile_connection_attacks` and `hostile_auth_attacks`, and the generators `hostile_fuzz`, `hostile_txs`.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from linen.benchmarks.hostile_bad_txs_phase import phase_bad_txs
from linen.benchmarks.hostile_fuzz_phase import FUZZ_SPLIT, phase_fuzz
from linen.benchmarks.hostile_kill9_phase import phase_kill9
from linen.benchmarks.hostile_node import BLOCK_PERIOD, WATCH_INTERVAL, WATCH_TIMEOUT, Node, Watchdog
from linen.benchmarks.hostile_rpc import (
    CONNECTION,
    HANDLED,
    INTERNAL,
    MALFORMED,
    NO_ANSWER,
    OTHER,
    REQUEST_TIMEOUT,
    TIMEOUT,
)
from linen.benchmarks.hostile_session import Aborted, Bench
from linen.benchmarks.machine import machine_info, publish

DEFAULT_OUT = Path("bench/results/hostile.json")
DEFAULT_BUDGET = 120.0
DEFAULT_KILLS = 5
DEFAULT_SEED = 1
MARGIN = 30.0  # seconds past the budget after which everything is killed
SHARES = {"fuzz": 0.42, "bad_txs": 0.18, "kill9": 0.4}  # of the budget left once the node is up
MIN_PHASE_S = 8.0  # even a phase that others left no time gets this much


LOG_PROBLEM_RE = re.compile(r"(ERROR|CRITICAL|Traceback|internal error)")


def _log_problems(path: Path, limit: int = 30) -> dict[str, Any]:
    """The node log's ERROR lines and tracebacks: defects a well-formed answer may hide."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    hits = [line[:300] for line in lines if LOG_PROBLEM_RE.search(line)]
    return {"count": len(hits), "tracebacks": sum(1 for line in lines if line.startswith("Traceback")),
            "first": hits[:limit]}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of bench/README.md, from the phases and the watchdog."""
    phases = result["phases"]
    totals: collections.Counter = collections.Counter()
    internal_examples: list[dict] = []
    timeout_examples: list[dict] = []
    for name in ("fuzz", "bad_txs"):
        phase = phases.get(name) or {}
        totals.update(phase.get("outcomes", {}))
        internal_examples += [dict(e, phase=name) for e in phase.get("examples", {}).get(INTERNAL, [])]
        timeout_examples += [dict(e, phase=name) for e in phase.get("examples", {}).get(TIMEOUT, [])]
    kill = phases.get("kill9") or {}
    bad = phases.get("bad_txs") or {}
    watch = result["watchdog"]
    crashes = len(result["crashes"])  # each crash once (a request that found the node dead counts as `crash` too)
    return {
        "cases_tried": sum(totals.values()),
        "handled": totals[HANDLED],
        "internal_errors": totals[INTERNAL],
        "other_errors": totals[OTHER],
        "timeouts": totals[TIMEOUT],
        "no_answer": totals[NO_ANSWER],
        "malformed_answers": totals[MALFORMED],
        "connection_errors": totals[CONNECTION],
        "crashes": crashes,
        "forced_restarts": len(result["forced_restarts"]),
        "longest_unanswered_s": watch["longest_unanswered_s"],
        "longest_head_stall_s": watch["longest_head_stall_s"],
        "watchdog_answers": watch["answers"],
        "peak_rss_mb": watch["peak_rss_mb"],
        "bad_txs_unexpected": len(bad.get("unexpected", [])),
        "honest_tx_included_after_bad_txs": (bad.get("honest_transfer") or {}).get("included"),
        "kills": kill.get("kills_done", 0),
        "lost_receipts": kill.get("lost_receipts"),
        "balances_add_up": kill.get("balances_add_up"),
        "nonces_match_included": kill.get("nonces_match_included"),
        "state_manager_caught_up": (kill.get("state_manager") or {}).get("caught_up"),
        "internal_error_examples": internal_examples[:20],
        "timeout_examples": timeout_examples[:20],
    }


def _run_phases(bench: Bench, budget: float, t0: float, seed: int, kills: int,
                rng: random.Random) -> dict[str, Any]:
    """Each phase its share of the budget left, so one that overran takes from the ones after it."""
    phases: dict[str, Any] = {}
    runs: dict[str, Callable[[float], dict[str, Any]]] = {
        "fuzz": lambda s: phase_fuzz(bench, s, seed),
        "bad_txs": lambda s: phase_bad_txs(bench, s),
        "kill9": lambda s: phase_kill9(bench, s, kills, rng),
    }
    order = list(runs)
    for name, fn in runs.items():
        if bench.abort.is_set():
            phases[name] = {"skipped": "hard deadline passed"}
            continue
        left = budget - (time.monotonic() - t0)
        rest = order[order.index(name):]
        seconds = max(MIN_PHASE_S, left * SHARES[name] / sum(SHARES[n] for n in rest))
        bench.echo(f"phase {name}: {seconds:.0f}s")
        bench.watchdog.phase = name
        try:
            if name != "fuzz":
                bench.ensure_healthy(name)
            phase_begin = time.monotonic()
            phases[name] = fn(seconds)
            phases[name]["phase_s"] = round(time.monotonic() - phase_begin, 1)
        except Aborted:
            phases[name] = {"aborted": "hard deadline passed or the node could not be restarted"}
        except Exception as exc:  # noqa: BLE001 - a phase that fails is reported, the others still run
            phases[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return phases


def run(budget: float = DEFAULT_BUDGET, seed: int = DEFAULT_SEED, kills: int = DEFAULT_KILLS,
        out: Path | str = DEFAULT_OUT, keep_workdir: bool = False,
        echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the three phases within `budget` seconds (hard stop at budget + MARGIN); write and return the JSON."""
    t0 = time.monotonic()
    started = datetime.datetime.now(datetime.UTC)
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="linen-hostile-"))
    abort = threading.Event()
    node = Node(workdir, abort)
    watchdog = Watchdog(node, t0)
    hard_deadline = t0 + budget + MARGIN
    bench = Bench(node, watchdog, abort, hard_deadline, echo)

    def hard_stop() -> None:
        abort.set()
        node.kill9()

    timer = threading.Timer(budget + MARGIN, hard_stop)
    timer.daemon = True
    timer.start()
    phases: dict[str, Any] = {}
    error = None
    try:
        echo(f"starting linen node in {workdir} (port {node.port})")
        startup = node.start(timeout=min(60.0, budget))
        watchdog.start()
        phases = _run_phases(bench, budget, t0, seed, kills, rng)
    except (RuntimeError, TimeoutError) as exc:
        error = str(exc)[:2000]
    finally:
        timer.cancel()
        watchdog.stopping.set()
        exit_code = node.stop()
        watchdog.join(3)
    result: dict[str, Any] = {
        "summary": {},
        "phases": phases,
        "watchdog": watchdog.report(),
        "crashes": bench.crashes,
        "forced_restarts": bench.forced_restarts,
        "stalls": bench.stalls[:30],
        "node_log_problems": _log_problems(node.log_path),
        "node": {"args": node.args[2:], "starts": node.starts, "exit_code_at_stop": exit_code,
                 "startup_s": round(startup, 2) if error is None else None},
        "config": {"budget_s": budget, "seed": seed, "kills": kills, "request_timeout_s": REQUEST_TIMEOUT,
                   "watch_interval_s": WATCH_INTERVAL, "watch_timeout_s": WATCH_TIMEOUT, "margin_s": MARGIN,
                   "shares": SHARES, "fuzz_split": FUZZ_SPLIT, "block_period_s": BLOCK_PERIOD},
        "machine": machine_info(("linen", "hypothesis", "aiohttp")),
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
    }
    if error:
        result["error"] = error
    result["summary"] = _summary(result)
    if keep_workdir or error:
        result["workdir"] = str(workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return publish(out, result, format_table, echo)


STRICT_FIGURES = (("crashes", "crash(es)"), ("lost_receipts", "lost receipt(s)"),
                  ("internal_errors", "internal error(s)"))


def strict_failures(result: dict[str, Any]) -> list[str]:
    """Why `--strict` fails the run: crashes, lost receipts or internal errors (empty when none)."""
    summary = result["summary"]
    reasons = [f"{summary[field]} {what}" for field, what in STRICT_FIGURES if summary[field]]
    if result.get("error"):
        reasons.append("the node did not start")
    return reasons


def format_table(result: dict[str, Any]) -> str:
    """The summary as printed: one figure a line, then outcomes per phase and the defects' requests."""
    s = result["summary"]
    rows = [
        ("cases tried", s["cases_tried"]), ("handled", s["handled"]), ("internal errors (-32603)", s["internal_errors"]),
        ("other error codes", s["other_errors"]), ("timeouts", s["timeouts"]), ("no answer", s["no_answer"]),
        ("malformed answers", s["malformed_answers"]), ("connection errors", s["connection_errors"]),
        ("crashes", s["crashes"]), ("forced restarts (hung or stuck)", s["forced_restarts"]),
        ("longest eth_blockNumber silence", f"{s['longest_unanswered_s']} s"),
        ("longest head stall", f"{s['longest_head_stall_s']} s"), ("watchdog answers", s["watchdog_answers"]),
        ("peak RSS", f"{s['peak_rss_mb']} MB"), ("bad txs answered unexpectedly", s["bad_txs_unexpected"]),
        ("honest tx included after bad txs", s["honest_tx_included_after_bad_txs"]), ("kill -9s", s["kills"]),
        ("lost receipts", s["lost_receipts"]), ("balances add up", s["balances_add_up"]),
        ("nonces = included count", s["nonces_match_included"]),
        ("state manager caught up after kills", s["state_manager_caught_up"]),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append("")
    lines.append(f"{'phase':<8} {'tried':>6} {'handled':>8} {'internal':>8} {'timeout':>8} {'other':>6} {'silence s':>9}")
    for name in ("fuzz", "bad_txs"):
        phase = result["phases"].get(name) or {}
        outcomes = phase.get("outcomes", {})
        silence = result["watchdog"]["per_phase"].get(name, {}).get("longest_unanswered_s", "")
        other = sum(v for k, v in outcomes.items() if k not in (HANDLED, INTERNAL, TIMEOUT))
        lines.append(f"{name:<8} {phase.get('tried', 0):>6} {outcomes.get(HANDLED, 0):>8} "
                     f"{outcomes.get(INTERNAL, 0):>8} {outcomes.get(TIMEOUT, 0):>8} {other:>6} {silence:>9}")
    for example in s["internal_error_examples"][:8]:
        lines.append(f"  internal error: {example['method']} {example['request'][:160]}")
    for example in s["timeout_examples"][:8]:
        lines.append(f"  timeout: {example['method']} {example['request'][:160]}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Attack benchmark: fuzzing, bad transactions, kill -9 under load.")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--kills", type=int, default=DEFAULT_KILLS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep-workdir", action="store_true")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.budget, args.seed, args.kills, args.out, args.keep_workdir)
    if args.strict and strict_failures(result):
        sys.exit(1)
    return result
