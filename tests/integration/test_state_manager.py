"""The state manager fed from a real chain: transfers, a contract deploy with storage, a storage delete.

Every block's trielog comes from the node's chain store (the in-process source, and the node-side
`shomei_getTrieLogsByRange` handler); the zk state must then agree with the node's EVM state.
"""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from linen.state.hashers import get_hasher
from linen.state.proofs import InclusionProof, proof_from_json, verify_proof
from linen.state_manager import rpc_methods
from linen.state_manager.service import ChainStoreTrieLogSource, StateManager
from tests.unit.chainkit import make_node, signers

RUNTIME = bytes.fromhex("600035600055" + "00")  # SSTORE(0, calldataload(0))
INIT = bytes.fromhex("602a600055" + "6007600155" + "6007601660003960076000f3") + RUNTIME


def test_zk_state_follows_the_chain(tmp_path):
    node = make_node(tmp_path / "node")
    try:
        alice, bob, carol = signers()[:3]
        node.submit_raw_transaction(alice.sign(to=bob.address, value=10**18))
        node.submit_raw_transaction(bob.sign(to=carol.address, value=5))
        node.producer.produce_block()
        contract = keccak(rlp.encode([carol.raw_address, carol.nonce]))[12:]
        node.submit_raw_transaction(carol.sign(data=INIT, gas=200_000))
        node.producer.produce_block()
        node.submit_raw_transaction(carol.sign(to=to_checksum_address(contract), data=bytes(32), gas=100_000))
        node.submit_raw_transaction(alice.sign(to=to_checksum_address(contract), data=bytes(32), gas=100_000))
        node.producer.produce_block()
        head = node.store.head()
        assert head.block_number == 3

        manager = StateManager(tmp_path / "state", "poseidon2-bn254", ChainStoreTrieLogSource(node.store, node.genesis.alloc))
        assert manager.sync() == 4 and manager.head == 3
        world = manager.world
        for address in [s.raw_address for s in (alice, bob, carol)] + [contract, head.coinbase]:
            account = world.account(address)
            assert account is not None, address.hex()
            assert account.balance == node.engine.get_balance(address, head)
            assert account.nonce == node.engine.get_nonce(address, head)
            assert account.code_size == len(node.engine.get_code(address, head))
        for slot in (0, 1, 2):
            assert world.storage(contract, slot.to_bytes(32, "big")) == node.engine.get_storage(contract, slot, head)
        assert world.storage(contract, (1).to_bytes(32, "big")) == 7  # slot 0 was set to 42, then deleted

        # proofs at the head verify against the recorded zk root
        proof = rpc_methods.METHODS["linea_getProof"](manager, ["0x" + contract.hex(), ["0x1"], "latest"])
        hasher = get_hasher("poseidon2-bn254")
        account_proof = proof_from_json(proof["accountProof"])
        assert isinstance(account_proof, InclusionProof)
        assert verify_proof(manager.zk_root(3), account_proof, hasher)
        assert verify_proof(account_proof.proof.value[64:96], proof_from_json(proof["storageProofs"][0]), hasher)

        # the node-side feed gives the same trielogs; a second manager fed by push reaches the same roots
        handler = rpc_methods.shomei_get_trie_logs_by_range_handler(node.store, node.genesis.alloc)
        items = handler(None, ["0x0", "0x9"])
        assert [int(i["blockNumber"], 16) for i in items] == [0, 1, 2, 3]
        pushed = StateManager(tmp_path / "pushed", "poseidon2-bn254")
        assert rpc_methods.send_raw_trielog(pushed, items) == ["imported"] * 4
        assert [pushed.zk_root(n) for n in range(4)] == [manager.zk_root(n) for n in range(4)]
        traces = rpc_methods.METHODS["rollup_getZkEVMStateMerkleProofV0"](
            manager, [{"startBlockNumber": 1, "endBlockNumber": 3, "zkStateManagerVersion": "test"}]
        )["zkStateMerkleProof"]
        assert any(t["location"] == "0x" + contract.hex() for t in traces[1])
        manager.close()
        pushed.close()
    finally:
        node.close()
