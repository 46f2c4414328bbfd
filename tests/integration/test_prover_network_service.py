"""`linen prover network` (trees in on the admin port, workers on the public one), killed mid-tree."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request

import pytest

from linen.errors import InvalidInput
from linen.network.jobs import MERGE, SEGMENT, JobStore, payload_job, tree_dag
from linen.network.service import dag_to_json
from linen.network.tree_service import prove_remotely
from linen.ports import free_port
from linen.rpc.client import RpcCallFailed, RpcClient
from tests.integration.test_prover_network_kills import LINEN, SIM, SYSTEM, start_worker


def start_service(store, port: int, admin_port: int) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen([*LINEN, "prover", "network", "--store", str(store), "--port", str(port),
                             "--admin-port", str(admin_port), "--lease", "2", *SIM],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and "proof network" in proc.stdout.readline()
    return proc


def make_tree(n: int, offset: int = 0):  # type: ignore[no-untyped-def]
    keys = SYSTEM.keys()
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, keys[SEGMENT], (offset + i, offset + i + 1), {"segment": offset + i}, payloads)
              for i in range(n)]
    return tree_dag(leaves, payloads, keys[MERGE], 0, lambda a, b: (a[0], b[1]))


def test_trees_are_proven_through_the_service_and_survive_its_kill(tmp_path) -> None:
    store = tmp_path / "store"
    port, admin_port = free_port(), free_port()
    service = start_service(store, port, admin_port)
    url, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
    workers = [start_worker(url, "w1"), start_worker(url, "w2")]
    procs = list(workers)
    try:
        # the admin methods are not on the workers' port
        with pytest.raises(RpcCallFailed, match="not found|does not exist|Method"):
            RpcClient(url).call("prover_submitTree", dag_to_json(make_tree(1)))
        with pytest.raises(RpcCallFailed, match="one object parameter"):
            RpcClient(admin).call("prover_submitTree", "junk")
        with pytest.raises(RpcCallFailed, match="not a proof tree"):
            RpcClient(admin).call("prover_submitTree", {"jobs": [{"kind": "segment"}], "top": "0x"})
        # prover_treeResult from a hostile client: refused or unknown, and the service goes on
        with pytest.raises(RpcCallFailed, match="not found|does not exist|Method"):
            RpcClient(url).call("prover_treeResult", {"top": "0x00"})
        for bad in ("junk", [1], {"top": {"a": 1}}, {"top": 7}, {"top": None}, {"top": "0x" + "f" * 10_000}, {}):
            with pytest.raises(RpcCallFailed, match="one object parameter|top must be"):
                RpcClient(admin).call("prover_treeResult", bad)
        assert RpcClient(admin).call("prover_treeResult", {"top": "0x" + "ab" * 32})["state"] == "unknown"

        small = make_tree(2, offset=100)
        assert prove_remotely(admin, dag_to_json(small), timeout_s=60).job == small.top
        for port_url in (url, admin):  # /health and /metrics on both ports, from one registry
            text = urllib.request.urlopen(port_url + "/metrics", timeout=10).read().decode()
            accepted = next(line for line in text.splitlines()
                            if line.startswith('linen_prover_network_proofs_total{outcome="accepted"} '))
            assert float(accepted.rsplit(" ", 1)[1]) >= len(small.jobs)
            assert 'linen_prover_network_workers{state="active"} 2.0' in text
            health = json.loads(urllib.request.urlopen(port_url + "/health", timeout=10).read())
            assert health["status"] == "ok" and health["counts"]["accepted"] >= len(small.jobs)

        dag = make_tree(12)
        results: dict = {}
        client = threading.Thread(target=lambda: results.update(proof=prove_remotely(admin, dag_to_json(dag),
                                                                                      timeout_s=120)))
        client.start()
        time.sleep(1.5)
        service.kill()
        service.wait(10)
        before = len(list((store / "proofs").glob("*.json")))
        time.sleep(1.0)
        service = start_service(store, port, admin_port)
        procs.append(service)
        client.join(120)
        assert results["proof"].job == dag.top
    finally:
        for proc in [*procs, service]:
            proc.kill()
            proc.wait(10)
    kept = JobStore(store)
    for job in dag.jobs.values():
        assert SYSTEM.verify(job, kept.proof(job.id)) is None
    assert 3 < before < len(dag.jobs) + 3  # the kill landed mid-tree (the small tree's 3 jobs came first)


def test_a_tree_the_service_cannot_finish_is_reported(tmp_path) -> None:
    port, admin_port = free_port(), free_port()
    service = start_service(tmp_path / "store", port, admin_port)
    try:
        tree = dag_to_json(make_tree(1))
        tree["given"] = [{"job": tree["top"], "proof": ["0x" + "00" * 32] * 8, "key": SYSTEM.keys()[SEGMENT]}]
        with pytest.raises(InvalidInput, match="refused"):
            prove_remotely(f"http://127.0.0.1:{admin_port}", tree, timeout_s=20)
    finally:
        service.kill()
        service.wait(10)
