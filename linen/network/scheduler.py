"""The proof scheduler: runs a proof tree's jobs on an executor, checks every proof, keeps the good ones.

`ProofScheduler.prove(dag)` first takes every job whose proof is already in the store (and still
verifies): a restarted scheduler never proves a job twice. It then hands the executor every job
whose children are proven, as many at a time as the executor has room for, and reads back attempts
as they end. An attempt that fails (the worker crashed, timed out, or answered garbage) or yields a
proof `verify` refuses is counted and the job is handed out again. A job still running past its
kind's straggler deadline (`Speculation`) gets one speculative copy when there is room; the first
valid proof wins and the other attempt is cancelled. Nothing reaches the store, or a parent job,
before `verify` accepts it.

Executors (`linen.network.executors`, `linen.network.coordinator`) differ only in where an attempt
runs: `submit(job, payload, children, attempt)` returns a `concurrent.futures.Future` of its proof.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import NoReturn, Protocol

from linen.errors import InvalidInput
from linen.network.jobs import Job, JobProof, JobStore, ProofDag
from linen.network.proofs import ProofSystem

log = logging.getLogger("linen.network.scheduler")
TICK_S = 0.05


class JobFailed(InvalidInput):
    """A job failed more times than the scheduler allows, or its circuit refuses its inputs: the
    tree cannot be finished."""


class Executor(Protocol):
    def capacity(self) -> int:
        """How many attempts it can run at once now."""

    def submit(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], attempt: int) -> Future:
        """Start an attempt at `job`; the future's result is a `JobProof` (not yet verified)."""

    def cancel(self, future: Future) -> None:
        """Stop an attempt whose result is no longer wanted."""

    def close(self) -> None: ...


@dataclass
class Speculation:
    """When a running attempt is a straggler: past `factor` times the `quantile` of its kind's measured
    times (`prior` seconds until `min_samples` are measured); it gets a copy. Past `abandon` times
    that (`abandon_on_prior` while it rests on the prior), it is given up (cancelled and counted
    failed) even without room for a copy: a hung worker never holds a job for ever. Each attempt
    of a job given up doubles that allowance for the job's next ones, so a prior that is too short
    costs a few tries, not the tree. `factor` 0 turns both off."""

    quantile: float = 0.9
    factor: float = 1.5
    # given up at the deadline (1.5 x the 90th percentile): 10 runs each at q = 0.2, with workers
    # told at once (long-polled heartbeats), gave x1.40 latency and x1.21 work at 1.0 against x1.53
    # and x1.27 at 2.0; a 10x-slow attempt then frees its worker at a seventh of its run
    abandon: float = 1.0
    # until `min_samples` attempts of a kind are measured the deadline rests on a guess (`prior`),
    # so an attempt is given up only past this many deadlines (a real segment's prior is 30 s, and
    # bb takes ~50 s on a 2-core machine)
    abandon_on_prior: float = 2.0
    # a copy is only ever made on a worker with nothing else to do (no job is ready), so once the
    # tree narrows near its top, idle workers back up running jobs from this fraction of the median
    # on: a lie or a crash there then costs the rest of a job, not a job and a detection
    backup: float = 0.3
    min_samples: int = 3
    prior: dict[str, float] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def record(self, kind: str, seconds: float) -> None:
        self.samples[kind].append(seconds)

    def copy_after(self, kind: str) -> float | None:
        """Seconds after which a running attempt gets a copy on an idle worker."""
        deadline = self.deadline(kind)
        if deadline is None or self.backup <= 0:
            return deadline
        measured = sorted(self.samples.get(kind, ()))
        if len(measured) >= self.min_samples:
            median = measured[len(measured) // 2]
        else:
            median = self.prior.get(kind, deadline)
        return min(deadline, self.backup * median)

    def give_up_after(self, kind: str) -> float | None:
        """Seconds after which a running attempt is given up (before any doubling for the job)."""
        deadline = self.deadline(kind)
        if deadline is None:
            return None
        if len(self.samples.get(kind, ())) >= self.min_samples:
            return self.abandon * deadline
        return max(self.abandon, self.abandon_on_prior) * deadline

    def deadline(self, kind: str) -> float | None:
        if self.factor <= 0:
            return None
        measured = sorted(self.samples.get(kind, ()))
        if len(measured) >= self.min_samples:
            base = measured[min(len(measured) - 1, int(self.quantile * len(measured)))]
        elif kind in self.prior:
            base = self.prior[kind]
        else:
            return None
        return self.factor * base


@dataclass
class Stats:
    """What a run cost: attempts started, failed, refused by verify, speculative copies, and work
    (seconds of all attempts, cancelled and failed ones included)."""

    attempts: int = 0
    failed: int = 0
    refused: int = 0
    speculative: int = 0
    reused: int = 0
    work_s: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"attempts": self.attempts, "failed": self.failed, "refused": self.refused,
                "speculative": self.speculative, "reused": self.reused, "work_s": round(self.work_s, 3)}


@dataclass
class _Attempt:
    job: Job
    submitted: float
    speculative: bool
    future: Future

    @property
    def started(self) -> float | None:
        """When a worker began it (executors set `started_at` on the future); None while it waits."""
        return getattr(self.future, "started_at", self.submitted)


def _ran(attempt: _Attempt, now: float | None = None) -> float:
    """Seconds the attempt has been running on a worker (0 while it waits for one)."""
    started = attempt.started
    return 0.0 if started is None else (now if now is not None else time.monotonic()) - started


