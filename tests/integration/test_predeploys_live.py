"""On a real `linen node`: the predeploys answer, and Arachnid's pre-EIP-155 deployment is refused by
default and accepted (and deploys the same code) with `[rpc] allow-unprotected-txs`."""

import json

import pytest

from linen.chain.genesis import default_devnet_genesis_document
from linen.chain.predeploys import CREATE2_DEPLOYER, CREATE2_DEPLOYER_CODE, MULTICALL3, MULTICALL3_CODE, PREDEPLOYS
from tests.helpers import NodeProcess, rpc
from tests.unit.test_predeploys import ARACHNID_DEPLOYER, ARACHNID_DEPLOYMENT_TX

pytestmark = pytest.mark.slow
RAW = "0x" + ARACHNID_DEPLOYMENT_TX.hex()


def test_the_devnet_node_serves_the_predeploys_and_refuses_unprotected_transactions(node):
    for address, code in PREDEPLOYS.items():
        assert node.call("eth_getCode", address, "latest") == "0x" + code.hex()
    # Multicall3 works: getBlockNumber() through aggregate3([]) is the simplest call that reaches it
    assert int(node.call("eth_call", {"to": MULTICALL3, "data": "0x42cbb15c"}, "latest"), 16) >= 0
    # running the deployment's init code gives the genesis code (a creation call returns the code)
    init = "0x604580600e600039806000f350fe" + CREATE2_DEPLOYER_CODE.hex()
    assert node.call("eth_call", {"data": init}, "latest") == "0x" + CREATE2_DEPLOYER_CODE.hex()
    answer = rpc(node.url, "eth_sendRawTransaction", [RAW])
    assert answer["error"]["code"] == -32003, answer
    assert "replay-protected" in answer["error"]["message"]
    assert len(MULTICALL3_CODE) == 3808


def test_allow_unprotected_txs_lets_arachnids_deployment_in(tmp_path, monkeypatch):
    genesis = default_devnet_genesis_document()
    for address in PREDEPLOYS:
        del genesis["alloc"][address]
    genesis["alloc"][ARACHNID_DEPLOYER] = {"balance": hex(10**18)}
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(genesis))
    monkeypatch.setenv("LINEN_RPC_ALLOW_UNPROTECTED_TXS", "true")
    node = NodeProcess(tmp_path / "node", extra=["--genesis", str(path)]).start()
    try:
        assert node.call("eth_getCode", CREATE2_DEPLOYER, "latest") == "0x"
        tx_hash = node.call("eth_sendRawTransaction", RAW)
        receipt = node.wait_receipt(tx_hash)
        assert receipt["status"] == "0x1"
        assert receipt["contractAddress"].lower() == CREATE2_DEPLOYER.lower()
        assert node.call("eth_getCode", CREATE2_DEPLOYER, "latest") == "0x" + CREATE2_DEPLOYER_CODE.hex()
        assert node.call("eth_getTransactionByHash", tx_hash)["v"] == "0x1b"
    finally:
        node.stop()
