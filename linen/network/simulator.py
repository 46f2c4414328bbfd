"""A discrete-event model (SimPy) of proving a tree of segment and merge jobs on many weak nodes.

The model: a proof tree of `segments` leaves and binary merges up to one root (as Linen's tree is
built); `nodes` identical provers, each doing one job at a time; a job is ready once its children
are proven. Each attempt at a job fails with probability `q` (a node that lies or wastes its time:
it takes as long as an honest one and yields nothing valid, which verification detects). Two ways
to survive that:

- **static 1:k** (Wholesum's): every job is handed to k+1 nodes at once; it is done at the first
  valid proof among them; if all fail, k+1 more are tried.
- **speculative** (Linen's scheduler): one node per job; a failed attempt is re-issued at once; a
  lone attempt gets one copy on an idle node once it has run `backup` x the median, and is given
  up and re-issued past the deadline, `straggler_factor` x the 0.9 quantile (`Speculation`'s
  rules, timed from when the attempt got a node); the first valid proof wins and the others are
  cancelled.

Job times are drawn from a log-normal around the measured medians, with the spread and the peak
memory measured too (`JobCosts.measured`); a job runs only on a node with the memory to hold it
(`node_memory`), as the coordinator and Dask place it. `work` counts every node-second spent,
cancelled and failed attempts included. What it does not model: the network's bandwidth and
latency, nodes leaving and joining, faults other than "as long as an honest attempt, and invalid".
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import simpy


@dataclass(frozen=True)
class JobCosts:
    """Median seconds of a segment and of a merge, the spread of each (sigma of a log-normal; a
    merge's is a segment's unless given) and each one's peak memory in bytes (0: fits any node)."""

    segment_s: float
    merge_s: float
    sigma: float = 0.0
    merge_sigma: float | None = None
    segment_bytes: int = 0
    merge_bytes: int = 0

    def draw(self, kind: str, rng: random.Random) -> float:
        median, sigma = self.lognormal(kind)
        if median <= 0:
            return 0.0
        return median * math.exp(rng.gauss(0.0, sigma)) if sigma else median

    def lognormal(self, kind: str) -> tuple[float, float]:
        """(median seconds, sigma) of this kind's times."""
        if kind == "segment":
            return self.segment_s, self.sigma
        return self.merge_s, self.sigma if self.merge_sigma is None else self.merge_sigma

    def quantile(self, kind: str, share: float) -> float:
        """The time below which `share` of this kind's jobs finish."""
        median, sigma = self.lognormal(kind)
        return median * math.exp(sigma * statistics.NormalDist().inv_cdf(share)) if sigma else median

    def memory(self, kind: str) -> int:
        return self.segment_bytes if kind == "segment" else self.merge_bytes

    @classmethod
    def measured(cls, segment_runs: Sequence[Sequence[float]], merge_runs: Sequence[Sequence[float]],
                 segment_bytes: int = 0, merge_bytes: int = 0) -> JobCosts:
        """Fitted to measured job times, one list per run: the medians over all runs, and the spread
        of each time around its own run's median, so runs made at different loads (one worker, two)
        add their jitter, not the gap between them."""
        return cls(_median(segment_runs), _median(merge_runs), _log_spread(segment_runs),
                   _log_spread(merge_runs), segment_bytes, merge_bytes)

    def scaled(self, segment_s: float) -> JobCosts:
        """The same distributions with a segment's median set to `segment_s` (a merge's in proportion)."""
        ratio = segment_s / self.segment_s
        return replace(self, segment_s=segment_s, merge_s=self.merge_s * ratio)


def _median(runs: Sequence[Sequence[float]]) -> float:
    return statistics.median([t for run in runs for t in run])


def _log_spread(runs: Sequence[Sequence[float]]) -> float:
    """The root mean square of log(time / its run's median), one degree of freedom taken per run (a
    run of one time says nothing of the spread and is left out)."""
    spread = [run for run in runs if len(run) > 1]
    residuals = [math.log(t / statistics.median(run)) for run in spread for t in run]
    freedom = len(residuals) - len(spread)
    return math.sqrt(sum(r * r for r in residuals) / freedom) if freedom > 0 else 0.0


