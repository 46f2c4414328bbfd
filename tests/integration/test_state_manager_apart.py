"""`linen state-manager` as its own process: pushed to by the node, pulling what it missed, surviving restarts."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from eth_account import Account

from linen.devaccounts import dev_accounts
from tests.helpers import LINEN, ROOT, NodeProcess, free_port, rpc

pytestmark = pytest.mark.slow
CHAIN_ID = 59139


class StateManagerProcess:
    def __init__(self, data_dir: Path, node_url: str, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.args = LINEN + ["state-manager", "--node-rpc", node_url, "--data-dir", str(data_dir),
                             "--rpc-port", str(port)]
        self.log_path = data_dir.parent / "state-manager.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> StateManagerProcess:
        self.proc = subprocess.Popen(self.args, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                rpc(self.url, "rollup_getZkEVMBlockNumber", timeout=1)
                return self
            except OSError:
                assert self.proc.poll() is None, self.log_path.read_text()
                time.sleep(0.1)
        raise TimeoutError(self.log_path.read_text())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)

    def head(self) -> int:
        return int(rpc(self.url, "rollup_getZkEVMBlockNumber")["result"], 16)

    def wait_head(self, number: int, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.head() >= number:
                return
            time.sleep(0.2)
        raise TimeoutError(f"state manager stuck at {self.head()}, wanted {number}:\n{self.log_path.read_text()}")


def transfer(node: NodeProcess, nonce: int) -> int:
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21_000,
          "to": dev_accounts()[1].address, "value": 1}
    raw = "0x" + bytes(Account.sign_transaction(tx, dev_accounts()[2].private_key).raw_transaction).hex()
    return int(node.wait_receipt(node.call("eth_sendRawTransaction", raw))["blockNumber"], 16)


def test_state_manager_apart_follows_pushes_and_catches_up_after_restart(tmp_path):
    port = free_port()
    node = NodeProcess(tmp_path / "node", block_period=0.3,
                       extra=["--config", str(_config(tmp_path, f"http://127.0.0.1:{port}"))]).start()
    manager = StateManagerProcess(tmp_path / "sm", node.url, port)
    try:
        manager.start()
        manager.wait_head(transfer(node, 0))
        root = rpc(manager.url, "linen_getZkStateRoot", [manager.head()])["result"]["zkStateRootHash"]
        assert root.startswith("0x") and len(root) == 66
        assert "error" in rpc(node.url, "linen_getZkStateRoot", [0])  # the node runs no state manager itself

        garbage = [{"blockNumber": 10**5, "blockHash": "0x" + "11" * 32, "trieLog": "0xdeadbeef", "syncing": False}]
        refused = rpc(manager.url, "state_sendRawTrieLog", garbage)
        assert "error" in refused and manager.head() >= 1  # refused, and still serving

        manager.stop()
        missed = transfer(node, 1)  # sealed while the manager is down: its push fails
        manager.start()
        manager.wait_head(missed)  # pulled from the node after the restart
    finally:
        manager.stop()
        node.stop()


def _config(tmp_path: Path, push_url: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(f'[state]\nenabled = false\npush-url = "{push_url}"\n')
    return path
