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
