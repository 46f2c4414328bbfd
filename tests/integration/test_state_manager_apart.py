"""`linen state-manager` as its own process: pushed to by the node, pulling what it missed, surviving restarts.

Pushes go to the manager's authenticated endpoint, signed with the JWT secret it shares with the node;
a forged trielog is refused on every public method and, even signed, never applied (issue 13, hole 3).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from eth_account import Account

from linen.devaccounts import dev_accounts
from linen.rpc.auth import auth_header, make_token, read_secret
from linen.state.trielog import AccountChange, TrieLog, TrieLogAccount, TrieLogEntry, encode_trielog
from tests.helpers import LINEN, ROOT, NodeProcess, free_port, rpc

pytestmark = pytest.mark.slow
CHAIN_ID = 59139


class StateManagerProcess:
    def __init__(self, data_dir: Path, node_url: str, port: int, auth_port: int, jwt_secret: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.auth_url = f"http://127.0.0.1:{auth_port}"
        self.args = LINEN + ["state-manager", "--node-rpc", node_url, "--data-dir", str(data_dir),
                             "--rpc-port", str(port), "--auth-port", str(auth_port), "--jwt-secret", str(jwt_secret)]
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


def authed(url: str, method: str, params: list, headers: dict) -> tuple[int, dict]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def start_pair(tmp_path: Path) -> tuple[NodeProcess, StateManagerProcess]:
    port, auth_port = free_port(), free_port()
    node = NodeProcess(tmp_path / "node", block_period=0.3,
                       extra=["--config", str(_config(tmp_path, f"http://127.0.0.1:{auth_port}"))]).start()
    return node, StateManagerProcess(tmp_path / "sm", node.url, port, auth_port, tmp_path / "node" / "jwt.hex")


def test_state_manager_apart_follows_pushes_and_catches_up_after_restart(tmp_path):
    node, manager = start_pair(tmp_path)
    try:
        manager.start()
        manager.wait_head(transfer(node, 0))
        root = rpc(manager.url, "linen_getZkStateRoot", [manager.head()])["result"]["zkStateRootHash"]
        assert root.startswith("0x") and len(root) == 66
        assert "error" in rpc(node.url, "linen_getZkStateRoot", [0])  # the node runs no state manager itself

        garbage = [{"blockNumber": 10**5, "blockHash": "0x" + "11" * 32, "trieLog": "0xdeadbeef", "syncing": False}]
        secret = read_secret(tmp_path / "node" / "jwt.hex")
        _, refused = authed(manager.auth_url, "state_sendRawTrieLog", garbage, auth_header(secret))
        assert "error" in refused and manager.head() >= 1  # refused, and still serving
        with urllib.request.urlopen(manager.url + "/health", timeout=10) as reply:
            health = json.loads(reply.read())
        assert health["head"] == manager.head()
        assert health["actors"]["state-manager.apply"]["status"] == "ok"
        assert health["actors"]["state-manager.fetch"]["ticks"] >= 1
        with urllib.request.urlopen(manager.url + "/metrics", timeout=10) as reply:
            assert f"linen_state_manager_block {float(manager.head())}" in reply.read().decode()

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


def test_a_forged_trielog_is_refused_on_every_public_method_and_never_applied(tmp_path):
    node, manager = start_pair(tmp_path)
    try:
        manager.start()
        manager.wait_head(transfer(node, 0))
        head = manager.head()
        thief = "0x" + "ee" * 20
        forged_log = TrieLog(b"\x42" * 32, head + 1, (TrieLogEntry(
            bytes.fromhex(thief[2:]), None, AccountChange(None, TrieLogAccount(0, 10**30, b"\xc5" * 32))),))
        forged = [{"blockNumber": hex(head + 1), "blockHash": "0x" + "42" * 32,
                   "trieLog": "0x" + encode_trielog(forged_log).hex(), "syncing": False}]
        finality = [{"finalizedBlockNumber": hex(head), "finalizedBlockHash": "0x" + "42" * 32}]
        for url in (node.url, manager.url):  # the public ports do not have the write methods at all
            for method, params in (("state_sendRawTrieLog", forged), ("rollup_forkChoiceUpdated", finality),
                                   ("linea_generateConflatedTracesToFileV2",
                                    [{"startBlockNumber": "0x1", "endBlockNumber": "0x1"}])):
                assert rpc(url, method, params)["error"]["code"] == -32601, (url, method)
        secret = read_secret(tmp_path / "node" / "jwt.hex")
        wrong = bytes(32)
        for headers in ({}, {"Authorization": "Bearer nonsense"}, auth_header(wrong),
                        {"Authorization": f"Bearer {make_token(secret, now=time.time() - 600)}"}):
            status, answer = authed(manager.auth_url, "state_sendRawTrieLog", forged, headers)
            assert status == 401 and "unauthorized" in answer["error"]["message"], (headers, answer)
        # signed with the real secret it is taken in, then checked against the node's block and dropped
        status, answer = authed(manager.auth_url, "state_sendRawTrieLog", forged, auth_header(secret))
        assert status == 200, answer
        real = transfer(node, 1)
        manager.wait_head(real)
        for number in range(head + 1, real + 1):
            mine = rpc(manager.url, "linen_getZkStateRoot", [hex(number)])["result"]["blockHash"]
            assert mine == node.call("eth_getBlockByNumber", hex(number), False)["hash"]
        proof = rpc(manager.url, "linea_getProof", [thief, [], hex(real)])["result"]
        assert "leftProof" in proof["accountProof"], proof  # a proof of absence: the forged account is not there
        # the node's own write endpoint answers the same methods with a token
        node_auth = (tmp_path / "node" / "auth-rpc.url").read_text().strip()
        status, answer = authed(node_auth, "linea_generateConflatedTracesToFileV2",
                                [{"startBlockNumber": "0x1", "endBlockNumber": "0x1"}], auth_header(secret))
        assert status == 200 and "result" in answer, answer
    finally:
        manager.stop()
        node.stop()
