"""The proof coordinator as a service: its JSON-RPC on a port, and a tree proven through it.

`serve_coordinator` puts a `ProofCoordinator`'s protocol on HTTP (the hardened RPC server: body
limits, timeouts, batch limits; `prover_submitProof` runs off the event loop). `prove_tree_file`
is `linen prover coordinator`: it proves one tree (a JSON file of jobs and payloads) through
independent workers and writes the top proof, resuming from its store after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from linen.jsonfile import write_json_atomically
from linen.network.coordinator import ProofCoordinator
from linen.network.jobs import Job, JobStore, ProofDag
from linen.network.metrics import coordinator_metrics
from linen.network.proofs import make_system
from linen.network.scheduler import ProofScheduler, Speculation
from linen.observe.metrics import Metrics
from linen.rpc.service_http import ServiceBackend, ThreadedRpcServer


def coordinator_backend(coordinator: ProofCoordinator, metrics: Metrics | None = None) -> ServiceBackend:
    """/health (the coordinator's status) and /metrics for a port of the coordinator."""
    return ServiceBackend(lambda: {"status": "ok", **coordinator.status([{}])},
                          metrics or coordinator_metrics(coordinator))


def serve_coordinator(coordinator: ProofCoordinator, host: str = "127.0.0.1", port: int = 0,
                      metrics: Metrics | None = None) -> ThreadedRpcServer:
    """The worker protocol on host:port, with /health and /metrics."""
    # a worker whose waiting heartbeat hangs up has died (its process, at least): its lease ends then
    server = ThreadedRpcServer(coordinator_backend(coordinator, metrics), host, port,
                               registry=coordinator.registry(), name="proof-coordinator", cancel_on_disconnect=True)
    server.start()
    return server


def dag_to_json(dag: ProofDag) -> dict:
    return {"jobs": [job.to_json() for job in dag.jobs.values()], "top": dag.top, "payloads": dag.payloads}


def dag_from_json(data: dict) -> ProofDag:
    jobs = {}
    for raw in data["jobs"]:
        job = Job.from_json(raw)
        jobs[job.id] = job
    return ProofDag(jobs, data["top"], dict(data.get("payloads", {})))


def prove_tree_file(dag_path: Path, store_dir: Path, out: Path, spec: dict, host: str, port: int,
                    lease_s: float, prior: dict[str, float], on_listening: Callable[[str], None]) -> dict:
    """Prove the tree in `dag_path` through workers pulling from host:port; the top proof to `out`."""
    dag = dag_from_json(json.loads(Path(dag_path).read_text()))
    store = JobStore(store_dir)
    system = make_system(spec)
    coordinator = ProofCoordinator(store, system, lease_s=lease_s)
    server = serve_coordinator(coordinator, host, port)
    on_listening(server.url)
    scheduler = ProofScheduler(store, system, coordinator, Speculation(prior=prior))
    try:
        top = scheduler.prove(dag)
    finally:
        coordinator.close()
        server.stop()
    result = {"top": top.to_json(), "stats": scheduler.stats.to_json(), "coordinator": coordinator.status([{}])}
    write_json_atomically(out, result)
    return result
