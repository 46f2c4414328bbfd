"""The proof coordinator: independent provers pull jobs from it over JSON-RPC (docs/prover-protocol.md).

It is an executor of the proof scheduler: `submit` puts an attempt on offer, and the attempt's
future is settled by what the workers do. A worker says hello (its memory and the keys of the
circuits it can prove), then pulls: it is given the oldest offer it can hold (the job's memory at
most its own, the job's key among its keys, not a job it already holds a lease of) with a lease
that ends unless it sends heartbeats. It fetches the payload by hash and the children's proofs by
job id, proves, and submits. The coordinator checks the proof at once: a valid one settles the
attempt (the scheduler checks it again before the store or a parent sees it); an invalid one is
refused and its worker suspended, and every lease the worker held goes back on offer. A lease that
runs out fails its attempt (`LeaseExpired`), which the scheduler hands out again; a straggler's
job is offered a second time by the scheduler's speculation, and the first valid proof wins. A
later valid proof of a job already proven is kept (`JobStore.later`) for a market to pay a
consolation; a proof identical to one already received is a replay and refused.

Every refusal is an `InvalidInput` whose message says what was wrong; nothing a worker sends can
stop the coordinator. State is in memory apart from the store: after a restart, workers say hello
again and the scheduler re-offers what it still needs.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from linen.errors import InvalidInput, InvalidParams, LimitExceeded, ResourceNotFound
from linen.network.jobs import Job, JobProof, JobStore, canonical_hash
from linen.network.proofs import ProofSystem
from linen.rpc.waiting import WaitingHandler

PROTOCOL = "linen-prover/1"
MAX_PROOF_WORDS = 4096
MAX_KEYS = 64
MAX_NAME = 64
MAX_WORKERS = 10_000
MAX_WAIT_S = 10.0  # the longest a long poll is held, also capped at half a lease
MAX_WAITERS = 2 * MAX_WORKERS  # long polls held at once; past that they answer at once


class Suspended(InvalidInput):
    code = -32010
    rpc_data = "SUSPENDED"


class UnknownWorker(InvalidInput):
    code = -32011
    rpc_data = "UNKNOWN_WORKER"


class LeaseGone(InvalidInput):
    code = -32012
    rpc_data = "LEASE_GONE"


class ProofRefused(InvalidInput):
    code = -32013
    rpc_data = "PROOF_REFUSED"


class LeaseExpired(RuntimeError):
    """The worker holding the attempt's lease stopped answering."""


class WorkerSuspendedError(RuntimeError):
    """The attempt's worker was suspended (it sent an invalid proof)."""


@dataclass
class _Worker:
    id: str
    token: str
    name: str
    memory: int
    keys: frozenset[str]
    last_seen: float
    suspended: str | None = None
    accepted: int = 0
    refused: int = 0


@dataclass
class _Offer:
    future: Future
    job: Job
    payload: dict
    children: list[tuple[Job, JobProof]]
    attempt: int
    lease: str | None = None


@dataclass
class _Lease:
    id: str
    offer: _Offer
    worker: str
    deadline: float
    started: float
    last_beat: float = 0.0  # when the worker last showed it was working on it
    # until the worker's first call under it (inputs, a child proof, a heartbeat) the lease lasts a
    # heartbeat interval: an answer lost on its way (a dead worker, a proxy dropping a long poll)
    # then holds the job a third of a lease, not a whole one
    acknowledged: bool = False


@dataclass
class CoordinatorCounts:
    hellos: int = 0
    leases: int = 0
    expired: int = 0
    dropped: int = 0  # leases ended because the worker hung up mid-heartbeat
    accepted: int = 0
    later: int = 0
    refused: int = 0
    suspended: int = 0
    work_s: float = 0.0  # seconds workers held leases: every attempt's time, wasted ones included
    per_worker_refusals: dict[str, str] = field(default_factory=dict)


def _object(params: Any, method: str) -> dict:
    if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
        raise InvalidParams(f"{method} takes one object parameter")
    return params[0]


