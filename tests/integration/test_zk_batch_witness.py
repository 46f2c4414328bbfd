"""Segment witnesses from a real node's execution request: the traces alone rebuild the tree.

An in-process node seals blocks of plain transfers (the three transaction types, two new accounts
created in an order other than the state manager's key-hash order, a 0-value transfer to a fresh
address, a new account sending on). The zk backend rebuilds the account tree from the request's
traces, applies the transfers in transaction order with the segment builder, and must end every
block at the state manager's root; the production segment circuit (K=8) accepts every witness
(noir_js execute: constraints satisfied, no proof made here). A batch with a contract creation is
refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from linen.coordinator.execution_request import build_execution_request
from tests.integration.test_execution_proving import InProcessNode
from tests.unit.chainkit import CHAIN_ID, signers

pytestmark = pytest.mark.slow
NO_SERVICE = "0x" + "00" * 20  # a zk-only chain has no L2 message service


@dataclass(frozen=True)
class Settings:
    key: str = "0x" + "5a" * 32
    l2_chain_id: int = CHAIN_ID
    l2_message_service: str | None = None
    traces_dir: Path | None = None
    execution_proofs: str = "zk"
    zk_dir: Path | None = None
    zk_threads: int = 0


def _priced(signer, **fields) -> bytes:
    """A legacy or EIP-2930 transfer (gasPrice, no EIP-1559 caps) from a chainkit signer."""
    tx = {"chainId": CHAIN_ID, "nonce": signer.nonce, "gasPrice": 10**9, "gas": 21_000, "value": 0, **fields}
    if tx.get("type") == 1:
        tx["accessList"] = []
    signer.nonce += 1
    return bytes(Account.sign_transaction(tx, signer.key).raw_transaction)


def test_segment_witnesses_from_node_traces(tmp_path):
    from linen.prover.backends.zk import (
        ZkWitnessRefused,
        add_zk_proof,
        batch_segments,
        segment_size,
        why_aggregation_not_provable,
        why_batch_not_provable,
    )
    from linen.state.trace_replay import choose_hasher, verify_traces
    from linen.zk import srs
    from linen.zk.proof_tree import CIRCUITS
    from linen.zk.toolchain import Toolchain

    harness = InProcessNode(tmp_path / "node")
    try:
        alice, bob, carol = signers()[:3]
        fresh = [Account.from_key(bytes([0x70 + i]) * 32) for i in range(3)]
        # block 1: legacy, EIP-2930 and EIP-1559 transfers; two inserts; a 0-value transfer to nobody
        harness.produce(
            alice.sign(to=bob.address, value=10**18),
            _priced(bob, to=fresh[0].address, value=10**18, type=1),
            _priced(carol, to=fresh[1].address, value=10**18),
            alice.sign(to=fresh[2].address, value=0),
        )
        # block 2: a new account sends; more than one segment's worth of transfers
        raws = [bytes(fresh[0].sign_transaction({
            "chainId": CHAIN_ID, "nonce": 0, "to": alice.address, "value": 7, "gas": 21000,
            "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**8, "type": 2}).raw_transaction)]
        raws += [alice.sign(to=bob.address, value=i + 1) for i in range(segment_size())]
        harness.produce(*raws)
        harness.wait_state(2)
        request = build_execution_request(harness.auth_client, harness.client, 1, 2, harness.node.traces_dir,
                                          l2_message_service=NO_SERVICE)
        settings = Settings()
        assert why_batch_not_provable(request, settings) is None

        segments = batch_segments(request, settings, segment_size(), (0, 0))
        assert len(segments) == 3, [s.first for s, _ in segments]
        parent = bytes.fromhex(request["zkParentStateRootHash"][2:])
        hasher = choose_hasher(None, parent, request["zkStateMerkleProof"])
        roots = [int.from_bytes(w.root, "big") for w in verify_traces(hasher, parent, request["zkStateMerkleProof"], 1)]
        assert segments[0][0].final_root == roots[0]
        assert segments[-1][0].final_root == roots[1]
        for (left, _), (right, _) in zip(segments, segments[1:], strict=False):
            assert left.final_root == right.parent_root

        srs.generate(tmp_path / "srs", 1025)  # execute needs no SRS, the toolchain wants one present
        tc = Toolchain(tmp_path / "cache", tmp_path / "srs")
        circuit = tc.compile(CIRCUITS / "segment")
        for _, inputs in segments:
            tc.execute(circuit, inputs, tmp_path / "w.gz")

        # anything else is refused by name, before any proving
        token = harness.produce(carol.sign(data="0x6001600c60003960016000f300", gas=100_000))
        assert token[0]["contractAddress"]
        harness.wait_state(3)
        other = build_execution_request(harness.auth_client, harness.client, 3, 3, harness.node.traces_dir,
                                        l2_message_service=NO_SERVICE)
        assert "contract creation" in (why_batch_not_provable(other, settings) or "")
        with pytest.raises(ZkWitnessRefused, match="not all plain transfers") as refused:
            add_zk_proof(other, settings, {})
        assert refused.value.exit_code == 78
        # a mixed chain (`auto`): that batch keeps its exec proof alone, and its aggregation the attestation
        exec_response = {"proof": "0x01"}
        assert add_zk_proof(other, replace(settings, execution_proofs="auto"), exec_response) is exec_response
        fields = {"l2MerkleRoots": [], "l1RollingHash": "0x00", "l1RollingHashMessageNumber": 0,
                  "lastFinalizedL1RollingHash": "0x00", "lastFinalizedL1RollingHashMessageNumber": 0}
        assert "no zk proof" in why_aggregation_not_provable(fields, [{"zkProof": {}}, exec_response], 1)
        assert "at most 4" in why_aggregation_not_provable(fields, [{"zkProof": {}}], 5)
        assert "messages" in why_aggregation_not_provable({**fields, "l2MerkleRoots": ["0x01"]}, [{"zkProof": {}}], 1)
        assert why_aggregation_not_provable(fields, [{"zkProof": {}}], 4) is None

        # through the prover's entry point: exit 78, no response written
        requests = tmp_path / "req"
        requests.mkdir()
        request_file = requests / "3-3-etv0.2.0-stv2.3.0-getZkProof.json"
        request_file.write_text(json.dumps(other))
        config = tmp_path / "prover.toml"
        config.write_text(f'[prover]\nkey = "{settings.key}"\nl2-chain-id = {CHAIN_ID}\n'
                          f'execution-proofs = "zk"\nzk-dir = "{tmp_path / "zk"}"\n')
        from linen.prover.prove import run as prove_run

        assert prove_run(["--config", str(config), "--in", str(request_file), "--out", str(tmp_path / "out.json")]) == 78
        assert not (tmp_path / "out.json").exists()
        assert Web3.is_address(token[0]["contractAddress"])
    finally:
        harness.stop()


def test_auto_proves_a_batch_of_plain_transfers_with_zk(tmp_path):
    """A mixed chain (`execution-proofs = "auto"`): a batch whose transactions are all plain transfers gets
    a real tree proof (one segment here) next to its exec proof; its statement is the batch's roots."""
    from linen.prover.backends.zk import add_zk_proof
    from linen.state.trace_replay import choose_hasher, verify_traces
    from linen.zk import srs
    from linen.zk.proof_tree import TreeProof

    harness = InProcessNode(tmp_path / "node")
    try:
        alice, bob = signers()[:2]
        harness.produce(alice.sign(to=bob.address, value=10**18), _priced(bob, to="0x" + "77" * 20, value=5))
        harness.wait_state(1)
        request = build_execution_request(harness.auth_client, harness.client, 1, 1, harness.node.traces_dir,
                                          l2_message_service=NO_SERVICE)
        srs.ensure_dev_srs(tmp_path / "zk" / "srs", 2**21 + 1)
        settings = Settings(execution_proofs="auto", zk_dir=tmp_path / "zk")
        exec_response = {"proof": "0x01"}
        response = add_zk_proof(request, settings, exec_response)
        assert response["proverMode"] == "zk" and response["proof"] == "0x01"
        top = TreeProof.from_json(response["zkProof"])
        parent = bytes.fromhex(request["zkParentStateRootHash"][2:])
        hasher = choose_hasher(None, parent, request["zkStateMerkleProof"])
        final = verify_traces(hasher, parent, request["zkStateMerkleProof"], 1)[-1].root
        assert top.statement.parent_root == int.from_bytes(parent, "big")
        assert top.statement.final_root == int.from_bytes(final, "big")
        assert top.statement.first[0] == top.statement.last[0] == 1 and len(top.proof) == 458
    finally:
        harness.stop()
