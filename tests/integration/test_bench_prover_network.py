"""`linen bench prover-network` in miniature: every part runs and its figures hang together."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_the_overhead_and_fault_parts_on_a_small_tree() -> None:
    from linen.benchmarks.prover_network import faults, overhead
    from linen.network.proofs import SimulatedProofs

    system = SimulatedProofs(0.05, 0.05)
    rows = overhead(system, 4, [1, 2], ["local", "network"])
    assert {(r["executor"], r["workers"]) for r in rows} == {("local", 1), ("local", 2), ("network", 1), ("network", 2)}
    for row in rows:
        assert row["latency_s"] >= row["ideal_s"] * 0.95, row  # no run beats the ideal makespan
        assert 0 < row["efficiency"] <= 1.05
    summary = faults(system, 4, 3, 0.5, 7, 1)
    assert set(summary) == {"fault-free", "fault-free, no backups", "speculative q=0.5", "fault-free, early backups",
                            "speculative q=0.5, early backups", "static 1:4 q=0.5", "static 1:4 fault-free"}
    assert summary["fault-free"]["latency_ratio"] == 1.0
    assert summary["fault-free, early backups"]["latency_ratio"] == 1.0
    for label, case in summary.items():
        (run,) = case["runs"]
        assert run["latency_s"] > 0 and run["work_s"] > 0, label
    assert summary["speculative q=0.5"]["runs"][0]["failed"] > 0  # faults were injected and survived
    assert summary["static 1:4 fault-free"]["runs"][0]["attempts"] == 5 * 7  # 4 segments + 3 merges, 5 copies


def test_the_fault_kinds_part_runs_each_kind_alone() -> None:
    from linen.benchmarks.prover_network import fault_kinds
    from linen.network.faults import KINDS
    from linen.network.proofs import SimulatedProofs

    result = fault_kinds(SimulatedProofs(0.05, 0.05), 4, 3, 0.5, 7, 1)
    assert set(result["kinds"]) == {"fault-free", *KINDS}
    assert result["kinds"]["fault-free"]["latency_ratio"] == 1.0
    assert result["kinds"]["fault-free"]["runs"][0]["failed"] == 0
    for kind in KINDS:  # every tree finished under its fault
        (run,) = result["kinds"][kind]["runs"]
        assert run["latency_s"] > 0 and run["work_s"] > 0, kind
    assert sum(result["kinds"][kind]["runs"][0]["failed"] for kind in KINDS) > 0  # faults were injected
