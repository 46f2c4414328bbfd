"""The proof scheduler on real worker processes and on Dask, with simulated jobs and injected faults."""

from __future__ import annotations

import json
import time

import pytest

from linen.errors import InvalidInput
from linen.network.executors import DaskExecutor, LocalExecutor
from linen.network.faults import FaultPlan
from linen.network.jobs import MERGE, SEGMENT, Job, JobProof, JobStore, payload_job, tree_dag
from linen.network.proofs import SimulatedProofs
from linen.network.scheduler import JobFailed, ProofScheduler, Speculation

SYSTEM = SimulatedProofs(0.05, 0.03)
KEYS = SYSTEM.keys()


def tree(n: int, memory: dict[int, int] | None = None):  # type: ignore[no-untyped-def]
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, KEYS[SEGMENT], (i, i + 1), {"segment": i}, payloads,
                          memory=(memory or {}).get(i, 0)) for i in range(n)]
    return tree_dag(leaves, payloads, KEYS[MERGE], 0, lambda a, b: (a[0], b[1]))


def test_job_ids_name_everything_that_decides_the_proof() -> None:
    a = tree(4)
    b = tree(4)
    assert list(a.jobs) == list(b.jobs) and a.top == b.top
    job = a.jobs[a.top]
    assert job.statement == (0, 4) and len(job.children) == 2
    for changed in (Job(job.kind, KEYS[SEGMENT], job.statement, job.inputs_hash, job.children),
                    Job(job.kind, job.key, (0, 5), job.inputs_hash, job.children),
                    Job(job.kind, job.key, job.statement, job.inputs_hash, job.children[::-1])):
        assert changed.id != job.id
    forged = dict(job.to_json(), statement=["0x0", "0x5"])
    with pytest.raises(InvalidInput, match="not the hash"):
        Job.from_json(forged)
    assert a.levels() == 3 and len(a.jobs) == 7
    assert tree(5).levels() == 4  # the odd leaf goes up as it is


def test_a_tree_is_proven_on_worker_processes_and_every_stored_proof_verifies(tmp_path) -> None:
    dag = tree(8)
    store = JobStore(tmp_path)
    executor = LocalExecutor(SYSTEM.spec, workers=2)
    try:
        scheduler = ProofScheduler(store, SYSTEM, executor, Speculation(factor=0))
        top = scheduler.prove(dag)
    finally:
        executor.close()
    assert top.job == dag.top and SYSTEM.verify(dag.jobs[dag.top], top) is None
    assert scheduler.stats.attempts == 15 and scheduler.stats.refused == 0
    for job in dag.jobs.values():
        assert SYSTEM.verify(job, store.proof(job.id)) is None


class CountingExecutor:
    def __init__(self) -> None:
        self.submitted = 0

    def capacity(self) -> int:
        return 1

    def submit(self, job, payload, children, attempt):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future

        self.submitted += 1
        future: Future = Future()
        future.set_result(SYSTEM.prove(job, payload, children, "counting"))
        return future

    def cancel(self, future) -> None:  # type: ignore[no-untyped-def]
        pass

    def close(self) -> None:
        pass


def test_a_restarted_scheduler_takes_the_stored_proofs_and_proves_only_what_is_missing(tmp_path) -> None:
    dag = tree(8)
    store = JobStore(tmp_path)
    first = CountingExecutor()
    ProofScheduler(store, SYSTEM, first).prove(dag)
    assert first.submitted == 15
    again = CountingExecutor()
    scheduler = ProofScheduler(store, SYSTEM, again)
    scheduler.prove(dag)
    assert again.submitted == 0 and scheduler.stats.reused == 15
    # a torn proof file and a proof that no longer verifies are both proven again, nothing else
    top = dag.jobs[dag.top]
    (tmp_path / "proofs" / f"{top.children[0]}.json").write_text('{"job": ')
    bad = store.proof(top.children[1])
    (tmp_path / "proofs" / f"{top.children[1]}.json").write_text(
        json.dumps(JobProof(bad.job, ("0x" + "11" * 32,) * 8, bad.key).to_json()))
    (tmp_path / "proofs" / f"{top.id}.json").unlink()
    third = CountingExecutor()
    ProofScheduler(store, SYSTEM, third).prove(dag)
    assert third.submitted == 3