VALID, INVALID, CANCELLED, GIVEN_UP = "valid", "invalid", "cancelled", "given up"  # an attempt's end
MAX_FAILURES = 16  # the scheduler's ProofScheduler.max_failures: invalid attempts before it fails the tree


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
    # jobs that had MAX_FAILURES invalid attempts: the scheduler would have failed the tree there
    # (the model goes on, so the figures stay comparable)
    failed_jobs: int = 0

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
    def __init__(self, env: simpy.Environment, node_memory: Sequence[int], costs: JobCosts, q: float,
                 rng: random.Random) -> None:
        self.env, self.costs, self.q, self.rng = env, costs, q, rng
        # the idle nodes, each as the memory it offers; a job takes the first that holds it, as the
        # first fitting worker to pull takes it from the coordinator (no best fit)
        self.nodes = simpy.FilterStore(env)
        self.nodes.items = list(node_memory)
        self.work = 0.0
        self.ideal = 0.0
        self.attempts = 0
        self.failed_jobs = 0
        self.freed = env.event()  # fires whenever a node comes back: a due copy waits on it

    def _release(self, node: int):
        yield self.nodes.put(node)
        freed, self.freed = self.freed, self.env.event()
        freed.succeed()

    def idle_node_for(self, kind: str) -> bool:
        need = self.costs.memory(kind)
        return not self.nodes.get_queue and any(m >= need for m in self.nodes.items)

    def attempt(self, kind: str, duration: float, cancelled: simpy.Event, started: simpy.Event | None = None,
                give_up_after: float = math.inf):
        """One node's attempt: waits for a node that can hold the job (`started` fires with the time
        it got one), works `duration`, or until cancelled, or until it is given up at
        `give_up_after` seconds (the scheduler's deadline). Ends VALID, INVALID, CANCELLED or GIVEN_UP."""
        need = self.costs.memory(kind)
        request = self.nodes.get(lambda memory: memory >= need)
        got = yield request | cancelled
        if request not in got:
            request.cancel()
            if request.triggered:  # granted in the same instant: hand the node back
                yield from self._release(request.value)
            return CANCELLED
        node = request.value
        self.attempts += 1
        start = self.env.now
        if started is not None:
            started.succeed(start)
        worked = self.env.timeout(min(duration, give_up_after))
        got = yield worked | cancelled
        self.work += self.env.now - start
        yield from self._release(node)
        if worked not in got:  # another attempt won
            return CANCELLED
        if duration > give_up_after:
            return GIVEN_UP
        return VALID if self.rng.random() >= self.q else INVALID

    def invalid(self, failures: int) -> int:
        """Count one more invalid attempt of a job; the job's new count."""
        if failures + 1 == MAX_FAILURES:
            self.failed_jobs += 1
        return failures + 1

    def wait_children(self, job: _Job):
        for child in job.children:
            assert child.done is not None
            yield child.done


def _static(run: _Run, job: _Job, replicas: int):
    yield from run.wait_children(job)
    duration = run.costs.draw(job.kind, run.rng)
    run.ideal += duration
    failures = 0
    while True:
        cancelled = run.env.event()
        tries = [run.env.process(run.attempt(job.kind, run.costs.draw(job.kind, run.rng) if i else duration, cancelled))
                 for i in range(replicas)]
        pending = list(tries)
        while pending:
            finished = yield run.env.any_of(pending)
            valid = [p for p in finished if finished[p] == VALID]
            for _ in range(sum(1 for p in finished if p in pending and finished[p] == INVALID)):
                failures = run.invalid(failures)
            pending = [p for p in pending if p not in finished]
            if valid:
                cancelled.succeed()
                yield run.env.all_of(pending)  # the others stop at once (their work so far counts)
                return


