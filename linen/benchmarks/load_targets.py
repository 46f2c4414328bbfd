"""The nodes a benchmark measures: a fresh `linen node` (traced or not) or a fresh anvil, as processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from linen.benchmarks.load_client import RpcError, _sync_rpc
from linen.ports import free_port
from linen.tools import tool_path

ROOT = Path(__file__).resolve().parent.parent.parent
BLOCK_PERIOD = 1.0  # seconds, both targets
BASE_FEE_FLOOR = 7  # Linen's floor; anvil is started with the same base fee
POOL_PER_SENDER = 64  # Linen's txpool max-per-sender (and max nonce gap)
POOL_SIZE = 10_000  # Linen's txpool max-pool-size


# -- the processes under test ---------------------------------------------------------------------
class TargetProcess:
    """A node under test: a subprocess with its output in a log file, answering JSON-RPC on `url`."""

    def __init__(self, name: str, args: list[str], log_path: Path, port: int, cwd: Path,
                 ready_method: str = "eth_chainId") -> None:
        self.name = name
        self.ready_method = ready_method  # answered once the process serves
        self.args = args
        self.log_path = log_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> TargetProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                _sync_rpc(self.url, self.ready_method, timeout=1.0)
                return self
            except (OSError, RpcError, ValueError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer {self.ready_method} within {timeout:.0f}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the process so far (Linux /proc), None if unavailable."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


BENCH_LIMITS_FACTOR = 64  # the seed limits cap a block at 200 txs; raised so only the tracer's CPU cost differs


def bench_limits_file(workdir: Path) -> Path:
    """The seed trace limits with every module limit raised (fixed tables stay exact, as they must)."""
    from linen.execution.tracer.limits import load_trace_limits
    from linen.execution.tracer.modules import FIXED_TABLE_SIZES

    seed = load_trace_limits()
    lines = []
    for section, limits in (("traces_limits", seed.regular), ("traces_limits_large", seed.large)):
        lines.append(f"[{section}]")
        for module, limit in limits.items():
            lines.append(f"{module} = {limit if module in FIXED_TABLE_SIZES else limit * BENCH_LIMITS_FACTOR}")
    path = workdir / "bench-limits.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def linen_process(workdir: Path, traced: bool = True, state_config: str = "enabled = false\n") -> TargetProcess:
    """A fresh `linen node`; `traced=False` turns the tracer (and the line limits) off, to measure its cost.

    The state manager is off by default: its lag has its own benchmark (`linen.benchmarks.state_lag`),
    which passes the `[state]` section it wants as `state_config`.
    """
    port = free_port()
    config = workdir / "linen.toml"
    config.write_text(f"[tracer]\nenabled = {'true' if traced else 'false'}\n[state]\n{state_config}")
    args = [
        sys.executable, "-m", "linen.cli", "node",
        "--config", str(config),
        "--data-dir", str(workdir / "data"),
        "--rpc-port", str(port),
        "--block-period", f"{BLOCK_PERIOD:g}",
        "--traces-limits", str(bench_limits_file(workdir)),
    ]
    return TargetProcess("linen" if traced else "linen-untraced", args, workdir / "node.log", port, workdir)


def linen_block_gas_limit() -> int:
    from linen.chain.genesis import DEFAULT_GAS_LIMIT

    return DEFAULT_GAS_LIMIT


def anvil_process(workdir: Path) -> TargetProcess:
    port = free_port()
    args = [
        str(tool_path("anvil")),
        "--port", str(port),
        "--hardfork", "prague",
        "--silent",
        "--block-time", f"{BLOCK_PERIOD:g}",
        # Same block gas limit and base fee as Linen's devnet genesis, so blocks fill the same way.
        "--gas-limit", str(linen_block_gas_limit()),
        "--block-base-fee-per-gas", str(BASE_FEE_FLOOR),
    ]
    return TargetProcess("anvil", args, workdir / "anvil.log", port, workdir)