class ProofScheduler:
    def __init__(self, store: JobStore, system: ProofSystem, executor: Executor,
                 speculation: Speculation | None = None, max_failures: int = 16, replicas: int = 0) -> None:
        """`replicas` > 0 is static 1:k replication (Wholesum's): every job handed out k+1 times at once,
        the first valid proof winning; for comparison with speculation, which it normally replaces."""
        self.store = store
        self.system = system
        self.executor = executor
        self.speculation = speculation if speculation is not None else Speculation()
        self.max_failures = max_failures
        self.replicas = replicas
        self.stats = Stats()
        self._abandoned: dict[str, int] = defaultdict(int)  # attempts given up, by job id

    def _stored(self, dag: ProofDag) -> dict[str, JobProof]:
        done = {}
        for job in dag.jobs.values():
            proof = self.store.proof(job.id)
            if proof is not None and self.system.verify(job, proof) is None:
                done[job.id] = proof
        self.stats.reused += len(done)
        return done

    def prove(self, dag: ProofDag) -> JobProof:
        """The top job's proof, every job of the tree proven (or found in the store) and verified."""
        for payload in dag.payloads.values():
            self.store.put_inputs(payload)
        done = self._stored(dag)
        running: dict[Future, _Attempt] = {}
        failures: dict[str, int] = defaultdict(int)
        tries: dict[str, int] = defaultdict(int)
        while dag.top not in done:
            busy = {a.job.id for a in running.values()}
            for job in dag.ready(done, busy):
                if len(running) + 1 + self.replicas > max(1 + self.replicas, self.executor.capacity()):
                    break
                for _ in range(1 + self.replicas):
                    self._start(job, dag, done, running, tries, speculative=False)
            self._speculate(dag, done, running, tries)
            finished, _ = wait(list(running), timeout=TICK_S, return_when=FIRST_COMPLETED)
            for future in finished:
                attempt = running.pop(future, None)
                if attempt is None:  # a rival of a job proven earlier in this same batch: already settled
                    continue
                job = attempt.job
                self.stats.work_s += _ran(attempt)
                if job.id in done:
                    continue
                reason = self._check(job, future)
                if reason is None:
                    proof = future.result()
                    self.store.put_proof(proof)
                    done[job.id] = proof
                    self.speculation.record(job.kind, _ran(attempt))
                    for other, rival in list(running.items()):
                        if rival.job.id == job.id:
                            self.executor.cancel(other)
                            self.stats.work_s += _ran(rival)
                            del running[other]
                    continue
                failures[job.id] += 1
                self.stats.reasons.append(f"{job.kind} {job.id[:10]}: {reason}")
                if reason.startswith("JobRefused"):  # the inputs, not the worker: no retry helps
                    self._give_up(running, f"{job.kind} job {job.id}: {reason}")
                log.info("attempt at %s job %s failed: %s", job.kind, job.id[:10], reason)
                if failures[job.id] >= self.max_failures:
                    self._give_up(running, f"{job.kind} job {job.id} failed {failures[job.id]} times; last: {reason}")
        return done[dag.top]

    def _give_up(self, running: dict[Future, _Attempt], why: str) -> NoReturn:
        """Stop every running attempt and fail the tree."""
        for other in running:
            self.executor.cancel(other)
        raise JobFailed(why)

    def _check(self, job: Job, future: Future) -> str | None:
        try:
            proof = future.result()
        except Exception as exc:  # a crashed, timed-out or refusing worker: the job is handed out again
            self.stats.failed += 1
            return f"{type(exc).__name__}: {exc}"
        if not isinstance(proof, JobProof):
            self.stats.refused += 1
            return "the attempt returned no proof"
        reason = self.system.verify(job, proof)
        if reason is not None:
            self.stats.refused += 1
        return reason

    def _start(self, job: Job, dag: ProofDag, done: dict[str, JobProof], running: dict[Future, _Attempt],
               tries: dict[str, int], speculative: bool) -> None:
        children = [(dag.jobs[c], done[c]) for c in job.children]
        payload = dag.payloads.get(job.inputs_hash)
        if payload is None:
            payload = self.store.inputs(job.inputs_hash)
        if payload is None:
            raise JobFailed(f"job {job.id}: its inputs {job.inputs_hash} are in neither the tree nor the store")
        future = self.executor.submit(job, payload, children, tries[job.id])
        tries[job.id] += 1
        self.stats.attempts += 1
        self.stats.speculative += speculative
        running[future] = _Attempt(job, time.monotonic(), speculative, future)

    def _speculate(self, dag: ProofDag, done: dict[str, JobProof], running: dict[Future, _Attempt],
                   tries: dict[str, int]) -> None:
        """One copy of each straggler, while the executor has room (the ready jobs were handed out
        first, so room means idle workers)."""
        now = time.monotonic()
        per_job: dict[str, int] = defaultdict(int)
        for attempt in running.values():
            per_job[attempt.job.id] += 1
        for future, attempt in list(running.items()):
            give_up_after = self.speculation.give_up_after(attempt.job.kind)
            ran = _ran(attempt, now)
            # each attempt of a job given up doubles the next one's allowance: a machine slower than
            # the prior (or loaded) gets there in a few tries instead of being given up for ever
            if give_up_after is not None and ran > give_up_after * 2 ** self._abandoned[attempt.job.id]:
                self.executor.cancel(future)
                del running[future]
                self._abandoned[attempt.job.id] += 1
                per_job[attempt.job.id] -= 1
                self.stats.failed += 1
                self.stats.work_s += ran
                self.stats.reasons.append(f"{attempt.job.kind} {attempt.job.id[:10]}: abandoned after {ran:.1f} s")
        for attempt in list(running.values()):
            if len(running) >= self.executor.capacity():
                return
            copy_after = self.speculation.copy_after(attempt.job.kind)
            if copy_after is None or per_job[attempt.job.id] > 1 or _ran(attempt, now) < copy_after:
                continue
            per_job[attempt.job.id] += 1
            self._start(attempt.job, dag, done, running, tries, speculative=True)