def _speculative(run: _Run, job: _Job, straggler_factor: float, backup: float = 0.0):
    """The scheduler's rules (`Speculation`), timed from when an attempt got a node: a lone running
    attempt gets one copy on an idle node from `backup` x the median on (or from the deadline,
    `straggler_factor` x the 0.9 quantile, without backups; factor 0 turns copies from the deadline
    and give-ups off); at the deadline it is given up and issued again, each give-up doubling the
    job's allowance. A failed attempt is issued again at once.

    Where it departs from the scheduler: the deadline is the true 0.9 quantile from the start (the
    scheduler starts from a prior), and a copy keeps the allowance it was issued with (the
    scheduler doubles a running copy's when its sibling is given up)."""
    yield from run.wait_children(job)
    duration = run.costs.draw(job.kind, run.rng)
    run.ideal += duration
    median, _ = run.costs.lognormal(job.kind)
    deadline = straggler_factor * run.costs.quantile(job.kind, 0.9) if straggler_factor > 0 and median > 0 \
        else math.inf
    copy_at = min(deadline, backup * median) if backup > 0 and median > 0 else deadline
    cancelled = run.env.event()  # the job is proven: every other attempt stops
    running: dict[simpy.Process, tuple[simpy.Event, float]] = {}  # attempt: (its start, its allowance)
    abandoned = failures = 0

    def issue(seconds: float) -> None:
        started = run.env.event()
        allowance = deadline * 2**abandoned
        running[run.env.process(run.attempt(job.kind, seconds, cancelled, started, allowance))] = started, allowance

    issue(duration)
    while True:
        waits: list[simpy.Event] = list(running)
        if len(running) == 1 and copy_at < math.inf:
            ((started, allowance),) = running.values()
            if not started.triggered:
                waits.append(started)
            else:
                ran = run.env.now - started.value
                remaining = copy_at - ran
                if remaining <= 1e-9 * copy_at:  # due (a float step this small would not move the clock)
                    if ran < allowance and run.idle_node_for(job.kind):  # not at its own give-up instant
                        issue(run.costs.draw(job.kind, run.rng))
                        continue
                    waits.append(run.freed)  # look again when a node comes back
                else:
                    waits.append(run.env.timeout(remaining))
        finished = yield run.env.any_of(waits)
        for process in [p for p in running if p in finished]:
            del running[process]
            if finished[process] == VALID:  # the others stop at once (their work so far counts)
                cancelled.succeed()
                yield run.env.all_of(list(running))
                return
            if finished[process] == GIVEN_UP:
                abandoned += 1  # the job's next attempts get twice as long
            elif finished[process] == INVALID:
                failures = run.invalid(failures)
        if not running:
            issue(run.costs.draw(job.kind, run.rng))


def simulate(segments: int, nodes: int, costs: JobCosts, q: float = 0.0, scheme: str = "speculative",
             replicas: int = 1, straggler_factor: float = 1.5, seed: int = 0, trees: int = 1,
             backup: float = 0.0, node_memory: Sequence[int] | None = None) -> Outcome:
    """Prove `trees` trees of `segments` leaves at once on `nodes` nodes; the slowest tree's latency.

    scheme "static" hands every job to `replicas` nodes (1:k replication is replicas = k + 1);
    "speculative" to one, re-issuing failures and speculating on stragglers, and with `backup` > 0
    also copying a job still running at `backup` x its median when a node is idle (the scheduler's
    backups; it uses Speculation.backup, 0.3). `node_memory` gives each node's bytes (default:
    `nodes` nodes that hold any job); a job runs only on a node that can hold it.
    """
    if scheme not in ("static", "speculative"):
        raise ValueError(f"scheme {scheme!r}: static or speculative")
    if not 0 <= q < 1:
        raise ValueError("q, the share of attempts that fail, must be in [0, 1)")
    memory = list(node_memory) if node_memory is not None else [2**62] * nodes
    if len(memory) != nodes:
        raise ValueError(f"node_memory gives {len(memory)} nodes, not {nodes}")
    for kind in ("segment", "merge"):
        if (kind == "segment" or segments > 1) and costs.memory(kind) > max(memory, default=0):
            raise ValueError(f"no node can hold a {kind} ({costs.memory(kind) / 2**30:.2f} GiB)")
    env = simpy.Environment()
    run = _Run(env, memory, costs, q, random.Random(seed))
    roots = []
    for _ in range(trees):
        root, jobs = _tree(segments)
        for job in jobs:  # leaves first, so every child's event exists before its parent waits
            job.done = env.process(_static(run, job, replicas) if scheme == "static"
                                   else _speculative(run, job, straggler_factor, backup))
        roots.append(root)
    env.run(until=env.all_of([r.done for r in roots]))
    return Outcome(env.now, run.work, run.ideal, run.attempts, run.failed_jobs)