def _string(obj: dict, name: str, limit: int = 128) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidParams(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _set_from_any_thread(loop: asyncio.AbstractEventLoop, event: asyncio.Event, *_: object) -> None:
    """Wake a long poll on the server's loop from the scheduler's or a verifier's thread."""
    try:
        loop.call_soon_threadsafe(event.set)
    except RuntimeError:  # the server's loop is closed: nobody is waiting any more
        pass


class ProofCoordinator:
    def __init__(self, store: JobStore, system: ProofSystem, lease_s: float = 30.0, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.store = store
        self.system = system
        self.lease_s = lease_s
        self.clock = clock
        self.counts = CoordinatorCounts()
        self._lock = threading.RLock()
        self._workers: dict[str, _Worker] = {}
        self._offers: list[_Offer] = []
        self._leases: dict[str, _Lease] = {}
        self._seen_proofs: set[tuple[str, str]] = set()  # (job id, hash of the words): replays are refused
        self._wakers: set = set()  # the long-polling getJobs' wake-up calls, run when a job is offered

    # -- the executor side (the scheduler) --------------------------------------------------------------

    def capacity(self) -> int:
        with self._lock:
            self._expire()
            now = self.clock()
            live = sum(1 for w in self._workers.values()
                       if w.suspended is None and now - w.last_seen <= self.lease_s)
            return max(1, live)

    def submit(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], attempt: int) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        future.started_at = None  # type: ignore[attr-defined]  # set when a worker takes a lease of it
        with self._lock:
            self._offers.append(_Offer(future, job, payload, list(children), attempt))
            for wake in list(self._wakers):
                wake()
        return future

    def cancel(self, future: Future) -> None:
        with self._lock:  # a lease of it stays until it runs out: a valid proof under it is kept as `later`
            self._offers = [o for o in self._offers if o.future is not future]
        if not future.done():
            future.set_exception(LeaseGone("cancelled: another attempt proved the job"))

    def close(self) -> None:
        with self._lock:
            for offer in self._offers:
                if not offer.future.done():
                    offer.future.set_exception(RuntimeError("the coordinator closed"))
            self._offers.clear()
            self._leases.clear()

    # -- leases -----------------------------------------------------------------------------------------

    @property
    def heartbeat_s(self) -> float:
        return self.lease_s / 3

    def _acknowledge(self, lease: _Lease) -> None:
        if not lease.acknowledged:
            lease.acknowledged = True
            lease.deadline = max(lease.deadline, self.clock() + self.lease_s)

    def _expire(self) -> None:
        now = self.clock()
        for lease_id, lease in list(self._leases.items()):
            if now > lease.deadline:
                del self._leases[lease_id]
                self.counts.expired += 1
                # a silent worker's time past its last heartbeat is downtime, not work
                self.counts.work_s += max(lease.last_beat, lease.started) - lease.started
                if not lease.offer.future.done():
                    lease.offer.future.set_exception(
                        LeaseExpired(f"worker {self._workers[lease.worker].name} stopped answering"))

    def _worker(self, obj: dict) -> _Worker:
        worker_id = _string(obj, "workerId")
        token = _string(obj, "token")
        worker = self._workers.get(worker_id)
        if worker is None or not hmac.compare_digest(worker.token, token):
            raise UnknownWorker("unknown worker or wrong token: say prover_hello first")
        if worker.suspended is not None:
            raise Suspended(f"this worker is suspended: {worker.suspended}")
        worker.last_seen = self.clock()
        return worker

    def _lease(self, obj: dict, worker: _Worker) -> _Lease:
        lease_id = _string(obj, "leaseId")
        lease = self._leases.get(lease_id)
        if lease is None or lease.worker != worker.id:
            raise LeaseGone("no such lease of this worker: it ran out, was cancelled or was never given")
        return lease

    def _suspend(self, worker: _Worker, reason: str) -> None:
        worker.suspended = reason
        self.counts.suspended += 1
        self.counts.per_worker_refusals[worker.name] = reason
        for lease_id, lease in list(self._leases.items()):
            if lease.worker == worker.id:
                del self._leases[lease_id]
                self.counts.work_s += self.clock() - lease.started
                if not lease.offer.future.done():
                    lease.offer.future.set_exception(WorkerSuspendedError(f"worker {worker.name}: {reason}"))

    # -- the protocol (each a JSON-RPC handler body) ----------------------------------------------------

    def hello(self, params: Any) -> dict:
        obj = _object(params, "prover_hello")
        if obj.get("protocol") != PROTOCOL:
            raise InvalidParams(f"protocol must be {PROTOCOL!r}")
        name = _string(obj, "name", MAX_NAME)
        memory = obj.get("memory")
        if not isinstance(memory, int) or isinstance(memory, bool) or not 0 < memory < 2**50:
            raise InvalidParams("memory must be a positive number of bytes")
        keys = obj.get("keys")
        if (not isinstance(keys, list) or not 0 < len(keys) <= MAX_KEYS
                or not all(isinstance(k, str) and len(k) == 66 and k.startswith("0x") for k in keys)):
            raise InvalidParams(f"keys must be 1 to {MAX_KEYS} 0x-prefixed 32-byte vk hashes")
        with self._lock:
            if len(self._workers) >= MAX_WORKERS:
                self._forget_idle()
                if len(self._workers) >= MAX_WORKERS:
                    raise LimitExceeded("too many workers: try again later")
            worker = _Worker("0x" + secrets.token_hex(16), secrets.token_hex(32), name, memory,
                             frozenset(k.lower() for k in keys), self.clock())
            self._workers[worker.id] = worker
            self.counts.hellos += 1
        return {"protocol": PROTOCOL, "workerId": worker.id, "token": worker.token, "leaseSeconds": self.lease_s,
                "heartbeatSeconds": self.heartbeat_s}

    def _forget_idle(self) -> None:
        now = self.clock()
        held = {lease.worker for lease in self._leases.values()}
        for worker_id, worker in list(self._workers.items()):
            if worker_id not in held and worker.suspended is None and now - worker.last_seen > 10 * self.lease_s:
                del self._workers[worker_id]

    def get_job(self, params: Any) -> dict | None:
        obj = _object(params, "prover_getJob")
        self._wait_seconds(params, "prover_getJob")  # checked even where it is not waited for (a batch)
        with self._lock:
            worker = self._worker(obj)
            self._expire()
            holding = {lease.offer.job.id for lease in self._leases.values() if lease.worker == worker.id}
            for offer in self._offers:
                job = offer.job
                if (offer.future.done() or job.memory > worker.memory or job.key.lower() not in worker.keys
                        or job.id in holding):
                    continue
                self._offers.remove(offer)
                now = self.clock()
                lease = _Lease("0x" + secrets.token_hex(16), offer, worker.id, now + self.heartbeat_s, now)
                offer.lease = lease.id
                offer.future.started_at = time.monotonic()  # type: ignore[attr-defined]
                self._leases[lease.id] = lease
                self.counts.leases += 1
                return {"leaseId": lease.id, "leaseSeconds": self.lease_s, "job": job.to_json()}
        return None

    def get_inputs(self, params: Any) -> dict:
        obj = _object(params, "prover_getInputs")
        inputs_hash = _string(obj, "inputsHash")
        with self._lock:
            worker = self._worker(obj)
            leased = [lease for lease in self._leases.values()
                      if lease.worker == worker.id and lease.offer.job.inputs_hash == inputs_hash]
            for lease in leased:
                self._acknowledge(lease)
        if not leased:
            raise ResourceNotFound("no lease of this worker needs those inputs")
        return leased[0].offer.payload

    def get_proof(self, params: Any) -> dict:
        obj = _object(params, "prover_getProof")
        job_id = _string(obj, "job")
        with self._lock:
            worker = self._worker(obj)
            for lease in self._leases.values():
                if lease.worker == worker.id:
                    for child, proof in lease.offer.children:
                        if child.id == job_id:
                            self._acknowledge(lease)
                            return {"job": child.to_json(), "proof": proof.to_json()}
        raise ResourceNotFound("no lease of this worker has that child")

    def heartbeat(self, params: Any) -> dict:
        obj = _object(params, "prover_heartbeat")
        self._wait_seconds(params, "prover_heartbeat")
        with self._lock:
            worker = self._worker(obj)
            self._expire()
            lease = self._lease(obj, worker)
            proven = lease.offer.future.done()
            if proven:  # another attempt won: the worker drops this one, and its lease ends here
                del self._leases[lease.id]
                self.counts.work_s += self.clock() - lease.started
            else:
                lease.acknowledged = True
                lease.deadline = self.clock() + self.lease_s
                lease.last_beat = self.clock()
            return {"leaseSeconds": self.lease_s, "proven": proven}

    def submit_proof(self, params: Any) -> dict:
        """Check a worker's proof; it may take a while (a bb verify), so it runs off the event loop."""
        obj = _object(params, "prover_submitProof")
        raw = obj.get("proof")
        if not isinstance(raw, list) or not 0 < len(raw) <= MAX_PROOF_WORDS:
            raise InvalidParams(f"proof must be a list of 1 to {MAX_PROOF_WORDS} words")
        job_id = _string(obj, "job")
        with self._lock:
            worker = self._worker(obj)
            self._expire()
            lease = self._lease(obj, worker)
            job = lease.offer.job
            if job_id != job.id:
                raise InvalidParams(f"the lease is for job {job.id}, not {job_id}")
            key = obj.get("key", job.key)
            if not isinstance(key, str) or len(key) > 66:
                raise InvalidParams("key must be a 0x-prefixed 32-byte vk hash")
            proof = JobProof(job.id, tuple(raw), key, worker.name, float(self.clock() - lease.started))
            first = (job.id, canonical_hash(raw))
            if first in self._seen_proofs:
                self.counts.refused += 1
                raise ProofRefused("that proof was already submitted: a replay is not a proof")
        reason = self.system.verify(job, proof)
        with self._lock:
            if lease.id in self._leases:
                self.counts.work_s += self.clock() - lease.started
            if reason is not None:
                worker.refused += 1
                self.counts.refused += 1
                why = f"invalid proof of {job.kind} job {job.id}: {reason}"
                if self._leases.pop(lease.id, None) is not None and not lease.offer.future.done():
                    lease.offer.future.set_exception(WorkerSuspendedError(f"worker {worker.name}: {why}"))
                self._suspend(worker, why)
                raise ProofRefused(f"refused, and this worker is suspended: {reason}")
            self._seen_proofs.add(first)
            self._leases.pop(lease.id, None)
            worker.accepted += 1
            offer = lease.offer
            if offer.future.done() or self.store.proof(job.id) is not None:
                self.store.put_later(proof)  # a consolation for a valid proof that came second
                self.counts.later += 1
                return {"status": "later", "job": job.id}
            offer.future.set_result(proof)
            self.counts.accepted += 1
            return {"status": "accepted", "job": job.id}

    def status(self, params: Any) -> dict:
        with self._lock:
            self._expire()
            return {"protocol": PROTOCOL, "workers": len(self._workers),
                    "suspended": sum(1 for w in self._workers.values() if w.suspended),
                    "offers": len(self._offers), "leases": len(self._leases),
                    "counts": {k: v for k, v in vars(self.counts).items() if k != "per_worker_refusals"}}

    # -- long polls (on the server's event loop: a waiting worker holds no thread) ---------------------

    def _wait_seconds(self, params: Any, method: str) -> float:
        """The `waitSeconds` a worker asked for (0 if none), capped at MAX_WAIT_S and half a lease."""
        wait = _object(params, method).get("waitSeconds", 0)
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not math.isfinite(wait) or wait < 0:
            raise InvalidParams("waitSeconds must be a number of seconds, 0 or more")
        return min(float(wait), MAX_WAIT_S, self.lease_s / 2)

    async def get_job_waiting(self, params: Any) -> dict | None:
        """`prover_getJob` with `waitSeconds`: held open until a job this worker can take is offered."""
        wait = self._wait_seconds(params, "prover_getJob")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            woken = asyncio.Event()
            wake = partial(_set_from_any_thread, loop, woken)
            with self._lock:  # listening before looking, so an offer made in between is not missed
                crowded = len(self._wakers) >= MAX_WAITERS
                if not crowded:
                    self._wakers.add(wake)
            try:
                lease = self.get_job(params)
                left = deadline - loop.time()
                if lease is not None or left <= 0 or crowded:
                    return lease
                try:
                    await asyncio.wait_for(woken.wait(), left)
                except TimeoutError:
                    pass
            finally:
                with self._lock:
                    self._wakers.discard(wake)

    async def heartbeat_waiting(self, params: Any) -> dict:
        """`prover_heartbeat` with `waitSeconds`: renews the lease, then answers as soon as the job is
        proven by another attempt (so the worker stops at once) or the wait is over."""
        answer = self.heartbeat(params)
        wait = self._wait_seconds(params, "prover_heartbeat")
        if answer["proven"] or wait <= 0:
            return answer
        with self._lock:
            lease = self._leases.get(params[0]["leaseId"])
        if lease is None:
            return answer
        settled = asyncio.Event()
        lease.offer.future.add_done_callback(partial(_set_from_any_thread, asyncio.get_running_loop(), settled))
        try:
            await asyncio.wait_for(settled.wait(), wait)
        except TimeoutError:
            return answer
        except asyncio.CancelledError:  # the server cancels a request whose client hung up
            self._connection_lost(lease)
            raise
        return self.heartbeat(params)  # proven: this ends the lease and counts its time

    def _connection_lost(self, lease: _Lease) -> None:
        """A worker hung up in the middle of a heartbeat: its process is gone (a crash, an OOM kill,
        a stop), so the attempt fails now instead of when the lease would run out. A machine that
        just goes silent (power, network) closes nothing and is found by the lease's end."""
        with self._lock:
            if self._leases.pop(lease.id, None) is None:
                return
            self.counts.dropped += 1
            self.counts.work_s += self.clock() - lease.started
            if not lease.offer.future.done():
                name = self._workers[lease.worker].name if lease.worker in self._workers else lease.worker
                lease.offer.future.set_exception(LeaseExpired(f"worker {name} hung up mid-job"))

    def registry(self) -> dict:
        """The JSON-RPC methods as `(backend, params)` handlers for `RpcServer`; `prover_getJob` and
        `prover_heartbeat` may long-poll (`waitSeconds`)."""
        methods = {"prover_hello": self.hello, "prover_getJob": self.get_job, "prover_getInputs": self.get_inputs,
                   "prover_getProof": self.get_proof, "prover_heartbeat": self.heartbeat,
                   "prover_submitProof": self.submit_proof, "prover_status": self.status}
        registry: dict = {name: (lambda _backend, params, h=handler: h(params)) for name, handler in methods.items()}
        for name, waiting in (("prover_getJob", self.get_job_waiting), ("prover_heartbeat", self.heartbeat_waiting)):
            registry[name] = WaitingHandler(registry[name], lambda _backend, params, w=waiting: w(params))
        return registry
