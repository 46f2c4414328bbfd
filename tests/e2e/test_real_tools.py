"""Real tools, unmodified, against one `linen devnet`: viem (HTTP and WebSocket, Multicall3 from its chain
definition), ethers v6, forge (build with OpenZeppelin, `forge create`, `forge script` through the CREATE2
deployer), cast, and Linea's SDK 0.3.0 bridging both ways (its L1ClaimingService claiming on L1).

Each tool signs with its own dev account, so they can run side by side: the SDK's bridge round trip (it
waits for L1 to finalize its withdrawal) runs in the background from the first test to the last.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess

import pytest
from eth_hash.auto import keccak

from linen.chain.predeploys import CREATE2_DEPLOYER, MULTICALL3, PREDEPLOYS
from linen.tools import node_modules, tool_path
from tests.e2e.devnet_support import DevnetProcess, call
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
CLIENTS = ROOT / "tests" / "clients"
FORGE_PROJECT = CLIENTS / "forge_project"
# dev accounts: 1 is `linen bridge`'s default and 9 the postman's; the tools take 2..5
VIEM, ETHERS, FORGE, SDK = 2, 3, 4, 5


def node_env() -> dict:
    return {**os.environ, "NODE_PATH": str(node_modules())}


def run_node(script: str, *args: str, timeout: float = 120) -> dict:
    done = subprocess.run(["node", str(CLIENTS / script), *args], capture_output=True, text=True, timeout=timeout,
                          env=node_env(), cwd=ROOT)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    proc = DevnetProcess(tmp_path_factory.mktemp("tools") / "devnet").start()
    yield proc
    proc.stop()


def key(devnet: DevnetProcess, index: int) -> str:
    return devnet.info["accounts"][index]["privateKey"]


def address(devnet: DevnetProcess, index: int) -> str:
    return devnet.info["accounts"][index]["address"]


@pytest.fixture(scope="module")
def sdk_bridge(devnet):
    """The Linea SDK's deposit and withdrawal, started once and left running while the other tools work."""
    args = {"l1": devnet.l1, "l2": devnet.l2, "rollup": devnet.info["contracts"]["rollup"],
            "l2MessageService": devnet.info["contracts"]["l2MessageService"], "key": key(devnet, SDK), "timeout": 150}
    proc = subprocess.Popen(["node", str(CLIENTS / "linea_sdk_bridge.js"), json.dumps(args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=node_env(), cwd=ROOT)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def cast(*args: str) -> str:
    done = subprocess.run([str(tool_path("cast")), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def cast_uint(devnet: DevnetProcess, to: str, signature: str, *args: str) -> int:
    """`cast call` of a uint-returning function (cast prints "59139 [5.913e4]")."""
    return int(cast("call", to, signature, *args, "--rpc-url", devnet.l2).split()[0])


def test_the_predeploys_are_there_for_cast(devnet, sdk_bridge):
    for predeploy, code in PREDEPLOYS.items():
        assert cast("code", predeploy, "--rpc-url", devnet.l2) == "0x" + code.hex()
    assert cast_uint(devnet, MULTICALL3, "getChainId()(uint256)") == 59139
    # the CREATE2 deployer deploys: salt || init code of a contract returning 0x2a, at the CREATE2 address
    init = bytes.fromhex("600a600c600039600a6000f3602a60005260206000f3")
    salt = random.randbytes(32)
    expected = keccak(b"\xff" + bytes.fromhex(CREATE2_DEPLOYER[2:]) + salt + keccak(init))[12:]
    sent = json.loads(cast("send", CREATE2_DEPLOYER, "0x" + (salt + init).hex(), "--rpc-url", devnet.l2,
                           "--private-key", key(devnet, FORGE), "--json"))
    assert sent["status"] == "0x1"
    assert cast("code", "0x" + expected.hex(), "--rpc-url", devnet.l2) == "0x602a60005260206000f3"


def test_viem_sends_in_a_row_over_http_and_ws_and_multicalls(devnet):
    result = run_node("viem_check.js", json.dumps({"http": devnet.l2, "ws": devnet.info["l2"]["ws"],
                                                   "key": key(devnet, VIEM), "chainId": 59139}))
    assert result["chainId"] == 59139
    for run in result["runs"]:
        assert run["statuses"] == ["success"] * 5, run
        assert run["nonces"] == [0, 1, 2, 3, 4], run
        chain_id, block, *balances = run["multicall"]
        assert chain_id == "59139" and int(block) >= max(run["blocks"])
        assert balances == run["expectedBalances"], run
    assert result["wsBlocks"] >= 1


def test_ethers_sends_in_a_row(devnet):
    result = run_node("ethers_burst.js", devnet.l2, key(devnet, ETHERS))
    for run in result["runs"]:
        assert run["statuses"] == [1] * 5, run
        assert run["nonces"] == [0, 1, 2, 3, 4], run
        assert run["types"] == [2] * 5
        assert run["balances"] == run["expectedBalances"], run


def forge(tmp_path, *args: str, extra_env: dict | None = None) -> str:
    env = {**os.environ, "FOUNDRY_OUT": str(tmp_path / "out"), "FOUNDRY_CACHE_PATH": str(tmp_path / "cache"),
           "FOUNDRY_BROADCAST": str(tmp_path / "broadcast"), **(extra_env or {})}
    done = subprocess.run([str(tool_path("forge")), *args], capture_output=True, text=True, timeout=240, env=env,
                          cwd=FORGE_PROJECT)
    assert done.returncode == 0, f"forge {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_forge_builds_with_openzeppelin_and_deploys_with_create_and_script(devnet, tmp_path):
    out = forge(tmp_path, "build")
    assert "Compiler run successful" in out
    artefact = json.loads((tmp_path / "out" / "LinenToken.sol" / "LinenToken.json").read_text())
    assert artefact["deployedBytecode"]["object"].startswith("0x60")
    holder = address(devnet, FORGE)
    rpc = ["--rpc-url", devnet.l2, "--private-key", key(devnet, FORGE)]

    created = forge(tmp_path, "create", "--broadcast", *rpc, "src/LinenToken.sol:LinenToken",
                    "--constructor-args", holder, "1000")
    token = re.search(r"Deployed to: (0x[0-9a-fA-F]{40})", created).group(1)
    tx_hash = re.search(r"Transaction hash: (0x[0-9a-f]{64})", created).group(1)
    assert call(devnet.l2, "eth_getTransactionReceipt", tx_hash)["status"] == "0x1"
    assert call(devnet.l2, "eth_getCode", token, "latest") != "0x"
    assert cast_uint(devnet, token, "balanceOf(address)(uint256)", holder) == 1000

    recipient = "0x000000000000000000000000000000000000bEEF"
    salt = str(random.getrandbits(64))
    forge(tmp_path, "script", "script/Deploy.s.sol:Deploy", "--broadcast", *rpc,
          extra_env={"RECIPIENT": recipient, "SALT": salt})
    broadcast = json.loads((tmp_path / "broadcast" / "Deploy.s.sol" / "59139" / "run-latest.json").read_text())
    kinds = [(t["transactionType"], t["contractName"]) for t in broadcast["transactions"]]
    assert kinds == [("CREATE", "LinenToken"), ("CREATE2", "LinenNFT"), ("CALL", "LinenNFT")]
    assert [r["status"] for r in broadcast["receipts"]] == ["0x1"] * 3
    for receipt in broadcast["receipts"]:  # what forge recorded is what the chain has
        assert call(devnet.l2, "eth_getTransactionReceipt", receipt["transactionHash"])["status"] == "0x1"
    script_token = broadcast["transactions"][0]["contractAddress"]
    nft = broadcast["transactions"][1]["contractAddress"]
    assert broadcast["transactions"][1]["transaction"]["to"].lower() == CREATE2_DEPLOYER.lower()
    for contract in (script_token, nft):
        assert call(devnet.l2, "eth_getCode", contract, "latest") != "0x"
    assert cast_uint(devnet, script_token, "balanceOf(address)(uint256)", recipient) == 10**24
    assert cast_uint(devnet, nft, "balanceOf(address)(uint256)", recipient) == 1
    assert cast("call", nft, "ownerOf(uint256)(address)", "1", "--rpc-url", devnet.l2).lower() == recipient.lower()


def test_the_linea_sdk_deposits_and_withdraws_claiming_on_both_chains(devnet, sdk_bridge):
    try:
        stdout, stderr = sdk_bridge.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        sdk_bridge.kill()
        stdout, stderr = sdk_bridge.communicate()
    assert sdk_bridge.returncode == 0, f"{stdout}\n{stderr}\n{devnet.log()[-4000:]}"
    result = json.loads(stdout.strip().splitlines()[-1])
    # L1 → L2: anchored by the coordinator, claimed on L2 by the SDK, the value delivered
    assert result["depositClaim"]["status"] == 1
    assert result["depositClaim"]["to"].lower() == devnet.info["contracts"]["l2MessageService"].lower()
    assert result["depositStatus"] == "CLAIMED" and result["depositBalance"] == result["value"]
    # L2 → L1: the SDK took the Merkle-proof path, waited for finalization, claimed with a depth-5 proof
    assert result["proofPath"] is True
    assert result["statusBeforeFinalization"] == "UNKNOWN"
    assert result["proof"]["depth"] == 5
    assert result["withdrawalClaim"]["status"] == 1
    assert result["withdrawalClaim"]["to"].lower() == devnet.info["contracts"]["rollup"].lower()
    assert result["withdrawalStatus"] == "CLAIMED" and result["withdrawalBalance"] == result["value"]
    claimed = call(devnet.l1, "eth_getTransactionReceipt", result["withdrawalClaim"]["hash"])
    claimed_topic = "0x" + keccak(b"MessageClaimed(bytes32)").hex()
    assert [log["topics"][1] for log in claimed["logs"] if log["topics"][0] == claimed_topic] == [
        result["withdrawalHash"]]


def test_cast_runs_lists_access_and_proves_on_the_devnet(devnet):
    """`cast run`, `cast access-list` and `cast proof` against the devnet's L2 (the node's debug methods)."""
    rpc = ["--rpc-url", devnet.l2]
    # Multicall3.aggregate3 with one call back into itself (getChainId): a nested call to replay
    inner = cast("calldata", "getChainId()")
    calldata = cast("calldata", "aggregate3((address,bool,bytes)[])", f"[({MULTICALL3},false,{inner})]")
    sent = json.loads(cast("send", MULTICALL3, calldata, *rpc, "--private-key", key(devnet, SDK + 1), "--json"))
    assert sent["status"] == "0x1"
    replay = subprocess.run([str(tool_path("cast")), "run", sent["transactionHash"], *rpc], capture_output=True,
                            text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert "Transaction successfully executed" in replay.stdout and "getChainId" in replay.stdout, replay.stdout
    listed = json.loads(cast("access-list", MULTICALL3, calldata, "--from", address(devnet, SDK + 1), *rpc, "--json"))
    assert isinstance(listed.get("access_list", listed.get("accessList")), list), listed
    proof = json.loads(cast("proof", MULTICALL3, "0", *rpc))
    on_chain = call(devnet.l2, "eth_getProof", MULTICALL3, ["0x0"], "latest")
    assert proof["accountProof"] == on_chain["accountProof"] and proof["storageProof"][0]["proof"] == on_chain[
        "storageProof"][0]["proof"]
    nonce = proof["nonce"]
    assert (int(nonce, 16) if isinstance(nonce, str) else nonce) == 1  # predeploys carry nonce 1
