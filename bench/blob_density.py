"""`python bench/blob_density.py [--kinds eth,erc20] [--txs-per-block 100]`: transactions per blob.

A thin wrapper: the benchmark lives in `linen.benchmarks.blob_density`; results go to
bench/results/blob_density.json.
"""

from __future__ import annotations

from linen.benchmarks.blob_density import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    main()