def test_lying_workers_are_refused_and_the_tree_still_ends_with_only_valid_proofs(tmp_path) -> None:
    dag = tree(8)
    store = JobStore(tmp_path)
    plan = FaultPlan(0.4, seed=7, kinds=("garbage", "other-job", "other-key"))
    executor = LocalExecutor(SYSTEM.spec, workers=2, faults=plan)
    try:
        scheduler = ProofScheduler(store, SYSTEM, executor, Speculation(factor=0))
        top = scheduler.prove(dag)
    finally:
        executor.close()
    assert scheduler.stats.refused >= 3, scheduler.stats
    assert any("other job" in r or "does not verify" in r for r in scheduler.stats.reasons)
    assert any("claims key" in r for r in scheduler.stats.reasons)
    assert SYSTEM.verify(dag.jobs[dag.top], top) is None
    for job in dag.jobs.values():
        assert SYSTEM.verify(job, store.proof(job.id)) is None


def test_crashed_hung_and_slow_workers_cost_retries_and_copies_not_the_tree(tmp_path) -> None:
    dag = tree(8)
    plan = FaultPlan(0.35, seed=0, kinds=("crash", "hang", "slow3", "slow10"))  # first attempts: 2 crashes, a hang, slow ones
    executor = LocalExecutor(SYSTEM.spec, workers=2, faults=plan)
    try:
        scheduler = ProofScheduler(JobStore(tmp_path), SYSTEM, executor,
                                   Speculation(factor=2.0, prior={SEGMENT: 0.05, MERGE: 0.03}))
        top = scheduler.prove(dag)
        crashes = executor.crashes
    finally:
        executor.close()
    assert SYSTEM.verify(dag.jobs[dag.top], top) is None
    assert crashes >= 2 and scheduler.stats.failed >= 2
    assert scheduler.stats.speculative >= 1  # the hung and the slow ones were overtaken by copies
    assert any("abandoned" in r for r in scheduler.stats.reasons) or scheduler.stats.speculative >= 2


def test_a_job_that_always_fails_stops_the_tree_with_a_clear_error(tmp_path) -> None:
    executor = LocalExecutor(SYSTEM.spec, workers=1, faults=FaultPlan(1.0, 1, ("garbage",)))
    try:
        with pytest.raises(JobFailed, match="failed 3 times"):
            ProofScheduler(JobStore(tmp_path), SYSTEM, executor, max_failures=3).prove(tree(2))
    finally:
        executor.close()


def test_dask_keeps_a_large_job_off_a_small_worker(tmp_path) -> None:
    gib = 2**30
    dag = tree(4, memory={2: 6 * gib})
    executor = DaskExecutor(SYSTEM.spec, memory=[1 * gib, 8 * gib])
    try:
        workers = executor.client.scheduler_info()["workers"]
        big = next(a for a, w in workers.items() if w["resources"].get("MEMORY") == 8 * gib)
        store = JobStore(tmp_path)
        top = ProofScheduler(store, SYSTEM, executor, Speculation(factor=0)).prove(dag)
    finally:
        executor.close()
    assert SYSTEM.verify(dag.jobs[dag.top], top) is None
    large = next(j for j in dag.jobs.values() if j.memory)
    assert store.proof(large.id).prover == big
    provers = {store.proof(j.id).prover for j in dag.jobs.values()}
    assert len(provers) == 2  # both workers took work


def test_static_replication_hands_every_job_out_k_plus_one_times_and_keeps_one_proof(tmp_path) -> None:
    # every copy finishes at once here, so rivals of a proven job end in the same batch as the winner
    executor = CountingExecutor()
    store = JobStore(tmp_path)
    scheduler = ProofScheduler(store, SYSTEM, executor, Speculation(factor=0), replicas=4)
    dag = tree(4)
    top = scheduler.prove(dag)
    assert SYSTEM.verify(dag.jobs[dag.top], top) is None
    assert executor.submitted == 5 * len(dag.jobs) and scheduler.stats.attempts == 5 * len(dag.jobs)


def test_a_circuit_refusing_the_inputs_stops_the_tree_without_retries(tmp_path) -> None:
    from concurrent.futures import Future

    from linen.network.executors import JobRefused

    class Refusing(CountingExecutor):
        def submit(self, job, payload, children, attempt):  # type: ignore[no-untyped-def]
            self.submitted += 1
            future: Future = Future()
            future.set_exception(JobRefused("ExecutionFailed: Cannot satisfy constraint"))
            return future

    executor = Refusing()
    with pytest.raises(JobFailed, match="Cannot satisfy constraint"):
        ProofScheduler(JobStore(tmp_path), SYSTEM, executor).prove(tree(1))
    assert executor.submitted == 1


