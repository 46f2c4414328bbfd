"""A discrete-event model (SimPy) of proving a tree of segment and merge jobs on many weak nodes.

The model: a proof tree of `segments` leaves and binary merges up to one root (as Linen's tree is
built); `nodes` identical provers, each doing one job at a time; a job is ready once its children
are proven. Each attempt at a job fails with probability `q` (a node that lies or wastes its time:
it takes as long as an honest one and yields nothing valid, which verification detects). Two ways
to survive that:

- **static 1:k** (Wholesum's): every job is handed to k+1 nodes at once; it is done at the first
  valid proof among them; if all fail, k+1 more are tried.
- **speculative** (Linen's plan for issue 16): one node per job; a failed attempt is re-issued at
  once; an attempt still running past `straggler_factor` times the job's median time gets one
  speculative copy; the first valid proof wins and the others are cancelled.

Job times are drawn from a log-normal around the measured medians (`JobCosts`); `work` counts every
node-second spent, cancelled and failed attempts included. What it does not model: the network's
bandwidth and latency, nodes leaving and joining, memory classes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import simpy


@dataclass(frozen=True)
class JobCosts:
    """Median seconds of a segment and of a merge, and the spread (sigma of the log-normal)."""

    segment_s: float
    merge_s: float
    sigma: float = 0.0

    def draw(self, kind: str, rng: random.Random) -> float:
        median = self.segment_s if kind == "segment" else self.merge_s
        if median <= 0:
            return 0.0
        return median * math.exp(rng.gauss(0.0, self.sigma)) if self.sigma else median


@dataclass
class _Job:
    kind: str
    children: list[_Job] = field(default_factory=list)
    done: simpy.Event | None = None


@dataclass(frozen=True)
class Outcome:
    latency_s: float
    work_s: float  # node-seconds, failed and cancelled attempts included
    ideal_work_s: float  # the same tree with no fault and no redundancy
    attempts: int

    @property
    def work_ratio(self) -> float:
        return self.work_s / self.ideal_work_s if self.ideal_work_s else 1.0


def _tree(segments: int) -> tuple[_Job, list[_Job]]:
    """The root and every job (leaves first): adjacent pairs merged level by level, an odd one passed up."""
    level = [_Job("segment") for _ in range(segments)]
    jobs = list(level)
    while len(level) > 1:
        merged = [_Job("merge", [level[i], level[i + 1]]) for i in range(0, len(level) - 1, 2)]
        jobs += merged
        level = merged + ([level[-1]] if len(level) % 2 else [])
    return level[0], jobs


class _Run:
    def __init__(self, env: simpy.Environment, nodes: int, costs: JobCosts, q: float, rng: random.Random) -> None:
        self.env, self.costs, self.q, self.rng = env, costs, q, rng
        self.nodes = simpy.Resource(env, capacity=nodes)
        self.work = 0.0
        self.ideal = 0.0
        self.attempts = 0

    def attempt(self, kind: str, duration: float, cancelled: simpy.Event):
        """One node's attempt: waits for a node, works `duration` (or until cancelled); True if valid."""
        with self.nodes.request() as node:
            got = yield node | cancelled
            if node not in got:
                return False
            self.attempts += 1
            started = self.env.now
            worked = self.env.timeout(duration)
            got = yield worked | cancelled
            self.work += self.env.now - started
            if worked not in got:  # cancelled: another attempt won
                return False
            return self.rng.random() >= self.q

    def wait_children(self, job: _Job):
        for child in job.children:
            assert child.done is not None
            yield child.done


def _static(run: _Run, job: _Job, replicas: int):
    yield from run.wait_children(job)
    duration = run.costs.draw(job.kind, run.rng)
    run.ideal += duration
    while True:
        cancelled = run.env.event()
        tries = [run.env.process(run.attempt(job.kind, run.costs.draw(job.kind, run.rng) if i else duration, cancelled))
                 for i in range(replicas)]
        pending = list(tries)
        while pending:
            finished = yield run.env.any_of(pending)
            valid = [p for p in finished if finished[p]]
            pending = [p for p in pending if p not in finished]
            if valid:
                cancelled.succeed()
                yield run.env.all_of(pending)  # the others stop at once (their work so far counts)
                return


def _speculative(run: _Run, job: _Job, straggler_factor: float, backup: float = 0.0):
    yield from run.wait_children(job)
    duration = run.costs.draw(job.kind, run.rng)
    run.ideal += duration
    median = run.costs.segment_s if job.kind == "segment" else run.costs.merge_s
    cancelled = run.env.event()
    running = [run.env.process(run.attempt(job.kind, duration, cancelled))]
    # the copy: at straggler_factor x median, or (backup > 0) at backup x median if a node is idle then
    straggling = run.env.timeout(straggler_factor * median)  # from when the job is issued
    backing = run.env.timeout(backup * median) if backup > 0 else None
    speculated = median <= 0
    while True:
        timers = [] if speculated else [straggling] + ([backing] if backing is not None else [])
        finished = yield run.env.any_of(running + timers)
        valid = [p for p in running if p in finished and finished[p]]
        if valid:
            cancelled.succeed()
            yield run.env.all_of([p for p in running if p not in finished])
            return
        failed = [p for p in running if p in finished]
        running = [p for p in running if p not in finished]
        for _ in failed:  # a failed attempt is re-issued at once
            running.append(run.env.process(run.attempt(job.kind, run.costs.draw(job.kind, run.rng), cancelled)))
        if timers and timers[0] in finished:  # a straggler: one speculative copy
            speculated = True
            running.append(run.env.process(run.attempt(job.kind, run.costs.draw(job.kind, run.rng), cancelled)))
        elif backing is not None and backing in finished:
            backing = None
            if run.nodes.count < run.nodes.capacity and not run.nodes.queue:  # an idle node backs it up
                speculated = True
                running.append(run.env.process(run.attempt(job.kind, run.costs.draw(job.kind, run.rng), cancelled)))


def simulate(segments: int, nodes: int, costs: JobCosts, q: float = 0.0, scheme: str = "speculative",
             replicas: int = 1, straggler_factor: float = 1.5, seed: int = 0, trees: int = 1,
             backup: float = 0.0) -> Outcome:
    """Prove `trees` trees of `segments` leaves at once on `nodes` nodes; the slowest tree's latency.

    scheme "static" hands every job to `replicas` nodes (1:k replication is replicas = k + 1);
    "speculative" to one, re-issuing failures and speculating on stragglers, and with `backup` > 0
    also copying a job still running at `backup` x its median when a node is idle (the scheduler's
    backups; it uses Speculation.backup, 0.3).
    """
    if scheme not in ("static", "speculative"):
        raise ValueError(f"scheme {scheme!r}: static or speculative")
    if not 0 <= q < 1:
        raise ValueError("q, the share of attempts that fail, must be in [0, 1)")
    env = simpy.Environment()
    run = _Run(env, nodes, costs, q, random.Random(seed))
    roots = []
    for _ in range(trees):
        root, jobs = _tree(segments)
        for job in jobs:  # leaves first, so every child's event exists before its parent waits
            job.done = env.process(_static(run, job, replicas) if scheme == "static"
                                   else _speculative(run, job, straggler_factor, backup))
        roots.append(root)
    env.run(until=env.all_of([r.done for r in roots]))
    return Outcome(env.now, run.work, run.ideal, run.attempts)
