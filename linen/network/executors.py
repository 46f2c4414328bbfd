"""Executors of the proof scheduler on this machine: worker processes (`local`) and Dask (`dask`).

`LocalExecutor` keeps `workers` long-lived processes (spawned, so a bb child or a crash stays out of
the scheduler's process), each building its proof system once. A slot thread per process hands it
one attempt at a time over a pipe and waits; if the process dies mid-job the attempt fails with
`WorkerCrashed` and a fresh process takes the slot; a cancelled or overdue attempt is ended by
killing its process (its bb dies with it: linen/zk/tool_process.py). Injected faults (`FaultPlan`)
are drawn and carried out inside the process.

`DaskExecutor` submits each attempt to a Dask cluster (a `LocalCluster` by default, or an
operator's scheduler by address): a job needing memory asks for that much of the workers' `MEMORY`
resource, so it lands only on a worker started with at least as much; Dask retries a task whose
worker died, and a cancelled task that is running is stopped through a cluster-wide Event it watches.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from linen.network.faults import FaultPlan, apply
from linen.network.jobs import Job, JobProof
from linen.network.proofs import make_system
from linen.zk.tool_process import cancel_on

log = logging.getLogger("linen.network.executors")
_POLL_S = 0.02


class WorkerCrashed(RuntimeError):
    """The worker process died during the attempt."""


class AttemptTimedOut(RuntimeError):
    """The attempt ran past the executor's job deadline and its process was killed."""


class AttemptRefused(RuntimeError):
    """The worker could not prove the job (its message says why)."""


class JobRefused(RuntimeError):
    """The circuit refuses the job's inputs: every attempt would fail the same way (not retried)."""


def prove_attempt(spec: dict, plan: FaultPlan, worker: str, job: Job, payload: dict,
                  children: Sequence[tuple[Job, JobProof]], attempt: int, other: JobProof | None) -> JobProof:
    """One attempt, as any worker makes it: the fault it draws (if any) applied around an honest proof."""
    system = make_system(spec)
    fault = plan.draw(job.id, attempt, worker)
    keys = system.keys()
    other_key = next(k for kind, k in keys.items() if k.lower() != job.key.lower())
    expected = getattr(system, "seconds", lambda j: 1.0)(job)
    rng = random.Random(f"{plan.seed}/{job.id}/{attempt}/{worker}")
    return apply(fault, job, lambda: system.prove(job, payload, children, worker), expected, other_key, rng, other)


