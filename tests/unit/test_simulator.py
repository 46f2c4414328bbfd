"""The prover-network simulator reproduces Wholesum's arithmetic and tells the two schemes apart."""

from __future__ import annotations

import pytest

from linen.network.simulator import JobCosts, simulate

WHOLESUM = JobCosts(segment_s=249.0, merge_s=0.0)  # 168 segments of 2^19 cycles, 249 s each, on an old laptop


def test_wholesums_arithmetic():
    # 168 nodes prove the 168 segments in one segment's time
    alone = simulate(168, 168, WHOLESUM)
    assert alone.latency_s == 249.0 and alone.work_ratio == 1.0
    # fewer nodes: the segments queue
    assert simulate(168, 84, WHOLESUM).latency_s == 2 * 249.0
    # 1:4 static replication: 840 nodes for the same time, five times the work
    replicated = simulate(168, 840, WHOLESUM, scheme="static", replicas=5)
    assert replicated.latency_s == 249.0
    assert replicated.work_ratio == pytest.approx(5.0)
    # one node short: a job's fifth replica waits, and is cancelled once one of the four running is valid
    short = simulate(168, 839, WHOLESUM, scheme="static", replicas=5)
    assert short.latency_s == 249.0 and short.work_ratio < 5.0


def test_faults_cost_the_schemes_differently():
    static = simulate(168, 840, WHOLESUM, q=0.2, scheme="static", replicas=5, seed=3)
    speculative = simulate(168, 840, WHOLESUM, q=0.2, seed=3)
    assert static.work_ratio > 4.0  # every job done five times over, faults or not
    assert speculative.work_ratio < 1.6  # a failed attempt is redone, nothing more
    assert speculative.latency_s >= static.latency_s  # the price: failures are found one attempt at a time
    # with no fault and no straggler the speculative scheme does exactly the ideal work
    clean = simulate(168, 840, WHOLESUM, q=0.0)
    assert clean.work_ratio == 1.0 and clean.latency_s == 249.0


def test_a_tree_of_linens_measured_jobs():
    costs = JobCosts(segment_s=31.1, merge_s=25.7)  # bench/results/zk.json, K=16, one bb per core pair
    # four segments and three merges: two levels of merges after the segments
    assert simulate(4, 4, costs).latency_s == pytest.approx(31.1 + 2 * 25.7)
    assert simulate(4, 1, costs).latency_s == pytest.approx(4 * 31.1 + 3 * 25.7)
    with pytest.raises(ValueError, match="q, the share"):
        simulate(4, 1, costs, q=1.0)


def test_backups_on_idle_nodes_cut_the_latency_faults_add():
    costs = JobCosts(segment_s=249.0, merge_s=259.0)
    plain = simulate(168, 840, costs, q=0.2, seed=1)
    backed = simulate(168, 840, costs, q=0.2, seed=1, backup=0.5)
    assert backed.latency_s < plain.latency_s
    assert backed.work_ratio < 2.5  # a copy per job at most, stopped once the other is valid
    # with the nodes busy there is little to back up with: only the narrow top of the tree gets copies
    assert simulate(64, 8, costs, seed=1).work_ratio == 1.0
    assert 1.0 < simulate(64, 8, costs, seed=1, backup=0.5).work_ratio < 1.05


def test_a_job_runs_only_on_a_node_that_can_hold_it():
    gib = 2**30
    costs = JobCosts(segment_s=10.0, merge_s=5.0, segment_bytes=2 * gib, merge_bytes=gib)
    # both nodes hold everything: two segments at a time, then the merges
    assert simulate(4, 2, costs, node_memory=[4 * gib, 4 * gib]).latency_s == pytest.approx(30.0)
    # the small node takes only merges, so the four segments queue on the big one
    assert simulate(4, 2, costs, node_memory=[gib, 4 * gib]).latency_s == pytest.approx(50.0)
    with pytest.raises(ValueError, match="no node can hold a segment"):
        simulate(4, 2, costs, node_memory=[gib, gib])
    with pytest.raises(ValueError, match="gives 1 nodes"):
        simulate(4, 2, costs, node_memory=[4 * gib])


def test_costs_fitted_to_measured_runs():
    # each run's times around its own median: two runs at different loads add no spread
    steady = JobCosts.measured([[10.0, 10.0], [20.0, 20.0]], [[5.0, 5.0, 5.0]], 3, 4)
    assert (steady.segment_s, steady.merge_s, steady.sigma, steady.merge_sigma) == (15.0, 5.0, 0.0, 0.0)
    assert (steady.memory("segment"), steady.memory("merge")) == (3, 4)
    # one degree of freedom per run: three times around their median leave two; a lone time none
    jittery = JobCosts.measured([[9.0, 10.0, 11.0], [30.0]], [[5.0, 5.0]])
    assert jittery.sigma == pytest.approx(0.1005, abs=1e-3) and jittery.merge_sigma == 0.0
    # a merge keeps its own spread, and scaling keeps the ratio of the medians
    wide = JobCosts.measured([[10.0]], [[2.0, 8.0]]).scaled(249.0)
    assert (wide.segment_s, wide.merge_s) == pytest.approx((249.0, 124.5))
    assert wide.draw("segment", __import__("random").Random(1)) == 249.0
    assert wide.draw("merge", __import__("random").Random(1)) != 124.5


