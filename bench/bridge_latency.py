"""`python bench/bridge_latency.py [--messages 15] [--seconds 90]`: bridge message latency on the devnet.

A thin wrapper: the benchmark lives in `linen.benchmarks.bridge_latency` (options as `linen bench
bridge-latency`); results go to bench/results/bridge_latency.json.
"""

from __future__ import annotations

from linen.benchmarks.cli_commands import bridge_latency

if __name__ == "__main__":
    bridge_latency()
