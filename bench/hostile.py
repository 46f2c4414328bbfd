"""`python bench/hostile.py [--budget 120] [--seed 1] [--kills 5] [--strict]`: the attack benchmark.

A thin wrapper: the benchmark lives in `linen.benchmarks.hostile`; results go to bench/results/hostile.json.
"""

from __future__ import annotations

from linen.benchmarks.hostile import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
