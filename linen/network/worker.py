"""An independent prover: pulls jobs from a proof coordinator, proves them, submits (`linen prover worker`).

The loop: say hello (memory, the keys of the circuits this machine proves), then pull; with a lease,
fetch the payload by hash (checked against the hash) and the children's proofs, prove while a
heartbeat thread keeps the lease, and submit. Without a job it waits `poll_s`. If the coordinator
forgets it (a restart: `UNKNOWN_WORKER`) it says hello again; if it is unreachable it retries with
back-off; if it is suspended it stops. A fault plan (tests and benchmarks only) makes it misbehave.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

from linen.network.coordinator import PROTOCOL
from linen.network.executors import prove_attempt
from linen.network.faults import FaultPlan
from linen.network.jobs import Job, JobProof, canonical_hash
from linen.network.proofs import make_system
from linen.rpc.client import RpcCallFailed, RpcClient, RpcUnreachable
from linen.zk.tool_process import cancel_on

log = logging.getLogger("linen.network.worker")


@dataclass
class WorkerReport:
    jobs: int = 0
    accepted: int = 0
    later: int = 0
    refused: int = 0
    errors: int = 0
    stopped_because: str = ""


class RemoteWorker:
    def __init__(self, url: str, spec: dict, memory: int, name: str, faults: FaultPlan | None = None,
                 poll_s: float = 0.05, timeout_s: float = 60.0, wait_s: float = 5.0) -> None:
        self.client = RpcClient(url, timeout=timeout_s)
        self.spec = spec
        self.memory = memory
        self.name = name
        self.faults = faults or FaultPlan()
        self.poll_s = poll_s
        self.wait_s = wait_s  # getJob long-polls this long (the coordinator caps it at half a lease)
        self.report = WorkerReport()
        self._session: dict | None = None
        self._attempts = 0
        self._last: JobProof | None = None

    def _auth(self, **fields: object) -> dict:
        assert self._session is not None
        return {"workerId": self._session["workerId"], "token": self._session["token"], **fields}

    def hello(self) -> dict:
        keys = sorted(set(make_system(self.spec).keys().values()))
        self._session = self.client.call("prover_hello", {"protocol": PROTOCOL, "name": self.name,
                                                          "memory": self.memory, "keys": keys})
        return self._session

    def run(self, stop: threading.Event | None = None, max_jobs: int | None = None) -> WorkerReport:
        stop = stop or threading.Event()
        backoff = self.poll_s
        while not stop.is_set() and (max_jobs is None or self.report.jobs < max_jobs):
            try:
                if self._session is None:
                    self.hello()
                if not self.step():
                    stop.wait(self.poll_s)
                backoff = self.poll_s
            except RpcCallFailed as exc:
                if exc.data == "UNKNOWN_WORKER":
                    self._session = None
                    continue
                if exc.data == "SUSPENDED":
                    self.report.stopped_because = str(exc)
                    break
                self.report.errors += 1
                log.info("%s: %s", self.name, exc)
                stop.wait(backoff)
            except RpcUnreachable as exc:
                self.report.errors += 1
                log.info("%s: coordinator unreachable: %s", self.name, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
        return self.report

    def step(self) -> bool:
        """Pull, prove and submit one job; False if none was on offer."""
        lease = self.client.call("prover_getJob", self._auth(waitSeconds=self.wait_s))
        if lease is None:
            return False
        job = Job.from_json(lease["job"])
        payload = self.client.call("prover_getInputs", self._auth(inputsHash=job.inputs_hash))
        if canonical_hash(payload) != job.inputs_hash:
            raise RpcCallFailed("prover_getInputs", "the payload does not hash to the job's inputs hash")
        children = []
        for child_id in job.children:
            got = self.client.call("prover_getProof", self._auth(job=child_id))
            children.append((Job.from_json(got["job"]), JobProof.from_json(got["proof"])))
        self.report.jobs += 1
        self._attempts += 1
        attempt = self._attempts
        # a hang is a machine that stops answering: no heartbeats either, so its lease runs out
        frozen = self.faults.draw(job.id, attempt, self.name) == "hang"
        outcome: dict = {}
        done = threading.Event()
        settled = threading.Event()  # the proof is made, or the lease is lost
        give_up = threading.Event()

        def prove() -> None:
            try:
                with cancel_on(give_up):  # its bb is killed the moment the attempt is given up
                    outcome["proof"] = prove_attempt(self.spec, self.faults, self.name, job, payload, children,
                                                     attempt, self._last)
            except Exception as exc:  # reported below, like a refusal
                outcome["error"] = exc
            done.set()
            settled.set()

        threading.Thread(target=prove, name=f"{self.name}-prove", daemon=True).start()
        if frozen:  # silent past its lease, then back as if rebooted: the job is lost, the worker pulls again
            time.sleep(2 * float(lease.get("leaseSeconds", 30.0)))
            self.report.errors += 1
            return True
        if not self._heartbeat_until(lease, done, settled):
            give_up.set()  # the cores go to the next job, not to a proof nobody wants
            log.info("%s: job %s was proven by another worker or its lease is gone: dropped", self.name,
                     job.id[:10])
            self.report.refused += 1
            return True
        if "error" in outcome:
            raise RpcCallFailed("prove", str(outcome["error"]))
        proof = outcome["proof"]
        self._last = proof
        try:
            answer = self.client.call("prover_submitProof", self._auth(leaseId=lease["leaseId"], job=job.id,
                                                                       proof=list(proof.words), key=proof.key))
        except RpcCallFailed as exc:
            if exc.data in ("PROOF_REFUSED", "LEASE_GONE"):
                self.report.refused += 1
                log.info("%s: %s", self.name, exc)
                return True
            raise
        if answer.get("status") == "accepted":
            self.report.accepted += 1
        else:
            self.report.later += 1
        return True

    def _heartbeat_until(self, lease: dict, done: threading.Event, settled: threading.Event) -> bool:
        """Keep the lease while the proof is made; False as soon as the coordinator says the job is
        proven already or the lease is gone (the attempt is then dropped: its time would be wasted).

        Each heartbeat long-polls (`waitSeconds`), so the coordinator's "proven" comes the moment
        another attempt wins, not a third of a lease later; the calls run on a thread of their own
        while this one waits for whichever comes first."""
        every = float(lease.get("leaseSeconds", 30.0)) / 3
        jitter = random.Random(self.name).uniform(0.9, 1.1)
        dropped = threading.Event()

        def beat() -> None:
            while not done.is_set():
                started = time.monotonic()
                try:
                    answer = self.client.call("prover_heartbeat", self._auth(leaseId=lease["leaseId"],
                                                                             waitSeconds=every * jitter))
                except RpcCallFailed as exc:
                    if exc.data in ("LEASE_GONE", "UNKNOWN_WORKER", "SUSPENDED"):  # the lease is not ours any more
                        if exc.data == "UNKNOWN_WORKER":
                            self._session = None  # the coordinator restarted: say hello again
                        break
                    log.info("%s: heartbeat: %s", self.name, exc)
                    answer = {}
                except RpcUnreachable as exc:  # the submit will say what became of the lease
                    log.info("%s: heartbeat: %s", self.name, exc)
                    answer = {}
                if answer.get("proven"):
                    break
                # a coordinator that answers at once (an error, or no long poll) is not asked in a loop
                done.wait(max(0.0, every * jitter - (time.monotonic() - started)))
            else:
                return
            dropped.set()
            settled.set()

        threading.Thread(target=beat, name=f"{self.name}-heartbeat", daemon=True).start()
        settled.wait()  # set by the proof's thread when it ends, or above when the lease is lost
        return not dropped.is_set()


def parse_memory(text: str) -> int:
    """`4GiB`, `512MiB`, `2GB`, or bytes."""
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "kb": 10**3, "mb": 10**6, "gb": 10**9,
             "tb": 10**12, "b": 1}
    lowered = text.strip().lower()
    for unit, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if lowered.endswith(unit):
            return int(float(lowered[: -len(unit)]) * factor)
    return int(lowered)


