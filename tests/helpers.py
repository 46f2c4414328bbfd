"""Shared test helpers: free ports, a real `linen node` process, JSON-RPC calls, solc-js compiles."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from linen.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "tests" / "contracts"
LINEN = [sys.executable, "-m", "linen.cli"]


def rpc(url: str, method: str, params: list | None = None, timeout: float = 10.0) -> dict:
    """One JSON-RPC call; returns the whole response object (result or error)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def rpc_raw(url: str, body: bytes, timeout: float = 10.0) -> object:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
    except urllib.error.HTTPError as err:
        data = err.read()
    return json.loads(data) if data else None


class NodeProcess:
    """A real `linen node` subprocess on a free port, with its own data dir."""

    def __init__(self, data_dir: Path, block_period: float = 0.25, extra: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.args = LINEN + [
            "node",
            "--data-dir",
            str(data_dir),
            "--rpc-port",
            str(self.port),
            "--block-period",
            str(block_period),
        ] + (extra or [])
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-node.log"

    def start(self, timeout: float = 30.0) -> NodeProcess:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=os.environ.copy())
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"linen node exited with {self.proc.returncode}:\n{self.log()}")
            try:
                rpc(self.url, "eth_chainId", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"linen node did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def call(self, method: str, *params: object) -> object:
        response = rpc(self.url, method, list(params))
        if "error" in response:
            raise AssertionError(f"{method} failed: {response['error']}")
        return response["result"]

    def auth_rpc(self, method: str, params: list) -> dict:
        """A call on the node's authenticated endpoint (the write methods), signed with its JWT secret."""
        from linen.rpc.auth import auth_header, read_secret

        url = (self.data_dir / "auth-rpc.url").read_text().strip()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        headers = {"Content-Type": "application/json", **auth_header(read_secret(self.data_dir / "jwt.hex"))}
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as response:
            return json.loads(response.read())

    def wait_receipt(self, tx_hash: str, timeout: float = 20.0) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            receipt = self.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
            time.sleep(0.05)
        raise TimeoutError(f"no receipt for {tx_hash}")


def compile_contracts(*names: str) -> dict:
    """Compile tests/contracts/<name>.sol with the pinned solc-js; cached by source hash."""
    files = [CONTRACTS / f"{name}.sol" for name in names]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    cache = ROOT / ".pytest_cache" / f"solc-{digest}.json"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(["node", str(ROOT / "tools" / "compile.js"), str(tmp), *map(str, files)], check=True, cwd=ROOT)
        tmp.replace(cache)
    return json.loads(cache.read_text())
