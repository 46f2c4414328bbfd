"""`python bench/hashers.py [--seconds 1] [--repeats 3]`: state-tree hashers, pure Python vs Rust.

A thin wrapper: the benchmark lives in `linen.benchmarks.hashers`; results go to bench/results/hashers.json.
"""

from __future__ import annotations

from linen.benchmarks.hashers import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
