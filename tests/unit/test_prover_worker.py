"""`linen prover worker`'s loop: an attempt it gives up stops proving at once, and it learns of it
at once (its heartbeats long-poll), not a third of a lease later."""

from __future__ import annotations

import threading
import time

from linen.network.coordinator import ProofCoordinator
from linen.network.jobs import SEGMENT, JobStore, payload_job
from linen.network.proofs import SimulatedProofs, make_system, sim_spec
from linen.network.service import serve_coordinator
from linen.network.worker import RemoteWorker

GIB = 2**30


def _proving_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"{name}-prove" and t.is_alive()]


def test_a_job_proven_by_another_worker_is_dropped_and_its_proving_stops(tmp_path):
    spec = sim_spec(60.0, 60.0)  # an attempt that would hold the worker for a minute
    system = make_system(spec)
    assert isinstance(system, SimulatedProofs)
    # heartbeats every 10 s: without the long poll the worker would hear of the winner up to 10 s late
    coordinator = ProofCoordinator(JobStore(tmp_path), system, lease_s=30.0)
    server = serve_coordinator(coordinator)
    try:
        payloads: dict = {}
        job = payload_job(SEGMENT, system.keys()[SEGMENT], (0, 1), {"i": 0}, payloads)
        future = coordinator.submit(job, payloads[job.inputs_hash], [], 0)
        worker = RemoteWorker(server.url, spec, 4 * GIB, "slow", timeout_s=10)
        worker.hello()
        stepped = threading.Thread(target=worker.step)
        stepped.start()
        deadline = time.monotonic() + 10
        while not _proving_threads("slow") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _proving_threads("slow"), "the worker never started proving"
        time.sleep(0.3)  # its first heartbeat is waiting on the coordinator now
        coordinator.cancel(future)  # what the scheduler does once another attempt has won
        started = time.monotonic()
        stepped.join(10)
        assert not stepped.is_alive() and worker.report.refused == 1
        assert time.monotonic() - started < 2, "the worker heard of the winner only at its next heartbeat"
        while _proving_threads("slow") and time.monotonic() - started < 5:
            time.sleep(0.02)
        assert not _proving_threads("slow"), "the given-up attempt is still proving"
        assert time.monotonic() - started < 3
    finally:
        coordinator.close()
        server.stop()


def test_the_worker_starts_without_the_node_s_chain_code():
    """A replaced worker rejoins in a fraction of a second: it must not import py-evm (1.5 s here)."""
    import subprocess
    import sys

    code = ("import sys, linen.network.worker, linen.network.cli_commands; "
            "heavy = sorted(m for m in ('eth', 'linen.chain.store', 'linen.rpc.dispatch', 'distributed') "
            "if m in sys.modules); print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