def _serve(conn, spec: dict, plan_json: dict, worker: str) -> None:  # type: ignore[no-untyped-def]
    """A worker process: build the system once, then prove what the pipe sends until it closes."""
    make_system(spec)
    plan = FaultPlan.from_json(plan_json)
    last: JobProof | None = None
    conn.send(("ready", None))
    while True:
        try:
            job_json, payload, children_json, attempt = conn.recv()
        except (EOFError, OSError):
            return
        job = Job.from_json(job_json)
        children = [(Job.from_json(j), JobProof.from_json(p)) for j, p in children_json]
        refusals = getattr(make_system(spec), "refusals", ())
        try:
            proof = prove_attempt(spec, plan, worker, job, payload, children, attempt, last)
            last = proof
            conn.send(("ok", proof.to_json()))
        except refusals as exc:  # the inputs themselves: the scheduler stops the tree
            conn.send(("refused", f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # reported to the scheduler, which hands the job out again
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class _Task:
    future: Future
    job: Job
    payload: dict
    children: Sequence[tuple[Job, JobProof]]
    attempt: int
    cancelled: threading.Event


class LocalExecutor:
    def __init__(self, spec: dict, workers: int = 1, faults: FaultPlan | None = None,
                 job_timeout_s: float | None = None, start_timeout_s: float = 600.0) -> None:
        self.spec = spec
        self.workers = workers
        self.faults = faults or FaultPlan()
        self.job_timeout_s = job_timeout_s
        self.start_timeout_s = start_timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._tasks: dict[int, _Task] = {}
        self._closed = threading.Event()
        self.crashes = 0
        self._threads = [threading.Thread(target=self._slot, args=(i,), name=f"local-worker-{i}", daemon=True)
                         for i in range(workers)]
        self._started = threading.Barrier(workers + 1)
        self._start_error: Exception | None = None
        for thread in self._threads:
            thread.start()
        self._started.wait(start_timeout_s)
        if self._start_error is not None:
            self.close()
            raise RuntimeError(f"a local prover process did not start: {self._start_error}")

    def capacity(self) -> int:
        return self.workers

    def submit(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], attempt: int) -> Future:
        future: Future = Future()
        future.started_at = None  # type: ignore[attr-defined]  # set when a process takes it
        task = _Task(future, job, payload, list(children), attempt, threading.Event())
        self._tasks[id(future)] = task
        self._queue.put(task)
        return future

    def cancel(self, future: Future) -> None:
        task = self._tasks.get(id(future))
        if task is not None:
            task.cancelled.set()
        if not future.cancel() and not future.done():  # running: its slot kills the process
            future.set_exception(AttemptRefused("cancelled"))

    def close(self) -> None:
        self._closed.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(10)

    # -- a slot: one process, one attempt at a time --------------------------------------------------

    def _spawn(self, index: int):  # type: ignore[no-untyped-def]
        parent, child = self._ctx.Pipe()
        # every slot is "local" to the fault plan: an attempt's fault depends on the job and attempt, not the slot
        process = self._ctx.Process(target=_serve, args=(child, self.spec, self.faults.to_json(), "local"),
                                    name=f"linen-prover-{index}", daemon=True)
        process.start()
        child.close()
        if not parent.poll(self.start_timeout_s):
            process.kill()
            raise RuntimeError(f"local prover {index} did not start")
        parent.recv()
        return process, parent

    def _slot(self, index: int) -> None:
        try:
            process, conn = self._spawn(index)
        except Exception as exc:  # reported by the constructor
            self._start_error = exc
            self._started.wait(self.start_timeout_s)
            return
        self._started.wait(self.start_timeout_s)
        while not self._closed.is_set():
            task = self._queue.get()
            if task is None:
                break
            if task.cancelled.is_set() or not task.future.set_running_or_notify_cancel():
                self._tasks.pop(id(task.future), None)
                continue
            try:
                outcome = self._run(task, process, conn)
            finally:
                self._tasks.pop(id(task.future), None)
            if outcome is not None:  # the process is gone or was killed: a fresh one takes the slot
                if isinstance(outcome, WorkerCrashed):
                    self.crashes += 1
                process.kill()
                process.join(5)
                conn.close()
                if not task.future.done():
                    task.future.set_exception(outcome)
                if self._closed.is_set():
                    return
                process, conn = self._spawn(index)
        process.kill()
        process.join(5)

    def _run(self, task: _Task, process, conn) -> Exception | None:  # type: ignore[no-untyped-def]
        """Send the attempt and wait for it; an exception when the process must be replaced."""
        children = [(j.to_json(), p.to_json()) for j, p in task.children]
        try:
            conn.send((task.job.to_json(), task.payload, children, task.attempt))
        except (OSError, ValueError):
            return WorkerCrashed("the worker process is gone")
        start = time.monotonic()
        task.future.started_at = start  # type: ignore[attr-defined]
        while True:
            if task.cancelled.is_set():
                return AttemptRefused("cancelled")
            if self.job_timeout_s is not None and time.monotonic() - start > self.job_timeout_s:
                return AttemptTimedOut(f"no answer in {self.job_timeout_s:.1f} s")
            try:
                if conn.poll(_POLL_S):
                    status, body = conn.recv()
                    break
            except (EOFError, OSError):
                return WorkerCrashed(f"the worker process died (exit {process.exitcode})")
            if not process.is_alive() and not conn.poll(0):
                return WorkerCrashed(f"the worker process died (exit {process.exitcode})")
        if task.future.done():  # cancelled while the answer came
            return None
        if status == "ok":
            task.future.set_result(JobProof.from_json(body))
        elif status == "refused":
            task.future.set_exception(JobRefused(body))
        else:
            task.future.set_exception(AttemptRefused(body))
        return None


def _dask_attempt(spec: dict, plan_json: dict, job_json: dict, payload: dict, children_json: list,
                  cancel_name: str | None = None) -> dict:
    """A Dask task: one attempt on whichever worker Dask chose (its name is the worker's address).

    Dask does not stop a running task it cancels, so the task watches the cluster-wide Event
    `cancel_name` and kills its own bb when the executor sets it: the worker's one thread is free
    for the next job at once instead of after a proof nobody wants."""
    from distributed import Event, get_client, get_worker

    job = Job.from_json(job_json)
    children = [(Job.from_json(j), JobProof.from_json(p)) for j, p in children_json]
    worker = get_worker().address
    attempt = int(time.time_ns() % 1_000_000)  # Dask retries re-run the task: each run draws afresh
    give_up, finished = threading.Event(), threading.Event()
    if cancel_name is not None:
        watched = Event(cancel_name, client=get_client())  # the task thread's client: the watcher has none
        threading.Thread(target=_watch_cancel, args=(watched, give_up, finished), daemon=True,
                         name=f"cancel-{cancel_name}").start()
    try:
        with cancel_on(give_up):
            proof = prove_attempt(spec, FaultPlan.from_json(plan_json), worker, job, payload, children, attempt,
                                  None)
    finally:
        finished.set()
        if give_up.is_set():  # seen: clearing it (with no waiter left) removes the scheduler's entry
            _clear_quietly(watched)
    return proof.to_json()


def _clear_quietly(cluster_event) -> None:  # type: ignore[no-untyped-def]
    try:
        cluster_event.clear()
    except Exception as exc:  # the scheduler is gone, and the entry with it
        log.info("cancel clear: %s", exc)


def _watch_cancel(cluster_event, give_up: threading.Event, finished: threading.Event) -> None:  # type: ignore[no-untyped-def]
    while not finished.is_set():
        try:
            if cluster_event.wait(timeout=0.5):
                give_up.set()
                return
        except Exception as exc:  # the scheduler is gone: the task's own result will fail too
            log.info("cancel watch: %s", exc)
            return


def _cancel_name(key: str) -> str:
    return f"linen-cancel-{key}"


class DaskExecutor:
    """Attempts as Dask tasks. `address`: an existing scheduler; else a LocalCluster of `workers`
    single-threaded processes, each offering `memory` bytes as its `MEMORY` resource (a list gives
    each worker its own)."""

    def __init__(self, spec: dict, workers: int = 2, memory: int | Sequence[int] | None = None,
                 address: str | None = None, faults: FaultPlan | None = None, retries: int = 3) -> None:
        from distributed import Client, LocalCluster, Nanny

        self.spec = spec
        self.faults = faults or FaultPlan()
        self.retries = retries
        self.cluster = None
        if address is not None:
            self.client = Client(address)
            self.client.wait_for_workers(1)
            return
        # a LocalCluster whose workers are declared one by one, so each can offer its own memory
        sizes = list(memory) if isinstance(memory, Sequence) else [memory] * workers
        cluster = LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.WARNING)
        for i, size in enumerate(sizes):
            options: dict = {"nthreads": 1, "memory_limit": 0}
            if size:
                options["resources"] = {"MEMORY": size}
            cluster.worker_spec[f"linen-{i}"] = {"cls": Nanny, "options": options}
        cluster.sync(cluster._correct_state)
        self.cluster = cluster
        self.client = Client(cluster)
        self.client.wait_for_workers(len(sizes))

    def capacity(self) -> int:
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def submit(self, job: Job, payload: dict, children: Sequence[tuple[Job, JobProof]], attempt: int) -> Future:
        resources = {"MEMORY": job.memory} if job.memory else None
        key = f"{job.kind}-{job.id[2:18]}-{attempt}"
        task = self.client.submit(_dask_attempt, self.spec, self.faults.to_json(), job.to_json(), payload,
                                  [(j.to_json(), p.to_json()) for j, p in children], _cancel_name(key),
                                  resources=resources, retries=self.retries, pure=False, key=key)
        out: Future = Future()

        def settle(done) -> None:  # type: ignore[no-untyped-def]
            try:
                out.set_result(JobProof.from_json(done.result()))
            except BaseException as exc:  # the task's error, after Dask's retries
                if not out.done():
                    out.set_exception(exc)

        task.add_done_callback(settle)
        out.dask_future = task  # type: ignore[attr-defined]
        return out

    def cancel(self, future: Future) -> None:
        """Cancel the task and, if it is running, stop it (the Event its task watches, and clears
        once seen; an Event set just as its task ends stays as one small scheduler entry)."""
        from distributed import Event

        task = getattr(future, "dask_future", None)
        if task is not None:
            if task.status == "pending":
                try:
                    Event(_cancel_name(task.key), client=self.client).set()
                except Exception as exc:  # the cluster is going away: nothing left to stop
                    log.info("cancel %s: %s", task.key, exc)
            task.cancel()
        future.cancel()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
