"""`linen devnet`: prints the RPC URL and funded accounts, writes devnet.json, resumes, stops on Ctrl-C."""

import json
import signal
import subprocess
import time

import pytest
from eth_utils import keccak

from linen.chain.genesis import default_devnet_genesis_document, parse_genesis
from linen.devnet import genesis_zk_root
from tests.helpers import LINEN, ROOT, free_port, rpc


def state_manager_root(url, number, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        answer = rpc(url, "linen_getZkStateRoot", [number])
        if "result" in answer:
            return answer["result"]["zkStateRootHash"]
        time.sleep(0.2)
    raise TimeoutError(answer)


def rpc_or_error(url):
    try:
        return rpc(url, "eth_chainId", timeout=2)
    except OSError as exc:
        return {"error": str(exc)}

pytestmark = pytest.mark.slow


def start_devnet(data_dir, port, *extra):
    proc = subprocess.Popen(
        LINEN + ["devnet", "--data-dir", str(data_dir), "--rpc-port", str(port), "--block-period", "0.2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines = []
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("written to"):
            return proc, "".join(lines)
    proc.kill()
    raise AssertionError("devnet did not start:\n" + "".join(lines))


def test_devnet_prints_accounts_writes_json_and_stops_cleanly(tmp_path):
    port = free_port()
    data_dir = tmp_path / "devnet"
    proc, output = start_devnet(data_dir, port)
    try:
        assert f"http://127.0.0.1:{port}" in output
        assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in output
        info = json.loads((data_dir / "devnet.json").read_text())
        assert info["l2"]["chainId"] == 59139
        assert len(info["accounts"]) == 10
        assert rpc(info["l2"]["rpc"], "eth_chainId")["result"] == hex(59139)
        balance = rpc(info["l2"]["rpc"], "eth_getBalance", [info["accounts"][0]["address"], "latest"])["result"]
        assert int(balance, 16) == 10_000 * 10**18
        # The L1 runs, the contracts are on both chains, and the rollup starts from the genesis zk root.
        l1, contracts = info["l1"]["rpc"], info["contracts"]
        assert rpc(l1, "eth_chainId")["result"] == hex(31337)
        assert len(rpc(l1, "eth_getCode", [contracts["rollup"], "latest"])["result"]) > 1000
        assert len(rpc(l1, "eth_getCode", [contracts["verifiers"]["0"], "latest"])["result"]) > 1000
        service = contracts["l2MessageService"]
        assert len(rpc(info["l2"]["rpc"], "eth_getCode", [service, "latest"])["result"]) > 1000
        root_zero = "0x" + keccak(b"stateRootHashes(uint256)")[:4].hex() + "00" * 32
        genesis_root = rpc(l1, "eth_call", [{"to": contracts["rollup"], "data": root_zero}, "latest"])["result"]
        assert genesis_root == "0x" + genesis_zk_root(parse_genesis(default_devnet_genesis_document()).alloc).hex()
        assert genesis_root == state_manager_root(info["l2"]["rpc"], 0)  # the root the state manager computed
        assert json.loads((data_dir / "contracts.json").read_text())["rollup"] == contracts["rollup"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    assert "error" in rpc_or_error(l1)  # anvil stopped with the devnet

    # run again: same chain (genesis and head kept), same L1 and contracts; --fresh starts over
    proc, output = start_devnet(data_dir, port)
    again = json.loads((data_dir / "devnet.json").read_text())
    assert again["contracts"] == contracts
    assert "deploying" not in output
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    proc, output = start_devnet(data_dir, port, "--fresh")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 0


def test_node_refuses_a_data_dir_of_another_chain(tmp_path):
    port = free_port()
    data_dir = tmp_path / "chain"
    proc, _ = start_devnet(data_dir, port)
    proc.send_signal(signal.SIGINT)
    proc.wait(20)
    genesis = tmp_path / "other.json"
    genesis.write_text(json.dumps({"config": {"chainId": 1234}, "alloc": {}}))
    result = subprocess.run(
        LINEN + ["node", "--data-dir", str(data_dir), "--rpc-port", str(port), "--genesis", str(genesis)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )
    assert result.returncode != 0
    assert "holds a chain with genesis" in result.stderr
