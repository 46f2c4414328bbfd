"""A `linen devnet` process for end-to-end tests, and the L1 and coordinator reads the scenarios check."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from eth_hash.auto import keccak

from tests.helpers import LINEN, ROOT, free_port, rpc


def call(url: str, method: str, *params):
    answer = rpc(url, method, list(params), timeout=30)
    if "error" in answer:
        raise AssertionError(f"{method}: {answer['error']}")
    return answer["result"]


def wait_for(what: str, read, timeout: float = 90.0, log=lambda: ""):
    """Poll `read` every half second until it returns something truthy (returned), or fail with `log()`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {timeout}s:\n{log()[-6000:]}")


class DevnetProcess:
    """`linen devnet` with its output in `<data-dir>.log`; `start` returns once devnet.json is written."""

    def __init__(self, data_dir: Path, block_period: float = 1.0, extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.port = free_port()
        self.block_period = block_period
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}

    def start(self, timeout: float = 180.0) -> DevnetProcess:
        already = self.log().count("written to")
        args = LINEN + ["devnet", "--data-dir", str(self.data_dir), "--rpc-port", str(self.port),
                        "--block-period", str(self.block_period), *self.extra_args]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"devnet exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            if self.log().count("written to") > already:
                self.info = json.loads((self.data_dir / "devnet.json").read_text())
                return self
            time.sleep(0.2)
        raise AssertionError(f"devnet did not start:\n{self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop_l1(self) -> None:
        """The anvil a killed devnet leaves running (tests clean it up)."""
        running = self.data_dir / "l1" / "running.json"
        if running.exists():
            import os

            try:
                os.kill(json.loads(running.read_text())["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass

    # -- reads --------------------------------------------------------------------------------------
    @property
    def l1(self) -> str:
        return self.info["l1"]["rpc"]

    @property
    def l2(self) -> str:
        return self.info["l2"]["rpc"]

    def rollup_uint(self, signature: str, *args: int) -> int:
        data = keccak(signature.encode())[:4] + b"".join(a.to_bytes(32, "big") for a in args)
        return int(call(self.l1, "eth_call", {"to": self.info["contracts"]["rollup"], "data": "0x" + data.hex()},
                        "latest"), 16)

    def finalized_block(self) -> int:
        return self.rollup_uint("currentL2BlockNumber()")

    def l1_state_root(self, number: int) -> str:
        return f"0x{self.rollup_uint('stateRootHashes(uint256)', number):064x}"

    def zk_root(self, number: int) -> str:
        return call(self.info["stateManager"]["rpc"], "linen_getZkStateRoot", hex(number))["zkStateRootHash"]

    def wait_finalized(self, number: int, timeout: float = 240.0) -> int:
        deadline = time.time() + timeout
        while time.time() < deadline:
            finalized = self.finalized_block()
            if finalized >= number:
                return finalized
            time.sleep(0.5)
        raise AssertionError(f"L1 finalized only {self.finalized_block()} < {number}:\n{self.log()[-6000:]}")

    def blobs(self) -> list[tuple[int, int, str]]:
        """(start, end, submission tx) of the coordinator's submitted blobs."""
        db = sqlite3.connect(self.data_dir / "coordinator" / "coordinator.sqlite")
        try:
            return db.execute(
                "SELECT start, end_block, submission_tx FROM blobs WHERE submission_tx IS NOT NULL ORDER BY start"
            ).fetchall()
        finally:
            db.close()


def start_fresh(tmp_path: Path, name: str = "devnet") -> DevnetProcess:
    return DevnetProcess(tmp_path / name).start()
