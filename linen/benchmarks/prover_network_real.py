"""`linen bench prover-network --parts real`: the 64-transfer tree of real bb proofs through the
proof scheduler, one bb thread per worker, on W = 1 and 2 local workers and on 2 network workers.

Each run starts from an empty store (nothing is reused between runs), every proof is checked by
`BbProofs.verify` before it is stored, and the top proof is checked again at the end. After each
run every stored proof is verified again, timed, by Linen's verifier and by bb's partial check. The ideal
makespan on W workers is the simulator's at q = 0 with the W = 1 run's median segment and merge
times, so efficiency = ideal / measured shows the scheduler's cost on jobs of real length.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from linen.network.jobs import MERGE, SEGMENT, JobStore, ProofDag, payload_job, tree_dag
from linen.network.simulator import JobCosts, simulate

CHAIN_ID = 59144
SRS_POINTS = 2**21 + 1


def build_tree(system, batch: int) -> ProofDag:  # type: ignore[no-untyped-def]
    """`batch` signed transfers in one block, cut into the production segment size, as a job tree."""
    from linen.benchmarks.zk_circuits import _funded_tree, _transfers
    from linen.prover.backends.zk import MERGE_MEMORY, SEGMENT_MEMORY, _join_fields, segment_size
    from linen.zk.segment_witness import BlockContext, SegmentBuilder

    k = segment_size()
    keys, txs = _transfers(batch)
    builder = SegmentBuilder(_funded_tree(keys), CHAIN_ID, k)
    block = BlockContext(1, 1_700_000_000, 7, bytes.fromhex("c0" * 20), batch)
    payloads: dict = {}
    leaves, h = [], 0
    job_keys = system.keys()
    for i in range(0, batch, k):
        statement, inputs = builder.segment(block, txs[i:i + k], i, h, system.prover.vk_hashes)
        h = statement.tx_hash_end
        leaves.append(payload_job(SEGMENT, job_keys[SEGMENT], statement.fields(), inputs, payloads,
                                  memory=SEGMENT_MEMORY))
    return tree_dag(leaves, payloads, job_keys[MERGE], MERGE_MEMORY, _join_fields)


def _one_run(system, dag: ProofDag, executor_name: str, workers: int, zk_dir: Path) -> dict:  # type: ignore[no-untyped-def]
    from linen.network.coordinator import ProofCoordinator
    from linen.network.executors import LocalExecutor
    from linen.network.scheduler import ProofScheduler, Speculation
    from linen.network.service import serve_coordinator

    with tempfile.TemporaryDirectory(dir=zk_dir) as tmp:
        store = JobStore(Path(tmp))
        fleet = server = None
        if executor_name == "local":
            executor = LocalExecutor(system.spec, workers)
        else:
            from linen.benchmarks.prover_network import _wait_for_workers, start_fleet

            executor = ProofCoordinator(JobStore(Path(tmp) / "coordinator"), system, lease_s=60.0)
            server = serve_coordinator(executor)
            fleet = start_fleet(server.url, system, workers, None)
            _wait_for_workers(executor, workers, timeout=600)
        # no speculative copies: with W <= 2 and jobs of a minute a copy only takes a core from a job
        scheduler = ProofScheduler(store, system, executor, Speculation(factor=0, backup=0))
        try:
            start = time.monotonic()
            top = scheduler.prove(dag)
            wall = time.monotonic() - start
        finally:
            if fleet:
                fleet.stop()
            if server:
                server.stop()
            executor.close()
        assert system.verify(dag.jobs[dag.top], top) is None, "the top proof does not verify"
        seconds: dict[str, list[float]] = {SEGMENT: [], MERGE: []}
        checks: dict[str, list[float]] = {"native_ms": [], "bb_s": []}
        for job in dag.jobs.values():
            proof = store.proof(job.id)
            if proof is None:
                continue
            seconds[job.kind].append(proof.seconds)
            words = b"".join(bytes.fromhex(w[2:]) for w in proof.words)
            public = b"".join(f.to_bytes(32, "big") for f in job.statement)
            t0 = time.perf_counter()
            assert system.verify_native(job.kind, words, public) is None
            t1 = time.perf_counter()
            assert system.verify_with_bb(job.kind, words, public) is None
            checks["native_ms"].append((t1 - t0) * 1000)
            checks["bb_s"].append(time.perf_counter() - t1)
    return {"executor": executor_name, "workers": workers, "latency_s": round(wall, 1),
            "segment_s_median": round(statistics.median(seconds[SEGMENT]), 1),
            "merge_s_median": round(statistics.median(seconds[MERGE]), 1),
            # every job's seconds: the simulator's distributions are fitted to them
            "segment_s": sorted(round(t, 2) for t in seconds[SEGMENT]),
            "merge_s": sorted(round(t, 2) for t in seconds[MERGE]),
            "verify_native_ms_median": round(statistics.median(checks["native_ms"]), 2),
            "verify_bb_s_median": round(statistics.median(checks["bb_s"]), 2), **scheduler.stats.to_json()}


def real_tree(batch: int = 64, runs: tuple[tuple[str, int], ...] = (("local", 1), ("local", 2), ("network", 2)),
              zk_dir: Path | None = None) -> dict:
    """The same tree proven once per (executor, W); speedup and efficiency against W = 1."""
    from linen.network.proofs import BbProofs
    from linen.zk import srs

    zk_dir = Path(zk_dir or tempfile.mkdtemp(prefix="linen-bench-network-"))
    srs.ensure_dev_srs(zk_dir / "srs", SRS_POINTS)
    system = BbProofs(zk_dir, threads=1)
    dag = build_tree(system, batch)
    segments = sum(1 for j in dag.jobs.values() if j.kind == SEGMENT)
    rows = []
    for name, workers in runs:
        row = _one_run(system, dag, name, workers, zk_dir)
        rows.append(row)
        print(f"  real bb, {name:8s} W={workers}: {row['latency_s']:7.1f} s (segment {row['segment_s_median']} s, "
              f"merge {row['merge_s_median']} s); verify: Linen's {row['verify_native_ms_median']} ms, "
              f"bb's partial check {row['verify_bb_s_median']} s", flush=True)
    base = rows[0]
    costs = JobCosts(base["segment_s_median"], base["merge_s_median"])
    for row in rows:
        ideal = simulate(segments, row["workers"], JobCosts(row["segment_s_median"], row["merge_s_median"])).latency_s
        row["ideal_s"] = round(ideal, 1)
        row["efficiency"] = round(ideal / row["latency_s"], 3)
        row["speedup"] = round(base["latency_s"] / row["latency_s"], 3)
        row["parallel_efficiency"] = round(row["speedup"] / row["workers"], 3)
    return {"transfers": batch, "segments": segments, "merges": len(dag.jobs) - segments, "bb_threads": 1,
            "w1_ideal_s": round(simulate(segments, 1, costs).latency_s, 1), "runs": rows}
