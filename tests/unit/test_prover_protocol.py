"""The proof coordinator's protocol (docs/prover-protocol.md), each message tried from a hostile worker."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import Future

import orjson
import pytest

from linen.network.coordinator import PROTOCOL, LeaseExpired, ProofCoordinator, WorkerSuspendedError
from linen.network.jobs import MERGE, SEGMENT, JobStore, payload_job
from linen.network.proofs import SimulatedProofs
from linen.network.service import serve_coordinator
from linen.rpc.client import RpcCallFailed, RpcClient

SYSTEM = SimulatedProofs(0.0, 0.0)
KEYS = SYSTEM.keys()
GIB = 2**30


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def net(tmp_path):  # type: ignore[no-untyped-def]
    clock = Clock()
    coordinator = ProofCoordinator(JobStore(tmp_path), SYSTEM, lease_s=10.0, clock=clock)
    server = serve_coordinator(coordinator)
    yield coordinator, RpcClient(server.url, timeout=10), clock, server.url
    coordinator.close()
    server.stop()


def hello(client: RpcClient, name: str = "w", memory: int = 4 * GIB, keys=None) -> dict:  # type: ignore[no-untyped-def]
    return client.call("prover_hello", {"protocol": PROTOCOL, "name": name, "memory": memory,
                                        "keys": keys or sorted(KEYS.values())})


def auth(session: dict, **fields: object) -> dict:
    return {"workerId": session["workerId"], "token": session["token"], **fields}


def offer(coordinator: ProofCoordinator, n: int = 2, memory: int = 0) -> tuple[list, dict, list[Future]]:
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, KEYS[SEGMENT], (i, i + 1), {"i": i}, payloads, memory=memory) for i in range(n)]
    futures = [coordinator.submit(job, payloads[job.inputs_hash], [], 0) for job in leaves]
    return leaves, payloads, futures


def leased(coordinator: ProofCoordinator, client: RpcClient) -> tuple[list[Future], dict, dict]:
    """One job on offer, taken by a new worker that fetches its inputs, as a worker does at once:
    (the attempt's futures, the session, the lease)."""
    leaves, _, futures = offer(coordinator, 1)
    session = hello(client)
    lease = client.call("prover_getJob", auth(session))
    client.call("prover_getInputs", auth(session, inputsHash=leaves[0].inputs_hash))
    return futures, session, lease


def refused(call, data: str | None = None, match: str | None = None) -> RpcCallFailed:  # type: ignore[no-untyped-def]
    with pytest.raises(RpcCallFailed, match=match) as info:
        call()
    if data is not None:
        assert info.value.data == data, info.value
    return info.value


def test_an_honest_worker_pulls_fetches_proves_and_is_accepted(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    leaves, payloads, futures = offer(coordinator, 1)
    session = hello(client)
    assert session["protocol"] == PROTOCOL and session["leaseSeconds"] == 10.0
    lease = client.call("prover_getJob", auth(session))
    job = leaves[0]
    assert lease["job"]["id"] == job.id and client.call("prover_getJob", auth(session)) is None
    assert client.call("prover_getInputs", auth(session, inputsHash=job.inputs_hash)) == payloads[job.inputs_hash]
    assert client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"]))["proven"] is False
    proof = SYSTEM.prove(job, {}, [], "w")
    answer = client.call("prover_submitProof", auth(session, leaseId=lease["leaseId"], job=job.id,
                                                    proof=list(proof.words), key=proof.key))
    assert answer == {"status": "accepted", "job": job.id}
    got = futures[0].result(1)
    assert got.words == proof.words and got.prover == "w"  # the coordinator names the prover, not the worker
    # the lease is closed: submitting again is refused
    refused(lambda: client.call("prover_submitProof", auth(session, leaseId=lease["leaseId"], job=job.id,
                                                           proof=list(proof.words))), "LEASE_GONE")


def _metric(text: str, line_start: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith(line_start + " ")).rsplit(" ", 1)[1])


def test_health_and_metrics_show_workers_offers_leases_and_outcomes(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, url = net
    leaves, _, _ = offer(coordinator, 2)
    honest, liar = hello(client, "honest"), hello(client, "liar")
    good = client.call("prover_getJob", auth(honest))
    bad = client.call("prover_getJob", auth(liar))
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    assert _metric(text, 'linen_prover_network_workers{state="active"}') == 2
    assert _metric(text, "linen_prover_network_leases") == 2 and _metric(text, "linen_prover_network_offers") == 0
    by_id = {job.id: job for job in leaves}
    proof = SYSTEM.prove(by_id[good["job"]["id"]], {}, [], "honest")
    client.call("prover_submitProof", auth(honest, leaseId=good["leaseId"], job=proof.job, proof=list(proof.words)))
    lie = SYSTEM.prove(by_id[bad["job"]["id"]], {}, [], "liar")
    words = ["0x" + "11" * 32, *lie.words[1:]]
    refused(lambda: client.call("prover_submitProof", auth(liar, leaseId=bad["leaseId"], job=lie.job, proof=words)))
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    assert _metric(text, 'linen_prover_network_proofs_total{outcome="accepted"}') == 1
    assert _metric(text, 'linen_prover_network_proofs_total{outcome="refused"}') == 1
    assert _metric(text, 'linen_prover_network_workers{state="suspended"}') == 1
    assert _metric(text, "linen_prover_network_suspensions_total") == 1
    assert _metric(text, "linen_prover_network_leases_given_total") == 2
    assert _metric(text, "linen_prover_network_leases") == 0  # the liar's attempt failed: the scheduler's to re-offer
    health = orjson.loads(urllib.request.urlopen(url + "/health", timeout=10).read())
    assert health["status"] == "ok" and health["suspended"] == 1 and health["counts"]["accepted"] == 1


@pytest.mark.parametrize("bad, match", [
    ({"protocol": "linen-prover/0"}, "protocol must be"),
    ({"memory": -1}, "memory must be"),
    ({"memory": True}, "memory must be"),
    ({"memory": "4GiB"}, "memory must be"),
    ({"keys": []}, "keys must be"),
    ({"keys": ["0x12"]}, "keys must be"),
    ({"keys": ["0x" + "00" * 32] * 65}, "keys must be"),
    ({"name": ""}, "name must be"),
    ({"name": "x" * 65}, "name must be"),
])
def test_hello_refuses_what_it_cannot_use(net, bad, match) -> None:  # type: ignore[no-untyped-def]
    _, client, _, _ = net
    fields = {"protocol": PROTOCOL, "name": "w", "memory": GIB, "keys": [KEYS[SEGMENT]], **bad}
    refused(lambda: client.call("prover_hello", fields), match=match)


@pytest.mark.parametrize("method", ["prover_getJob", "prover_getInputs", "prover_getProof", "prover_heartbeat",
                                    "prover_submitProof"])
def test_every_worker_method_refuses_an_unknown_worker_a_wrong_token_and_bad_params(net, method) -> None:  # type: ignore[no-untyped-def]
    _, client, _, _ = net
    session = hello(client)
    fields = {"inputsHash": "0x" + "00" * 32, "job": "0x" + "00" * 32, "leaseId": "0x1", "proof": ["0x" + "00" * 32]}
    refused(lambda: client.call(method, {"workerId": "0x" + "ab" * 16, "token": session["token"], **fields}),
            "UNKNOWN_WORKER")
    refused(lambda: client.call(method, {"workerId": session["workerId"], "token": "0" * 64, **fields}),
            "UNKNOWN_WORKER")
    refused(lambda: client.call(method, "not an object"), match="one object parameter")
    refused(lambda: client.call(method), match="one object parameter")


def test_jobs_go_only_to_workers_with_the_memory_and_the_key(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    offer(coordinator, 1, memory=8 * GIB)
    small = hello(client, "small", 4 * GIB)
    wrong_key = hello(client, "wrong-key", 16 * GIB, keys=[KEYS[MERGE]])
    big = hello(client, "big", 16 * GIB)
    assert client.call("prover_getJob", auth(small)) is None
    assert client.call("prover_getJob", auth(wrong_key)) is None
    assert client.call("prover_getJob", auth(big)) is not None


@pytest.mark.parametrize("lie", ["garbage", "other-job", "other-key", "short"])
def test_an_invalid_proof_is_refused_and_its_worker_suspended_and_its_jobs_reoffered(net, lie) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    leaves, _, futures = offer(coordinator, 2)
    liar = hello(client, "liar")
    first = client.call("prover_getJob", auth(liar))
    second = client.call("prover_getJob", auth(liar))
    job = next(j for j in leaves if j.id == first["job"]["id"])
    other = next(j for j in leaves if j.id != job.id)
    honest = SYSTEM.prove(job, {}, [], "liar")
    words, key = list(honest.words), honest.key
    if lie == "garbage":
        words = ["0x" + "5a" * 32] * len(words)
    elif lie == "other-job":
        words = list(SYSTEM.prove(other, {}, [], "liar").words)
    elif lie == "other-key":
        key = KEYS[MERGE]
    else:
        words = words[:3]
    refused(lambda: client.call("prover_submitProof", auth(liar, leaseId=first["leaseId"], job=job.id,
                                                           proof=words, key=key)), "PROOF_REFUSED", "suspended")
    refused(lambda: client.call("prover_getJob", auth(liar)), "SUSPENDED")
    # both its leases are given back: each attempt fails and the scheduler hands the job out again
    for future in futures:
        with pytest.raises(WorkerSuspendedError):
            future.result(1)
    assert second is not None
    assert coordinator.status([{}])["suspended"] == 1


def test_a_proof_for_the_wrong_job_id_oversized_or_malformed_is_refused_without_suspension(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, url = net
    leaves, _, futures = offer(coordinator, 2)
    session = hello(client)
    lease = client.call("prover_getJob", auth(session))
    other = next(j for j in leaves if j.id != lease["job"]["id"])
    word = "0x" + "00" * 32
    refused(lambda: client.call("prover_submitProof", auth(session, leaseId=lease["leaseId"], job=other.id,
                                                           proof=[word])), match="the lease is for job")
    refused(lambda: client.call("prover_submitProof", auth(session, leaseId=lease["leaseId"], job=lease["job"]["id"],
                                                           proof=[word] * 4097)), match="1 to 4096 words")
    refused(lambda: client.call("prover_submitProof", auth(session, leaseId=lease["leaseId"], job=lease["job"]["id"],
                                                           proof="0x00")), match="list of")
    refused(lambda: client.call("prover_getInputs", auth(session, inputsHash=other.inputs_hash)), match="no lease")
    refused(lambda: client.call("prover_getProof", auth(session, job=other.id)), match="no lease")
    # garbage on the wire and an oversized body: clear errors, the coordinator still answers
    for body in (b"{not json", b"[]", orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "prover_submitProof",
                                                     "params": [{"proof": ["0x" + "11" * 32] * 200_000}]})):
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            assert exc.code in (400, 413)
            continue
        assert "error" in (answer if isinstance(answer, dict) else answer[0])
    assert client.call("prover_status", {})["suspended"] == 0
    assert not futures[0].done() or not futures[1].done()


def test_a_lease_without_heartbeats_runs_out_and_its_attempt_fails(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, clock, _ = net
    leaves, _, futures = offer(coordinator, 1)
    session = hello(client)
    lease = client.call("prover_getJob", auth(session))
    client.call("prover_getInputs", auth(session, inputsHash=leaves[0].inputs_hash))  # taken up: a whole lease
    clock.now += 7
    client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"]))
    clock.now += 7  # 14 s after the lease, 7 after the heartbeat: still held
    assert coordinator.status([{}])["leases"] == 1
    clock.now += 11
    coordinator.capacity()  # the scheduler asks this every tick; it is also where leases run out
    with pytest.raises(LeaseExpired):
        futures[0].result(1)
    proof = SYSTEM.prove(leaves[0], {}, [], "w")
    refused(lambda: client.call("prover_submitProof", auth(session, leaseId=lease["leaseId"], job=leaves[0].id,
                                                           proof=list(proof.words))), "LEASE_GONE")
    refused(lambda: client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"])), "LEASE_GONE")


def test_a_lease_never_taken_up_runs_out_after_a_heartbeat_interval(net) -> None:  # type: ignore[no-untyped-def]
    """The getJob answer was lost (the worker died as it was sent, a proxy dropped the long poll):
    the job is offered again a third of a lease later, not a whole lease later."""
    coordinator, client, clock, _ = net
    leaves, payloads, futures = offer(coordinator, 1)
    lost, other = hello(client), hello(client)
    assert client.call("prover_getJob", auth(lost))["job"]["id"] == leaves[0].id
    clock.now += 3.0  # within heartbeatSeconds (10 / 3)
    coordinator.capacity()
    assert not futures[0].done() and client.call("prover_getJob", auth(other)) is None
    clock.now += 0.5
    coordinator.capacity()
    with pytest.raises(LeaseExpired):
        futures[0].result(1)
    assert coordinator.counts.expired == 1
    # the scheduler offers the job again, and a worker that takes it up keeps it for a whole lease
    again = coordinator.submit(leaves[0], payloads[leaves[0].inputs_hash], [], 1)
    lease = client.call("prover_getJob", auth(other))
    client.call("prover_getInputs", auth(other, inputsHash=leaves[0].inputs_hash))
    clock.now += 9.0
    coordinator.capacity()
    assert not again.done() and coordinator.status([{}])["leases"] == 1, lease


def test_a_speculative_copy_the_first_valid_proof_wins_the_later_is_kept_a_replay_refused(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    leaves, payloads, futures = offer(coordinator, 1)
    job = leaves[0]
    copy = coordinator.submit(job, payloads[job.inputs_hash], [], 1)  # the scheduler's speculative copy
    slow, fast, thief = hello(client, "slow"), hello(client, "fast"), hello(client, "thief")
    slow_lease = client.call("prover_getJob", auth(slow))
    assert client.call("prover_getJob", auth(slow)) is None  # never two leases of one job to one worker
    fast_lease = client.call("prover_getJob", auth(fast))
    assert fast_lease["job"]["id"] == job.id
    proof = SYSTEM.prove(job, {}, [], "fast")
    submit = auth(fast, leaseId=fast_lease["leaseId"], job=job.id, proof=list(proof.words))
    assert client.call("prover_submitProof", submit)["status"] == "accepted"
    assert copy.result(1).prover == "fast"
    coordinator.cancel(futures[0])  # what the scheduler does once one attempt has won
    # a replay of the winning proof is refused; the slow worker's own valid proof counts, as a later one
    refused(lambda: client.call("prover_submitProof", auth(slow, leaseId=slow_lease["leaseId"], job=job.id,
                                                           proof=list(proof.words))), "PROOF_REFUSED", "replay")
    slow_proof = SYSTEM.prove(job, {}, [], "slow")
    assert slow_proof.words != proof.words
    answer = client.call("prover_submitProof", auth(slow, leaseId=slow_lease["leaseId"], job=job.id,
                                                    proof=list(slow_proof.words)))
    assert answer["status"] == "later"
    assert [p.prover for p in coordinator.store.later(job.id)] == ["slow"]
    assert coordinator.store.proof(job.id) is None  # only the scheduler files the winning proof
    # a third copy's heartbeat learns the job is proven, and its lease ends there (its work stops)
    third = coordinator.submit(job, payloads[job.inputs_hash], [], 2)
    other = hello(client, "other")
    other_lease = client.call("prover_getJob", auth(other))
    coordinator.cancel(third)
    assert client.call("prover_heartbeat", auth(other, leaseId=other_lease["leaseId"]))["proven"] is True
    refused(lambda: client.call("prover_heartbeat", auth(other, leaseId=other_lease["leaseId"])), "LEASE_GONE")
    # a thief with no lease cannot hand in someone else's proof
    refused(lambda: client.call("prover_submitProof", auth(thief, leaseId=fast_lease["leaseId"], job=job.id,
                                                           proof=list(proof.words))), "LEASE_GONE")


def test_slow_verification_does_not_hold_the_loop_others_need(tmp_path) -> None:  # type: ignore[no-untyped-def]
    class SlowVerify(SimulatedProofs):
        def verify(self, job, proof):  # type: ignore[no-untyped-def]
            release.wait(10)
            return super().verify(job, proof)

    release = threading.Event()
    system = SlowVerify(0.0, 0.0)
    coordinator = ProofCoordinator(JobStore(tmp_path), system, lease_s=30.0)
    server = serve_coordinator(coordinator)
    try:
        client = RpcClient(server.url, timeout=10)
        payloads: dict = {}
        job = payload_job(SEGMENT, KEYS[SEGMENT], (0, 1), {"i": 0}, payloads)
        future = coordinator.submit(job, payloads[job.inputs_hash], [], 0)
        session = hello(client)
        lease = client.call("prover_getJob", auth(session))
        proof = system.prove(job, {}, [], "w")
        done = threading.Thread(target=client.call, args=("prover_submitProof", auth(
            session, leaseId=lease["leaseId"], job=job.id, proof=list(proof.words))))
        done.start()
        other = hello(client, "other")  # answered while the first submission is being checked
        assert client.call("prover_getJob", auth(other)) is None
        assert not future.done()
        release.set()
        done.join(10)
        assert future.result(5).words == proof.words
    finally:
        release.set()
        coordinator.close()
        server.stop()


def _in_thread(call):  # type: ignore[no-untyped-def]
    """Run `call` on a thread; returns (thread, box) where box gets "result"/"error" and "seconds"."""
    box: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            box["result"] = call()
        except Exception as exc:  # noqa: BLE001 - the test reads it
            box["error"] = exc
        box["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_get_job_long_polls_until_a_job_it_can_take_is_offered(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    session = hello(client)
    thread, box = _in_thread(lambda: client.call("prover_getJob", auth(session, waitSeconds=5)))
    time.sleep(0.2)
    offer(coordinator, 1, memory=8 * GIB)  # too big for this worker: no wake-up into a lease
    time.sleep(0.3)
    assert thread.is_alive()
    leaves, _, _ = offer(coordinator, 1)
    thread.join(5)
    assert box["result"]["job"]["id"] == leaves[0].id
    assert 0.5 <= box["seconds"] < 2.0, box  # answered on the offer, not at the end of the wait


def test_get_job_without_an_offer_answers_null_at_the_end_of_its_wait_capped_at_half_a_lease(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    session = hello(client)
    started = time.monotonic()
    assert client.call("prover_getJob", auth(session, waitSeconds=0.4)) is None
    assert 0.35 <= time.monotonic() - started < 2.0
    assert coordinator._wait_seconds([{"waitSeconds": 10_000}], "prover_getJob") == 5.0  # lease 10 s


@pytest.mark.parametrize("method", ["prover_getJob", "prover_heartbeat"])
@pytest.mark.parametrize("wait", ["5", -1, True, [1], {"s": 1}])
def test_a_bad_wait_is_refused(net, method, wait) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    _, session, lease = leased(coordinator, client)
    refused(lambda: client.call(method, auth(session, leaseId=lease["leaseId"], waitSeconds=wait)),
            match="waitSeconds")
    assert client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"]))["proven"] is False


def test_waiting_workers_hold_no_thread_and_no_one_else_up(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, url = net
    sessions = [hello(client, f"w{i}") for i in range(24)]  # more waiters than the server has threads
    waiting = [_in_thread(lambda s=s: client.call("prover_getJob", auth(s, waitSeconds=3))) for s in sessions]
    time.sleep(0.3)
    started = time.monotonic()
    assert client.call("prover_status")["workers"] == 24
    late = hello(client, "late")
    assert client.call("prover_getJob", auth(late)) is None
    assert time.monotonic() - started < 1.0
    leaves, _, _ = offer(coordinator, 2)
    for thread, _ in waiting:
        thread.join(5)
    results = [box.get("result") for _, box in waiting]
    assert all("error" not in box for _, box in waiting)
    assert sorted(r["job"]["id"] for r in results if r) == sorted(job.id for job in leaves)  # each job once


def test_a_long_poll_in_a_batch_answers_at_once(net) -> None:  # type: ignore[no-untyped-def]
    _, client, _, url = net
    session = hello(client)
    body = orjson.dumps([{"jsonrpc": "2.0", "id": 1, "method": "prover_getJob",
                          "params": [auth(session, waitSeconds=5)]}])
    started = time.monotonic()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = orjson.loads(response.read())
    assert answer == [{"jsonrpc": "2.0", "id": 1, "result": None}]
    assert time.monotonic() - started < 1.0


def test_a_waiting_heartbeat_says_proven_as_soon_as_another_attempt_wins(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, _ = net
    futures, session, lease = leased(coordinator, client)
    thread, box = _in_thread(lambda: client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"],
                                                                          waitSeconds=5)))
    time.sleep(0.3)
    assert thread.is_alive()  # nothing happened: the heartbeat waits
    coordinator.cancel(futures[0])  # the scheduler's move once a rival attempt's proof is accepted
    thread.join(5)
    assert box["result"]["proven"] is True and box["seconds"] < 2.0, box
    refused(lambda: client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"])), "LEASE_GONE")


def test_a_waiting_heartbeat_without_news_keeps_the_lease(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, clock, _ = net
    futures, session, lease = leased(coordinator, client)
    clock.now += 9.0
    assert client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"], waitSeconds=0.3)) == \
        {"leaseSeconds": 10.0, "proven": False}
    clock.now += 9.0  # 18 s after the lease began, 9 after the heartbeat: still held
    assert client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"]))["proven"] is False
    assert not futures[0].done()


def test_a_worker_that_hangs_up_mid_heartbeat_loses_its_lease_at_once(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, client, _, url = net  # the fake clock never moves: no lease can run out on its own
    futures, session, lease = leased(coordinator, client)
    body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "prover_heartbeat",
                         "params": [auth(session, leaseId=lease["leaseId"], waitSeconds=5)]})
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(0.3)
        assert not futures[0].done()  # waiting, the lease held
    with pytest.raises(LeaseExpired, match="hung up"):
        futures[0].result(2)
    assert coordinator.counts.dropped == 1 and coordinator.counts.expired == 0
    refused(lambda: client.call("prover_heartbeat", auth(session, leaseId=lease["leaseId"])), "LEASE_GONE")


def test_a_killed_worker_process_loses_its_lease_at_once(net) -> None:  # type: ignore[no-untyped-def]
    coordinator, _, _, url = net
    _, _, futures = offer(coordinator, 1)
    worker = subprocess.Popen([sys.executable, "-m", "linen.cli", "prover", "worker", "--coordinator", url,
                               "--simulate", "30:30", "--name", "doomed"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while coordinator.status([{}])["leases"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert coordinator.status([{}])["leases"] == 1, "the worker never took the job"
        time.sleep(0.5)  # proving, its heartbeat waiting on the coordinator
        worker.kill()
        killed = time.monotonic()
        with pytest.raises(LeaseExpired):
            futures[0].result(5)
        assert time.monotonic() - killed < 2.0  # not the 10 s lease
    finally:
        worker.kill()
        worker.wait(10)
