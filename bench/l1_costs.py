"""`python bench/l1_costs.py [--txs 200] [--erc20 10] [--seconds 20]`: L1 finality latency and gas per L2 tx.

A thin wrapper: the benchmark lives in `linen.benchmarks.l1_costs`; results go to bench/results/l1_costs.json.
"""

from __future__ import annotations

from linen.benchmarks.l1_costs import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
