"""`python bench/zk.py`: the proof tree's costs (see `linen bench zk --help`); results in bench/results/zk.json."""

from __future__ import annotations

from linen.benchmarks.cli_commands import zk

if __name__ == "__main__":
    zk()
