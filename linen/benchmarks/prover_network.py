"""`linen bench prover-network`: the proof scheduler's executors side by side, and redundancy under faults.

1. **Overhead.** One tree of simulated jobs goes through each executor at W = 1, 2, 4 and 8
   workers: local worker processes, a Dask LocalCluster, and the network coordinator with
   `linen prover worker` processes. The jobs are sleeps of the zk benchmark's measured segment and
   merge times (bench/results/zk.json), times `scale`. The wall time is set against the ideal
   makespan of the same tree on W workers (the simulator at q = 0), which gives speedup and
   efficiency.
2. **Faults.** The network executor with `workers` worker processes, in one run:
   - fault-free, and fault-free without backup copies;
   - q = 0.2 with every fault kind, under Linen's scheme (re-issue, straggler copies, and backup
     copies on idle workers once the tree narrows);
   - the same fault-free and at q = 0.2 with backups at half the scheduler's point (0.15 of the
     median instead of 0.3), each set against its own fault-free run;
   - q = 0.2 under static 1:4 replication;
   - static 1:4 fault-free.

   Crashed and suspended workers are replaced at once by fresh ones (an open network's churn).
   Latency and work (every attempt's seconds) are given as ratios of the fault-free run.

3. **Real** (`--parts real`, about 20 minutes). The 64-transfer tree of real bb proofs (one bb
   thread per worker) through local workers at W = 1 and 2 and the network at W = 2: speedup and
   parallel efficiency, and the time Linen's verifier takes per proof.
4. **Simulator.** Wholesum's arithmetic, the 1 to 10,000 node sweep, fleets of 2 and 4 GiB nodes
   and the ten-L2 claim. Job times are drawn from the distributions of the real part's bb jobs
   (the last one stored), and each job's memory is bb's peak in the zk benchmark.

Writes JSON and prints a table.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from linen.network.coordinator import ProofCoordinator
from linen.network.executors import DaskExecutor, LocalExecutor
from linen.network.faults import KINDS, FaultPlan
from linen.network.fleet import WorkerSupervisor
from linen.network.jobs import MERGE, SEGMENT, JobStore, ProofDag, payload_job, tree_dag
from linen.network.proofs import SimulatedProofs
from linen.network.scheduler import ProofScheduler, Speculation
from linen.network.service import serve_coordinator
from linen.network.simulator import JobCosts, simulate

ZK_RESULTS = Path("bench/results/zk.json")


def measured_costs() -> tuple[float, float]:
    """(segment, merge) prove seconds of the zk benchmark (K=16 segment), or its last figures."""
    try:
        data = json.loads(ZK_RESULTS.read_text())
        segment = next(s["prove_s"] for s in data["segments"] if s["k"] == 16)
        return float(segment), float(data["circuits"]["merge"]["prove_s"])
    except (OSError, KeyError, StopIteration, ValueError):
        return 28.25, 29.39


def make_tree(system: SimulatedProofs, segments: int) -> ProofDag:
    keys = system.keys()
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, keys[SEGMENT], (i, i + 1), {"segment": i}, payloads) for i in range(segments)]
    return tree_dag(leaves, payloads, keys[MERGE], 0, lambda a, b: (a[0], b[1]))


def start_fleet(url: str, system, size: int, faults: FaultPlan | None) -> WorkerSupervisor:  # type: ignore[no-untyped-def]
    """`linen prover worker` processes; a crashed or suspended one is replaced at once (churn)."""
    return WorkerSupervisor(url, system.spec, size, "4GiB", "bench", faults, poll_s=0.05)


def _wait_for_workers(coordinator: ProofCoordinator, n: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while coordinator.capacity() < n and time.monotonic() < deadline:
        time.sleep(0.1)


def run_once(executor, system: SimulatedProofs, dag: ProofDag, speculation: Speculation,  # type: ignore[no-untyped-def]
             replicas: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        scheduler = ProofScheduler(JobStore(Path(tmp)), system, executor, speculation, max_failures=64,
                                   replicas=replicas)
        start = time.monotonic()
        top = scheduler.prove(dag)
        wall = time.monotonic() - start
    assert system.verify(dag.jobs[dag.top], top) is None
    return {"latency_s": round(wall, 3), **scheduler.stats.to_json()}


def overhead(system: SimulatedProofs, segments: int, widths: list[int], executors: list[str]) -> list[dict]:
    rows = []
    dag = make_tree(system, segments)
    costs = JobCosts(system.segment_s, system.merge_s)
    for name in executors:
        for w in widths:
            ideal = simulate(segments, w, costs).latency_s
            prior = {SEGMENT: system.segment_s, MERGE: system.merge_s}
            spec = Speculation(prior=prior)
            if name == "local":
                executor = LocalExecutor(system.spec, w)
                result = run_once(executor, system, dag, spec)
                executor.close()
            elif name == "dask":
                executor = DaskExecutor(system.spec, w)
                result = run_once(executor, system, dag, spec)
                executor.close()
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    coordinator = ProofCoordinator(JobStore(Path(tmp)), system, lease_s=10.0)
                    server = serve_coordinator(coordinator)
                    fleet = start_fleet(server.url, system, w, None)
                    try:
                        _wait_for_workers(coordinator, w)
                        result = run_once(coordinator, system, dag, spec)
                        result["work_s"] = round(coordinator.counts.work_s, 3)
                    finally:
                        fleet.stop()
                        server.stop()
            row = {"executor": name, "workers": w, "ideal_s": round(ideal, 3), **result,
                   "overhead_s": round(result["latency_s"] - ideal, 3),
                   "efficiency": round(ideal / result["latency_s"], 3)}
            rows.append(row)
            print(f"  {name:8s} W={w}: {row['latency_s']:7.2f} s (ideal {ideal:6.2f} s, efficiency {row['efficiency']:.2f})")
    for row in rows:
        base = next(r for r in rows if r["executor"] == row["executor"] and r["workers"] == widths[0])
        row["speedup"] = round(base["latency_s"] / row["latency_s"], 3)
    return rows


def network_run(system: SimulatedProofs, dag: ProofDag, workers: int, plan: FaultPlan, spec: Speculation,
                replicas: int = 0) -> dict:
    """One tree through a fresh coordinator and `workers` worker processes under `plan`."""
    with tempfile.TemporaryDirectory() as tmp:
        coordinator = ProofCoordinator(JobStore(Path(tmp)), system, lease_s=max(0.6, 2 * system.merge_s))
        server = serve_coordinator(coordinator)
        fleet = start_fleet(server.url, system, workers, plan)
        try:
            _wait_for_workers(coordinator, workers)
            result = run_once(coordinator, system, dag, spec, replicas)
            result["workers_started"] = fleet.started
            result["coordinator"] = coordinator.status([{}])["counts"]
            # work is what the workers spent: every lease's seconds, a cancelled copy's to its end
            result["scheduler_work_s"] = result["work_s"]
            result["work_s"] = round(result["coordinator"]["work_s"], 3)
        finally:
            fleet.stop()
            server.stop()
    return result


def fault_kinds(system: SimulatedProofs, segments: int, workers: int, q: float, seed: int, repeats: int) -> dict:
    """Each fault kind alone at rate q, against the fault-free run: which fault costs what."""
    dag = make_tree(system, segments)
    prior = {SEGMENT: system.segment_s, MERGE: system.merge_s}
    runs: dict[str, list[dict]] = {}
    for r in range(repeats):
        for kind in (None, *KINDS):
            plan = FaultPlan(0.0, seed + r) if kind is None else FaultPlan(q, seed + r, (kind,))
            result = network_run(system, dag, workers, plan, Speculation(prior=prior))
            runs.setdefault(kind or "fault-free", []).append(result)
            print(f"  run {r + 1} {kind or 'fault-free':10s}: latency {result['latency_s']:6.2f} s, "
                  f"work {result['work_s']:7.2f} s")
    base = {what: statistics.median(x[what] for x in runs["fault-free"]) for what in ("latency_s", "work_s")}
    summary = {}
    for label, results in runs.items():
        latency, work = (statistics.median(x[what] for x in results) for what in ("latency_s", "work_s"))
        summary[label] = {"latency_s_median": round(latency, 3), "work_s_median": round(work, 3),
                          "latency_ratio": round(latency / base["latency_s"], 3),
                          "work_ratio": round(work / base["work_s"], 3), "runs": results}
    return {"segments": segments, "workers": workers, "q": q, "seed": seed, "repeats": repeats, "kinds": summary}


def faults(system: SimulatedProofs, segments: int, workers: int, q: float, seed: int, repeats: int,
           backup: float = Speculation.backup, abandon: float = Speculation.abandon) -> dict:
    dag = make_tree(system, segments)
    prior = {SEGMENT: system.segment_s, MERGE: system.merge_s}
    runs: dict[str, list[dict]] = {}
    # (label, fault rate, static replicas (-1: no backups), backup point, the fault-free case it is set against)
    early = backup / 2
    cases = [("fault-free", 0.0, 0, backup, "fault-free"),
             ("fault-free, no backups", 0.0, -1, backup, "fault-free"),
             (f"speculative q={q}", q, 0, backup, "fault-free"),
             ("fault-free, early backups", 0.0, 0, early, "fault-free, early backups"),
             (f"speculative q={q}, early backups", q, 0, early, "fault-free, early backups"),
             (f"static 1:4 q={q}", q, 4, backup, "fault-free"),
             ("static 1:4 fault-free", 0.0, 4, backup, "fault-free")]
    baseline = {label: base for label, *_, base in cases}
    for r in range(repeats):
        for label, rate, replicas, backup_at, _ in cases:
            spec = Speculation(prior=prior, factor=0 if replicas > 0 else 1.5,
                               backup=0.0 if replicas < 0 else backup_at, abandon=abandon)
            result = network_run(system, dag, workers, FaultPlan(rate, seed + r), spec, max(replicas, 0))
            runs.setdefault(label, []).append(result)
            print(f"  run {r + 1} {label:24s}: latency {result['latency_s']:6.2f} s, work {result['work_s']:7.2f} s, "
                  f"attempts {result['attempts']}, refused {result['refused']}, failed {result['failed']}")
    def median(label: str, what: str) -> float:
        return statistics.median(x[what] for x in runs[label])

    plain_work = median("fault-free, no backups", "work_s")
    summary = {}
    for label, results in runs.items():
        latency, work = median(label, "latency_s"), median(label, "work_s")
        base = baseline[label]
        summary[label] = {"latency_s_median": round(latency, 3), "work_s_median": round(work, 3), "baseline": base,
                          "latency_ratio": round(latency / median(base, "latency_s"), 3),
                          "work_ratio": round(work / median(base, "work_s"), 3),
                          "work_ratio_to_no_backups": round(work / plain_work, 3), "runs": results}
    return summary


def zk_circuit(kind: str, k: int = 16) -> tuple[float, int] | None:
    """(prove seconds, bb's peak bytes) of a K=`k` segment or of a merge in the zk benchmark."""
    try:
        data = json.loads(ZK_RESULTS.read_text())
        row = (next(s for s in data["segments"] if s["k"] == k) if kind == SEGMENT
               else data["circuits"][kind])
        return float(row["prove_s"]), int(row["peak_mb"] * 2**20)
    except (OSError, KeyError, StopIteration, ValueError):
        return None


def job_costs(real: dict) -> tuple[JobCosts, str]:
    """The simulator's job costs, and where they come from: the zk benchmark's segment and merge
    medians (bb on both cores, as a 2-core node runs it) and peak memory, with the spread of every
    bb job of the real part's runs around its run's median."""
    segment_s, merge_s = measured_costs()
    segment, merge = zk_circuit(SEGMENT), zk_circuit(MERGE)
    memory = {"segment_bytes": segment[1] if segment else 0, "merge_bytes": merge[1] if merge else 0}
    runs = [r for r in real.get("runs", []) if r.get("segment_s") and r.get("merge_s")]
    if not runs:
        return (JobCosts(segment_s, merge_s, **memory),
                "zk benchmark medians and memory, no spread (no real part with every job's time yet)")
    spread = JobCosts.measured([r["segment_s"] for r in runs], [r["merge_s"] for r in runs])
    return (replace(spread, segment_s=segment_s, merge_s=merge_s, **memory),
            f"zk benchmark medians and memory; spread of the {sum(len(r['segment_s']) for r in runs)} segments "
            f"and {sum(len(r['merge_s']) for r in runs)} merges of the real part of {real.get('date')}")


def _costs_json(costs: JobCosts) -> dict:
    return {"segment_s": round(costs.segment_s, 1), "merge_s": round(costs.merge_s, 1),
            "segment_sigma": round(costs.lognormal(SEGMENT)[1], 4), "merge_sigma": round(costs.lognormal(MERGE)[1], 4),
            "segment_bytes": costs.segment_bytes, "merge_bytes": costs.merge_bytes}


def simulator_table() -> list[dict]:
    """Wholesum's point (168 segments of 249 s, 1:4 on 840 nodes) and Linen's scheme beside it."""
    rows = []
    wholesum = JobCosts(249.0, 0.0)
    for q in (0.0, 0.2, 0.5, 0.8):
        static = simulate(168, 840, wholesum, q, "static", replicas=5, seed=1)
        spec = simulate(168, 840, wholesum, q, "speculative", seed=1)
        rows.append({"q": q, "static_1_4_latency_s": static.latency_s, "static_1_4_work_x": round(static.work_s / static.ideal_work_s, 2),
                     "speculative_latency_s": spec.latency_s, "speculative_work_x": round(spec.work_s / spec.ideal_work_s, 2)})
    return rows


WHOLESUM_SEGMENTS, WHOLESUM_SEGMENT_S = 168, 249.0  # a 90M-cycle program in 2^19-cycle segments, old laptop
LINEA_BLOCK_S = 300.0  # Linea proves a 30M-gas block in 5 minutes (Wholesum's "Linea-sized L2")
SWEEP_NODES = (1, 10, 100, 168, 840, 1000, 10_000)
SWEEP_Q = (0.0, 0.2, 0.5, 0.8)
GIB = 2**30


SEEDS = (1, 2, 3, 4, 5)  # one seed's q = 0.8 latency is off the median by up to a third


def _medians(runs: list) -> dict:  # type: ignore[type-arg]
    return {"latency_s": round(statistics.median(o.latency_s for o in runs), 1),
            "work_x": round(statistics.median(o.work_ratio for o in runs), 2),
            # seeds in which a job met max_failures invalid attempts: the scheduler fails that tree
            "trees_failed": sum(1 for o in runs if o.failed_jobs)}


def _both(segments: int, nodes: int, costs: JobCosts, q: float, **options) -> dict:  # type: ignore[no-untyped-def]
    """Static 1:4 and Linen's scheme (with the scheduler's backups) on the same tree and nodes,
    medians over `SEEDS`."""
    static = [simulate(segments, nodes, costs, q, "static", replicas=5, seed=seed, **options) for seed in SEEDS]
    linen = [simulate(segments, nodes, costs, q, "speculative", seed=seed, backup=Speculation.backup, **options)
             for seed in SEEDS]
    return {"static_1_4": _medians(static), "linen": _medians(linen)}


def simulator_sweep(measured: JobCosts, source: str) -> dict:
    """Wholesum's tree (168 segments of 249 s; merges, spreads and memory as Linen measures them, in
    proportion) on 1 to 10,000 nodes, static 1:4 against Linen's scheme with backups; fleets of 2
    and 4 GiB nodes; then ten such trees at once on 10,000 nodes (the ten-L2s claim), with merges
    free (Wholesum's count) and costed. Medians over five seeds (three for the ten trees)."""
    costed = measured.scaled(WHOLESUM_SEGMENT_S)
    rows = [{"nodes": nodes, "q": q, **_both(WHOLESUM_SEGMENTS, nodes, costed, q)}
            for nodes in SWEEP_NODES for q in SWEEP_Q]
    claim = []
    free = replace(costed, merge_s=0.0)
    for merges, costs in (("free", free), ("costed", costed)):
        for q in (0.0, 0.2, 0.8):
            for scheme in ("static", "speculative"):
                runs = [simulate(WHOLESUM_SEGMENTS, 10_000, costs, q, scheme, replicas=5, seed=seed, trees=10,
                                 backup=Speculation.backup if scheme == "speculative" else 0.0) for seed in SEEDS[:3]]
                failed = sum(1 for o in runs if o.failed_jobs)
                latency = statistics.median(o.latency_s for o in runs)
                work = statistics.median(o.work_s for o in runs)
                # ten L2s each proving a block every 5 minutes need 10 trees' work per 300 s
                utilization = work / (10_000 * LINEA_BLOCK_S)
                claim.append({"merges": merges, "q": q, "scheme": "static 1:4" if scheme == "static" else "linen",
                              "latency_s": round(latency, 1), "work_node_s": round(work), "trees_failed": failed,
                              "utilization_per_5_min": round(utilization, 3),
                              # carried: the nodes keep pace with ten blocks per 5 minutes (trees pipelined);
                              # latency is then the finality delay, within one block time or not
                              "carried": utilization <= 1.0, "within_block_time": latency <= LINEA_BLOCK_S})
    return {"segments": WHOLESUM_SEGMENTS, "segment_s": WHOLESUM_SEGMENT_S, "merge_s": round(costed.merge_s, 1),
            "costs": {"source": source, "measured": _costs_json(measured), "wholesum_scale": _costs_json(costed)},
            "sweep": rows, "memory": simulator_memory(costed), "ten_l2s": claim}


def _fleets(nodes: int) -> dict[str, list[int]]:
    return {"all 4 GiB": [4 * GIB] * nodes, "half 2 GiB, half 4 GiB": [(2 + 2 * (i % 2)) * GIB for i in range(nodes)],
            "all 2 GiB": [2 * GIB] * nodes}


def simulator_memory(costed: JobCosts, sizes: tuple[int, ...] = (168, 840), q: float = 0.2,
                     segments: int = WHOLESUM_SEGMENTS) -> list[dict]:
    """Wholesum's "2-core, 2-4 GB" nodes: which fleets can prove the tree with K=16 segments, and
    with K=8 ones (half the transfers each, so twice as many, at the measured time and memory)."""
    k8, k16 = zk_circuit(SEGMENT, 8), zk_circuit(SEGMENT, 16)
    trees = [("K=16", segments, costed)]
    if k8 and k16:
        trees.append(("K=8", 2 * segments,
                      replace(costed, segment_s=costed.segment_s * k8[0] / k16[0], segment_bytes=k8[1])))
    rows = []
    for (segment, segments, costs), nodes in itertools.product(trees, sizes):
        for fleet, memory in _fleets(nodes).items():
            row: dict = {"segments": segment, "segment_count": segments, "fleet": fleet, "nodes": nodes, "q": q,
                         "segment_s": round(costs.segment_s, 1), "segment_gib": round(costs.segment_bytes / GIB, 2),
                         "merge_gib": round(costs.merge_bytes / GIB, 2)}
            try:
                row.update(_both(segments, nodes, costs, q, node_memory=memory))
            except ValueError as exc:  # no node of this fleet holds the job
                row["cannot"] = str(exc)
            rows.append(row)
    return rows


def run(out: Path, scale: float, segments: int, widths: list[int], executors: list[str], fault_segments: int,
        fault_workers: int, q: float, seed: int, repeats: int, parts: tuple[str, ...] = ("overhead", "faults",
                                                                                        "simulator")) -> dict:
    """Run `parts`, keeping the other parts' figures from `out`; the file is written after each part,
    so a long part (real, 20 minutes) is never lost to a later one."""
    segment_s, merge_s = measured_costs()
    system = SimulatedProofs(round(segment_s * scale, 4), round(merge_s * scale, 4))
    result = json.loads(out.read_text()) if out.exists() else {}

    def save(key: str, value) -> None:  # type: ignore[no-untyped-def]
        result.update({
            key: value, "date": date.today().isoformat(),
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
            "jobs": {"segment_s": system.segment_s, "merge_s": system.merge_s, "scale": scale}})
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

    if "overhead" in parts or "faults" in parts:
        print(f"simulated jobs: segment {system.segment_s} s, merge {system.merge_s} s "
              f"({scale} x the zk benchmark's {segment_s} s and {merge_s} s)")
    if "overhead" in parts:
        print(f"overhead: a tree of {segments} segments")
        save("overhead", overhead(system, segments, widths, executors))
    if "faults" in parts:
        print(f"faults: a tree of {fault_segments} segments on {fault_workers} network workers, q = {q}")
        summary = faults(system, fault_segments, fault_workers, q, seed, repeats)
        for label, s in summary.items():
            print(f"  {label:24s}: latency x{s['latency_ratio']:.2f}, work x{s['work_ratio']:.2f} "
                  f"(x{s['work_ratio_to_no_backups']:.2f} of the fault-free run without backups)")
        save("faults", {"segments": fault_segments, "workers": fault_workers, "q": q, "seed": seed, **summary})
    if "kinds" in parts:
        print(f"fault kinds: each alone at q = {q}, {fault_segments} segments on {fault_workers} network workers")
        kinds = fault_kinds(system, fault_segments, fault_workers, q, seed, repeats)
        for label, k in kinds["kinds"].items():
            print(f"  {label:10s}: latency x{k['latency_ratio']:.2f}, work x{k['work_ratio']:.2f}")
        save("fault_kinds", kinds)
    if "real" in parts:
        from linen.benchmarks.prover_network_real import real_tree

        print("real bb jobs: the 64-transfer tree, one bb thread per worker")
        save("real", {"date": date.today().isoformat(), **real_tree(64)})
    if "simulator" in parts:
        costs, source = job_costs(result.get("real", {}))
        print(f"simulator: job costs from the {source}: {_costs_json(costs)}")
        sweep = simulator_sweep(costs, source)
        for row in sweep["memory"]:
            print(f"  {row['segments']} segments, {row['nodes']} nodes, {row['fleet']:24s}: "
                  + (row["cannot"] if "cannot" in row else
                     f"Linen {row['linen']['latency_s']:8.1f} s x{row['linen']['work_x']:.2f} work, "
                     f"static 1:4 {row['static_1_4']['latency_s']:8.1f} s x{row['static_1_4']['work_x']:.2f}"))
        for row in sweep["ten_l2s"]:
            print(f"  ten L2s on 10,000 nodes, merges {row['merges']}, q={row['q']}, {row['scheme']:10s}: "
                  f"latency {row['latency_s']:8.1f} s, {row['utilization_per_5_min']:.2f} of the nodes' 5 minutes"
                  f"{'  carried' if row['carried'] else '  NOT carried'}")
        save("simulator_wholesum", simulator_table())
        save("simulator", sweep)
    print(f"wrote {out}")
    return result
