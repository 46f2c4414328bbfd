"""`python bench/throughput.py [--seconds 20] [--senders 200] ...`: Linen vs anvil throughput.

A thin wrapper: the benchmark lives in `linen.benchmarks.throughput` (see bench/README.md).
"""

from __future__ import annotations

from linen.benchmarks.throughput import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
