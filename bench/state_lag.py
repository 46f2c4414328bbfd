"""`python bench/state_lag.py [--seconds 20] [--setups apart,in-node]`: state-manager lag under load.

A thin wrapper: the benchmark lives in `linen.benchmarks.state_lag`; results go to bench/results/state_lag.json.
"""

from __future__ import annotations

from linen.benchmarks.state_lag import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
