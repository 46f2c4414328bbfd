"""A long-lived proof network: trees come in on a local admin port, workers pull their jobs on a public one.

`linen prover network` runs it. A prover backend (the zk backend with `[prover] executor = "network"`)
hands it a tree with `prover_submitTree` and polls `prover_treeResult` until the top proof is there.
Each tree is proven by its own `ProofScheduler` thread, and all trees share one `ProofCoordinator`,
whose protocol (docs/prover-protocol.md) is the only thing on the public port. Submitting writes
state, so those two methods are only on the admin port (127.0.0.1 by default).

Trees are named by their top job's id, so a tree submitted twice is proven once. After a restart
the service knows no tree, and the client submits again. The store still holds every proof made
before the kill, so only what was missing is proven.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linen.errors import InvalidInput, InvalidParams
from linen.network.coordinator import ProofCoordinator
from linen.network.jobs import JobProof, JobStore, ProofDag
from linen.network.proofs import ProofSystem
from linen.network.scheduler import ProofScheduler, Speculation
from linen.rpc.client import RpcCallFailed, RpcClient, RpcUnreachable
from linen.rpc.service_http import ThreadedRpcServer

log = logging.getLogger("linen.network.tree_service")
MAX_TREE_JOBS = 4096


@dataclass
class _Tree:
    state: str  # proving | done | failed
    proof: JobProof | None = None
    error: str = ""


class TreeService:
    def __init__(self, store: JobStore, system: ProofSystem, lease_s: float = 30.0,
                 prior: dict[str, float] | None = None) -> None:
        self.store = store
        self.system = system
        self.prior = prior or {}
        self.coordinator = ProofCoordinator(store, system, lease_s=lease_s)
        self._trees: dict[str, _Tree] = {}
        self._lock = threading.Lock()

    def submit_tree(self, params: Any) -> dict:
        from linen.network.service import dag_from_json

        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
            raise InvalidParams("prover_submitTree takes one object parameter: {jobs, top, payloads, given}")
        data = params[0]
        if not isinstance(data.get("jobs"), list) or not 0 < len(data["jobs"]) <= MAX_TREE_JOBS:
            raise InvalidParams(f"jobs must be a list of 1 to {MAX_TREE_JOBS} jobs")
        try:
            dag = dag_from_json(data)
            given = [JobProof.from_json(p) for p in data.get("given", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidParams(f"not a proof tree: {type(exc).__name__}: {exc}") from None
        if dag.top not in dag.jobs:
            raise InvalidParams("top is not one of the jobs")
        for proof in given:  # proofs made before (an execution's top): checked before they are used
            job = dag.jobs.get(proof.job)
            if job is None:
                raise InvalidParams(f"a given proof is of job {proof.job}, which is not in the tree")
            reason = self.system.verify(job, proof)
            if reason is not None:
                raise InvalidInput(f"given proof of job {proof.job} refused: {reason}")
            self.store.put_proof(proof)
        with self._lock:
            tree = self._trees.get(dag.top)
            if tree is None or tree.state == "failed":
                tree = self._trees[dag.top] = _Tree("proving")
                threading.Thread(target=self._prove, args=(dag, tree), name=f"tree-{dag.top[:10]}", daemon=True).start()
        return {"top": dag.top, "state": tree.state}

    def _prove(self, dag: ProofDag, tree: _Tree) -> None:
        scheduler = ProofScheduler(self.store, self.system, self.coordinator, Speculation(prior=dict(self.prior)))
        try:
            proof = scheduler.prove(dag)
        except Exception as exc:  # reported to the client by prover_treeResult
            log.warning("tree %s failed: %s", dag.top[:10], exc)
            tree.error, tree.state = f"{type(exc).__name__}: {exc}", "failed"
            return
        tree.proof, tree.state = proof, "done"
        log.info("tree %s proven: %s", dag.top[:10], scheduler.stats.to_json())

    def tree_result(self, params: Any) -> dict:
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
            raise InvalidParams("prover_treeResult takes one object parameter: {top}")
        top = params[0].get("top")
        if not isinstance(top, str) or len(top) > 130:
            raise InvalidParams("prover_treeResult: top must be the tree's top job id, a 0x-hex string")
        with self._lock:
            tree = self._trees.get(top)
        if tree is None:
            return {"top": top, "state": "unknown"}
        answer: dict = {"top": top, "state": tree.state}
        if tree.proof is not None:
            answer["proof"] = tree.proof.to_json()
        if tree.error:
            answer["error"] = tree.error
        return answer

    def admin_registry(self) -> dict:
        return {"prover_submitTree": lambda _b, p: self.submit_tree(p),
                "prover_treeResult": lambda _b, p: self.tree_result(p),
                "prover_status": lambda _b, p: self.coordinator.status(p)}


def run_tree_service(service: TreeService, host: str, port: int, admin_host: str, admin_port: int,
                     on_listening: Callable[[str, str], None], stop: threading.Event) -> None:
    """Serve the worker protocol on host:port and the admin methods on admin_host:admin_port until `stop`."""
    from linen.network.metrics import coordinator_metrics
    from linen.network.service import coordinator_backend, serve_coordinator

    metrics = coordinator_metrics(service.coordinator)  # one registry, served on both ports
    public = serve_coordinator(service.coordinator, host, port, metrics)
    admin = ThreadedRpcServer(coordinator_backend(service.coordinator, metrics), admin_host, admin_port,
                              registry=service.admin_registry(), name="tree-admin")
    admin.start()
    on_listening(public.url, admin.url)
    try:
        while not stop.wait(0.5):
            service.coordinator.capacity()  # leases run out even when no scheduler is asking
    finally:
        service.coordinator.close()
        admin.stop()
        public.stop()


def prove_remotely(admin_url: str, tree: dict, timeout_s: float = 3600.0, poll_s: float = 0.5) -> JobProof:
    """Submit `tree` (dag_to_json plus `given` proofs) to a tree service and wait for its top proof.
    The service being down or restarted only delays this: the tree is submitted again, and what the
    store already holds is not proven twice."""
    client = RpcClient(admin_url, timeout=60)
    deadline = time.monotonic() + timeout_s
    submitted = False
    while time.monotonic() < deadline:
        try:
            if not submitted:
                client.call("prover_submitTree", tree)
                submitted = True
            answer = client.call("prover_treeResult", {"top": tree["top"]})
        except RpcUnreachable as exc:
            log.info("tree service unreachable (%s): retrying", exc)
            submitted = False
            time.sleep(poll_s * 2)
            continue
        except RpcCallFailed as exc:
            raise InvalidInput(f"the tree service refused the tree: {exc}") from None
        if answer["state"] == "done":
            return JobProof.from_json(answer["proof"])
        if answer["state"] == "failed":
            raise InvalidInput(f"the tree service could not prove the tree: {answer.get('error')}")
        if answer["state"] == "unknown":  # the service restarted since the tree was submitted
            submitted = False
        time.sleep(poll_s)
    raise InvalidInput(f"the tree was not proven within {timeout_s:.0f} s")