def test_the_executor_settings_are_checked() -> None:
    from linen.errors import ConfigError
    from linen.prover.settings import load_prover_settings

    settings = load_prover_settings(None, {"executor": "dask", "executor-workers": 3})
    assert (settings.executor, settings.executor_workers) == ("dask", 3)
    with pytest.raises(ConfigError, match="executor"):
        load_prover_settings(None, {"executor": "cloud"})
    with pytest.raises(ConfigError, match="at least 1"):
        load_prover_settings(None, {"executor-workers": 0})


def test_a_cancelled_running_dask_task_stops_and_frees_its_worker(tmp_path) -> None:
    """Dask leaves a cancelled task running; Linen's stops it, so the next job need not wait a minute."""
    slow = SimulatedProofs(60.0, 60.0)
    executor = DaskExecutor(slow.spec, workers=1)
    try:
        payloads: dict = {}
        keys = slow.keys()
        first = payload_job(SEGMENT, keys[SEGMENT], (0, 1), {"i": 0}, payloads)
        running = executor.submit(first, payloads[first.inputs_hash], [], 0)
        deadline = time.monotonic() + 30
        while not any(executor.client.processing().values()):
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.05)
        time.sleep(0.5)  # inside its 60 s proof
        executor.cancel(running)
        started = time.monotonic()
        # the single worker's one thread must be free: a 60 s job would still hold it
        quick = executor.client.submit(lambda: 1 + 1, pure=False)
        assert quick.result(timeout=10) == 2
        assert time.monotonic() - started < 10
        # the stopped task cleared the Event it saw: cancelled attempts leave no scheduler entries
        while executor.client.run_on_scheduler(_cancel_events):
            assert time.monotonic() - started < 10, executor.client.run_on_scheduler(_cancel_events)
            time.sleep(0.05)
    finally:
        executor.close()


def _cancel_events(dask_scheduler) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(name) for name in dask_scheduler.extensions["events"]._events]


def test_a_prior_far_too_short_costs_a_few_abandoned_tries_not_the_tree(tmp_path) -> None:
    """Jobs take 0.4 s where the prior says 0.02 s (a loaded machine, a slower worker): each attempt
    given up doubles the next one's allowance, so every job is proven (before, it was given up at
    the same point for ever)."""
    slow = SimulatedProofs(0.4, 0.4)
    keys = slow.keys()
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, keys[SEGMENT], (i, i + 1), {"segment": i}, payloads) for i in range(2)]
    dag = tree_dag(leaves, payloads, keys[MERGE], 0, lambda a, b: (a[0], b[1]))
    executor = LocalExecutor(slow.spec, workers=2)
    try:
        scheduler = ProofScheduler(JobStore(tmp_path), slow, executor,
                                   Speculation(prior={SEGMENT: 0.02, MERGE: 0.02}, backup=0.0))
        top = scheduler.prove(dag)
    finally:
        executor.close()
    assert slow.verify(dag.jobs[dag.top], top) is None
    abandoned = [r for r in scheduler.stats.reasons if "abandoned" in r]
    assert len(abandoned) >= 3, scheduler.stats.reasons  # the prior's allowance was too short at first


def test_a_fault_plan_goes_to_a_worker_process_as_text_and_back() -> None:
    for plan in (FaultPlan(0.2, 7), FaultPlan(0.5, 3, ("crash", "other-key"))):
        assert FaultPlan.from_text(plan.to_text()) == plan
    assert FaultPlan(0.2, 7).to_text() == "0.2:7"
    for bad in ("0.2:7:meteor", "0.2:7:crash:hang", "0.2"):
        with pytest.raises(ValueError):
            FaultPlan.from_text(bad)


def test_an_attempt_is_given_up_at_its_deadline_but_at_twice_it_while_the_deadline_is_a_guess() -> None:
    speculation = Speculation(prior={"segment": 30.0})
    assert speculation.deadline("segment") == 45.0
    assert speculation.give_up_after("segment") == 90.0  # on the prior alone: a bb segment takes ~50 s
    for seconds in (50.0, 52.0, 55.0):
        speculation.record("segment", seconds)
    assert speculation.deadline("segment") == 1.5 * 55.0
    assert speculation.give_up_after("segment") == 1.5 * 55.0
    assert Speculation(factor=0, prior={"segment": 30.0}).give_up_after("segment") is None
