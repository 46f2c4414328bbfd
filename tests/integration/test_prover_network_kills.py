"""Independent `linen prover worker` processes and a `linen prover coordinator`, killed at random points."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

from linen.network.jobs import MERGE, SEGMENT, JobStore, payload_job, tree_dag
from linen.network.proofs import SimulatedProofs
from linen.network.service import dag_to_json
from linen.ports import free_port

SEGMENT_S, MERGE_S = 0.4, 0.2
SYSTEM = SimulatedProofs(SEGMENT_S, MERGE_S)
LINEN = [sys.executable, "-m", "linen.cli"]
SIM = ["--simulate", f"{SEGMENT_S}:{MERGE_S}"]


def start_coordinator(tree: Path, store: Path, out: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen([*LINEN, "prover", "coordinator", "--tree", str(tree), "--store", str(store),
                             "--out", str(out), "--port", str(port), "--lease", "2", *SIM],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def start_worker(url: str, name: str, faults: str | None = None) -> subprocess.Popen:
    extra = ["--faults", faults] if faults else []
    return subprocess.Popen([*LINEN, "prover", "worker", "--coordinator", url, "--memory", "1GiB", "--name", name,
                             *SIM, *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_killing_workers_and_the_coordinator_at_random_points_loses_no_proof(tmp_path) -> None:
    keys = SYSTEM.keys()
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, keys[SEGMENT], (i, i + 1), {"segment": i}, payloads) for i in range(12)]
    dag = tree_dag(leaves, payloads, keys[MERGE], 0, lambda a, b: (a[0], b[1]))
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps(dag_to_json(dag)))
    store, out = tmp_path / "store", tmp_path / "top.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(16)
    coordinator = start_coordinator(tree, store, out, port)
    assert coordinator.stdout is not None and "proof coordinator" in coordinator.stdout.readline()
    workers = [start_worker(url, "honest-1"), start_worker(url, "honest-2"),
               start_worker(url, "faulty", "0.3:5")]
    procs = list(workers)
    try:
        time.sleep(rng.uniform(0.8, 1.6))
        workers[0].kill()  # -9, mid-job most likely: its lease runs out and the job goes to another
        procs.append(start_worker(url, "replacement"))
        time.sleep(rng.uniform(0.8, 1.6))
        coordinator.kill()
        coordinator.wait(10)
        proven_before = len(list((store / "proofs").glob("*.json")))
        assert 0 < proven_before < len(dag.jobs), "the kill should land mid-tree"
        time.sleep(0.5)  # the workers find the coordinator gone and keep retrying
        coordinator = start_coordinator(tree, store, out, port)
        deadline = time.monotonic() + 120
        while not out.exists() and time.monotonic() < deadline:
            assert coordinator.poll() is None, "the restarted coordinator died"
            time.sleep(0.2)
        assert out.exists(), "the tree was not finished"
    finally:
        for proc in [*procs, coordinator]:
            proc.kill()
            proc.wait(10)
    result = json.loads(out.read_text())
    assert result["top"]["job"] == dag.top
    assert result["stats"]["reused"] == proven_before  # nothing proven before the kill was proven again
    kept = JobStore(store)
    for job in dag.jobs.values():
        assert SYSTEM.verify(job, kept.proof(job.id)) is None