def test_copies_are_timed_from_a_node_and_made_only_on_idle_ones():
    costs = JobCosts(segment_s=10.0, merge_s=5.0)
    # two segments wait for a node while two run: waiting is not straggling, so no copy of them
    # takes a node ahead of the first merge (the model once timed copies from issue and gave 35 s)
    assert simulate(4, 2, costs, straggler_factor=1.5).latency_s == 30.0
    # backups: only the root merge runs alone, so only it is copied, from 1.5 s until it is proven
    backed = simulate(4, 2, costs, backup=0.3)
    assert (backed.latency_s, backed.work_s, backed.ideal_work_s) == (30.0, 58.5, 55.0)


def test_an_attempt_past_the_deadline_is_given_up_and_issued_again():
    tail = JobCosts(segment_s=249.0, merge_s=259.0, sigma=0.3)
    lenient = simulate(168, 840, tail, straggler_factor=1000.0, seed=2)
    strict = simulate(168, 840, tail, straggler_factor=1.5, seed=2)
    assert lenient.attempts == 335 and lenient.work_ratio == pytest.approx(1.0)
    # a draw past 1.5 x the 0.9 quantile was given up (its work counted) and proven by a new attempt
    assert strict.attempts > 335 and strict.work_ratio > 1.0


def test_a_copy_due_within_a_float_step_is_made_not_waited_for():
    # with this spread a copy fell due 1e-14 s ahead: a timer that short never moved the clock, and
    # the model spun at one instant for ever
    costs = JobCosts(segment_s=249.0, merge_s=259.0, sigma=0.0272, merge_sigma=0.0293)
    outcome = simulate(2, 1, costs, seed=1, backup=0.3)
    assert outcome.attempts == 3 and 750 < outcome.latency_s < 800


def test_the_benchmark_draws_from_the_zk_medians_and_memory_with_the_real_runs_spread(tmp_path, monkeypatch):
    from linen.benchmarks import prover_network as bench

    zk = tmp_path / "zk.json"
    zk.write_text('{"segments": [{"k": 8, "prove_s": 17.0, "peak_mb": 1024}, {"k": 16, "prove_s": 28.0, "peak_mb": 2300}],'
                  ' "circuits": {"merge": {"prove_s": 29.0, "peak_mb": 1536}}}')
    monkeypatch.setattr(bench, "ZK_RESULTS", zk)
    costs, source = bench.job_costs({"date": "d", "runs": [{"segment_s": [45.0, 50.0, 55.0], "merge_s": [38.0, 38.0]},
                                                           {"segment_s": [60.0], "merge_s": [41.0]}]})
    assert (costs.segment_s, costs.merge_s, costs.segment_bytes, costs.merge_bytes) == (28.0, 29.0, 2300 * 2**20,
                                                                                          1536 * 2**20)
    assert costs.sigma > 0 and costs.merge_sigma == 0.0 and "4 segments and 3 merges" in source
    bare, source = bench.job_costs({})  # no real part yet: the medians alone
    assert bare.sigma == 0.0 and "no spread" in source
    # 2 GiB nodes cannot hold a K=16 segment of 2300 MiB; K=8 segments (1 GiB, twice as many) fit
    rows = {(r["segments"], r["fleet"]): r for r in bench.simulator_memory(costs.scaled(249.0), sizes=(4,), segments=8)}
    assert "no node can hold a segment" in rows[("K=16", "all 2 GiB")]["cannot"]
    assert rows[("K=8", "all 2 GiB")]["linen"]["latency_s"] > 0 and rows[("K=8", "all 2 GiB")]["segment_count"] == 16
    # half the fleet too small for a K=16 segment: the segments queue on the other half
    assert rows[("K=16", "half 2 GiB, half 4 GiB")]["linen"]["latency_s"] > rows[("K=16", "all 4 GiB")]["linen"]["latency_s"]


def test_factor_zero_turns_deadlines_off_and_a_tree_past_max_failures_is_counted():
    costs = JobCosts(segment_s=10.0, merge_s=5.0, sigma=0.3)
    # factor 0 is "off" as in the scheduler (it gave every attempt a zero deadline and spun)
    off = simulate(8, 4, costs, straggler_factor=0.0, seed=1)
    assert off.attempts == 15 and off.failed_jobs == 0
    # at q = 0.8 some job of 168 meets 16 invalid attempts: the scheduler would fail the tree there
    hostile = simulate(168, 840, JobCosts(segment_s=249.0, merge_s=259.0), q=0.8, seed=1)
    assert hostile.failed_jobs > 0
    assert simulate(168, 840, JobCosts(segment_s=249.0, merge_s=259.0), q=0.2, seed=1).failed_jobs == 0


def test_each_give_up_doubles_the_jobs_allowance():
    # a deadline of 1.8 s where the median is 10 s: without doubling 1 attempt in 23 would finish;
    # with it the allowance reaches 14.4 s by the fourth attempt
    tail = JobCosts(segment_s=10.0, merge_s=5.0, sigma=1.0)
    attempts = [simulate(1, 4, tail, straggler_factor=0.05, seed=seed).attempts for seed in range(1, 11)]
    assert all(2 <= a <= 8 for a in attempts), attempts
