"""The devnet's L1: an anvil process with the Prague rules, or any L1 JSON-RPC URL.

anvil keeps its chain in memory and dumps it to `<state dir>/state.json` when it stops (and every
`state_interval` seconds while it runs), and `--state` reloads that file at start, so a devnet
restarted on the same data dir finds its L1 contracts and blocks again.

The first blob transaction a fresh anvil sees takes seconds while it loads its KZG trusted setup;
`warm_up_blobs` pays that cost at start instead of in the first submitBlobs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from linen.errors import ConfigError, OperationalError
from linen.ports import free_port
from linen.rpc.client import RpcClient, RpcUnreachable
from linen.tools import tool_path

DEFAULT_CHAIN_ID = 31337
# anvil's first dev key (mnemonic `test test ... junk`, index 0), funded in every fresh anvil.
ANVIL_FIRST_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


@dataclass
class LaunchedL1:
    """An L1 the devnet uses: `url` to reach it, `stop()` to let it go.

    For an external L1 (`use_l1_url`) there is no process and `stop()` does nothing.
    """

    url: str
    process: subprocess.Popen | None = None
    state_dir: Path | None = None
    log_path: Path | None = None
    chain_id: int = DEFAULT_CHAIN_ID
    extra: dict = field(default_factory=dict)
    adopted_pid: int | None = None  # an anvil a crashed devnet left running, taken over on restart

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, so anvil writes its state file before exiting; SIGKILL if it hangs."""
        if self.state_dir is not None:
            (self.state_dir / RUNNING_FILE).unlink(missing_ok=True)
        if self.adopted_pid is not None:
            _stop_pid(self.adopted_pid, timeout)
            return
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path and self.log_path.exists() else ""


def launch_anvil(
    state_dir: Path | None,
    port: int | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    state_interval: int = 30,
    block_time: float | None = None,
    timeout: float = 30.0,
    extra_args: tuple[str, ...] = (),
    log_path: Path | None = None,
) -> LaunchedL1:
    """Start anvil on 127.0.0.1 with the Prague hardfork and wait until it answers.

    With a `state_dir` the chain survives a restart (`--state <dir>/state.json`); without one it is
    in memory only (tests). Blocks are mined per transaction unless `block_time` is given. `extra_args`
    go to anvil as they are; its output goes to `log_path` (default: `<state_dir>/anvil.log`, or nowhere).
    """
    port = port or free_port()
    args = [
        str(tool_path("anvil")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--hardfork",
        "prague",
        "--chain-id",
        str(chain_id),
    ]
    if block_time is not None:
        args += ["--block-time", f"{block_time:g}"]
    args += list(extra_args)
    if state_dir is not None:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        args += ["--state", str(state_dir / "state.json"), "--state-interval", str(state_interval)]
        log_path = log_path or state_dir / "anvil.log"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    launched = LaunchedL1(f"http://127.0.0.1:{port}", process, state_dir, log_path, chain_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"anvil exited with {process.returncode}:\n{launched.log()}")
        try:
            RpcClient(launched.url, timeout=1).call("eth_chainId")
            return launched
        except RpcUnreachable:
            time.sleep(0.05)
    launched.stop()
    raise TimeoutError(f"anvil did not answer within {timeout}s:\n{launched.log()}")


def use_l1_url(url: str) -> LaunchedL1:
    """An L1 that Linen did not start (a testnet, a shared anvil): nothing to stop."""
    try:
        chain_id = int(str(RpcClient(url, timeout=10).call("eth_chainId")), 16)
    except (OperationalError, ValueError) as exc:
        raise ConfigError(f"the L1 at {url} does not answer eth_chainId: {exc}") from None
    return LaunchedL1(url, chain_id=chain_id)


def warm_up_blobs(url: str, private_key: str = ANVIL_FIRST_KEY) -> float:
    """Send one empty-blob transaction to self and wait for it; returns the seconds it took."""
    from linen.l1.blobs import send_blob_transaction  # blob code pulls in ckzg; only load it when needed

    started = time.monotonic()
    send_blob_transaction(url, private_key, to=None, data=b"", blobs=[bytes(131072)])
    return time.monotonic() - started


RUNNING_FILE = "running.json"


def _stop_pid(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _adopt_running(state_dir: Path) -> LaunchedL1 | None:
    """The anvil a killed devnet left behind, if it still answers: an L1 does not lose blocks when we crash.

    anvil writes its state file only every `state_interval` seconds, so starting a second one from
    that file after a `kill -9` would roll L1 back past transactions the coordinator saw mined.
    """
    record = state_dir / RUNNING_FILE
    try:
        running = json.loads(record.read_text())
        os.kill(int(running["pid"]), 0)
        chain_id = int(str(RpcClient(running["url"], timeout=2).call("eth_chainId")), 16)
    except (OSError, ValueError, KeyError, OperationalError):
        record.unlink(missing_ok=True)
        return None
    log_path = state_dir / "anvil.log"
    return LaunchedL1(running["url"], None, state_dir, log_path, chain_id, adopted_pid=int(running["pid"]))


def start_l1(state_dir: Path | None, l1_url: str | None = None, port: int | None = None,
             block_time: float | None = None) -> LaunchedL1:
    """The devnet's L1: the configured URL if there is one, else a warmed-up anvil keeping its state in `state_dir`.

    `block_time` (seconds) makes a new anvil mine on a clock instead of per transaction.
    """
    if l1_url:
        return use_l1_url(l1_url)
    if state_dir is not None:
        adopted = _adopt_running(Path(state_dir))
        if adopted is not None:
            return adopted
    launched = launch_anvil(state_dir, port=port, block_time=block_time)
    try:
        warm_up_blobs(launched.url)
    except Exception:
        launched.stop()
        raise
    if state_dir is not None and launched.process is not None:
        (Path(state_dir) / RUNNING_FILE).write_text(json.dumps({"pid": launched.process.pid, "url": launched.url}))
    return launched
