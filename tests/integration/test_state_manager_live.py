"""The state manager inside a real `linen node` process: it follows the chain and serves proofs over RPC."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from linen.devaccounts import dev_accounts
from linen.state.hashers import get_hasher
from linen.state.proofs import proof_from_json, verify_proof
from tests.helpers import NodeProcess, rpc

pytestmark = pytest.mark.slow
CHAIN_ID = 59139


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    node = NodeProcess(tmp_path_factory.mktemp("state") / "node", block_period=0.3).start()
    yield node
    node.stop()


def wait_state_head(node: NodeProcess, number: int, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        head = rpc(node.url, "rollup_getZkEVMBlockNumber")["result"]
        if int(head, 16) >= number:
            return
        time.sleep(0.2)
    raise TimeoutError(f"state manager did not reach block {number}:\n{node.log()}")


def test_state_manager_follows_the_node_and_proves_accounts(live):
    sender, recipient = dev_accounts()[0], "0x00000000000000000000000000000000000beef1"
    tx = {"chainId": CHAIN_ID, "nonce": 0, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21_000,
          "to": to_checksum_address(recipient), "value": 12345}
    raw = "0x" + bytes(Account.sign_transaction(tx, sender.private_key).raw_transaction).hex()
    receipt = live.wait_receipt(live.call("eth_sendRawTransaction", raw))
    block = int(receipt["blockNumber"], 16)
    wait_state_head(live, block)

    root = live.call("linen_getZkStateRoot", block)["zkStateRootHash"]
    parent_root = live.call("linen_getZkStateRoot", block - 1)["zkStateRootHash"]
    assert root != parent_root
    traces = live.call("rollup_getZkEVMStateMerkleProofV0",
                       {"startBlockNumber": block, "endBlockNumber": block, "zkStateManagerVersion": "test"})
    assert traces["zkParentStateRootHash"] == parent_root and traces["zkEndStateRootHash"] == root
    kinds = {t["type"] for t in traces["zkStateMerkleProof"][0]}
    assert 2 in kinds and 3 in kinds  # the recipient is inserted, the sender updated

    hasher = get_hasher("poseidon2-bn254")
    state_head = int(live.call("rollup_getZkEVMBlockNumber"), 16)
    head_root = bytes.fromhex(live.call("linen_getZkStateRoot", state_head)["zkStateRootHash"][2:])
    present = live.call("linea_getProof", recipient, [], hex(state_head))
    assert verify_proof(head_root, proof_from_json(present["accountProof"]), hasher)
    absent = live.call("linea_getProof", "0x" + "77" * 20, [], hex(state_head))
    assert "leftProof" in absent["accountProof"]
    assert verify_proof(head_root, proof_from_json(absent["accountProof"]), hasher)

    missing = rpc(live.url, "rollup_getZkEVMStateMerkleProofV0",
                  [{"startBlockNumber": 10**6, "endBlockNumber": 10**6, "zkStateManagerVersion": "test"}])["error"]
    assert "BLOCK_MISSING_IN_CHAIN" in missing["message"]
    wrong_version = rpc(live.url, "rollup_getZkEVMStateMerkleProofV0",
                        [{"startBlockNumber": block, "endBlockNumber": block, "zkStateManagerVersion": "9.9.9"}])
    assert "UNSUPPORTED_VERSION" in wrong_version["error"]["message"]
    assert live.call("eth_blockNumber")  # the node still serves after the refusals
