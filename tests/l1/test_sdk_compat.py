"""What Linea's SDK (npm @consensys/linea-sdk 0.3.0) reads from the contracts, answered as Linea's do.

The SDK claims an L2→L1 message with a Merkle proof only if the L2 message service logged
`ServiceVersionMigrated(2)` at or before the message's block; otherwise it takes the pre-migration path
(`inboxL2L1MessageStatus`, the 7-argument `claimMessage`). Linen's L2 service logs it at deployment, and
the rollup answers the legacy reads the way Linea's does for a hash its (empty) inbox does not hold.
"""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak
from web3 import Web3

from linen.l1.transact import transact
from linen.protocol.messaging import compute_message_hash
from tests.l1.support import ATTACKER, POSTMAN, USER, deploy_l2_service, events
from tests.l1.test_l1_messaging import MIN_FEE, claim_params, env, l2_messages, receiver  # noqa: F401 (fixtures)

SERVICE_VERSION_MIGRATED = "0x" + keccak(b"ServiceVersionMigrated(uint256)").hex()


def test_the_l2_service_logs_service_version_2_at_deployment(l2_w3, artifacts):
    # the topic the SDK's ABI has for ServiceVersionMigrated(uint256 indexed version)
    assert SERVICE_VERSION_MIGRATED == "0x6f4cd2683fd248db2513412cb2f25f767694689d6f083941f7437c8fe1f87964"
    service = deploy_l2_service(l2_w3, artifacts, MIN_FEE)
    logs = service.events.ServiceVersionMigrated().get_logs(from_block=0, argument_filters={"version": 2})
    assert len(logs) == 1 and logs[0].args.version == 2
    deployed_at = logs[0].blockNumber
    assert l2_w3.eth.get_code(service.address) and deployed_at >= 1  # the SDK treats block 0 as "no migration"
    assert service.functions.SERVICE_VERSION().call() == 2
    # a message sent afterwards is in a block at or after the migration block: the SDK takes the proof path
    receipt = transact(l2_w3, USER.private_key, service.functions.sendMessage(USER.address, MIN_FEE, b""), MIN_FEE)
    assert receipt["blockNumber"] >= deployed_at
    # nothing else can log it again: no function emits it
    assert not [f for f in artifacts["L2MessageService"].abi if f.get("name", "").lower().startswith("migrat")]


def test_legacy_l1_reads_answer_unknown_and_the_legacy_claim_names_the_message(env, l2_messages):  # noqa: F811
    hashes, messages = l2_messages
    for message_hash in [*hashes, b"\x00" * 32, b"\xff" * 32]:
        assert env.rollup.functions.inboxL2L1MessageStatus(message_hash).call() == 0
    m = messages[1]
    legacy = env.rollup.functions.claimMessage(m._from, m._to, m._fee, m._value, POSTMAN.address, m._calldata, m._nonce)
    expected = compute_message_hash(
        bytes.fromhex(m._from[2:]), bytes.fromhex(m._to[2:]), m._fee, m._value, m._nonce, bytes(m._calldata)
    )
    assert expected == hashes[1]
    assert env.revert(legacy, sender=POSTMAN) == ("MessageDoesNotExistOrHasAlreadyBeenClaimed", (hashes[1],))


def test_the_legacy_claim_cannot_take_a_finalized_message(env, l2_messages, l1_snapshot):  # noqa: F811
    """The attacker, who is the message's recipient, tries the proof-less path on a finalized message: it
    reverts even when sent for real, moves nothing, and the message stays claimable with its proof."""
    hashes, messages = l2_messages
    m = messages[1]
    assert m._to == ATTACKER.address
    legacy = env.rollup.functions.claimMessage(m._from, m._to, m._fee, m._value, ATTACKER.address, m._calldata, m._nonce)
    before = env.w3.eth.get_balance(env.rollup.address)
    tx = legacy.build_transaction({"from": ATTACKER.address, "gas": 200_000, "nonce":
                                   env.w3.eth.get_transaction_count(ATTACKER.address)})
    signed = env.w3.eth.account.sign_transaction(tx, ATTACKER.private_key)
    receipt = env.w3.eth.wait_for_transaction_receipt(env.w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 0 and not receipt["logs"]
    assert env.w3.eth.get_balance(env.rollup.address) == before
    assert not env.rollup.functions.isMessageClaimed(m._nonce).call()
    claimed = env.send(env.rollup.functions.claimMessageWithProof(claim_params(hashes, messages, 1)), sender=POSTMAN)
    assert [e.args._messageHash for e in events(env.rollup, "MessageClaimed", claimed)] == [hashes[1]]
    # and once claimed, the legacy path still refuses rather than paying twice
    assert env.revert(legacy, sender=ATTACKER)[0] == "MessageDoesNotExistOrHasAlreadyBeenClaimed"


@pytest.mark.parametrize("selector, signature", [
    ("0x5c721a0c", "inboxL2L1MessageStatus(bytes32)"),
    ("0x491e0936", "claimMessage(address,address,uint256,uint256,address,bytes,uint256)"),
    ("0x6463fb2a", "claimMessageWithProof((bytes32[],uint256,uint32,address,address,uint256,uint256,address,bytes32,bytes))"),
    ("0x9ee8b211", "isMessageClaimed(uint256)"),
])
def test_the_selectors_the_sdk_calls_are_in_the_rollup_abi(artifacts, selector, signature):
    assert "0x" + Web3.keccak(text=signature)[:4].hex() == selector
    names = {f"{f['name']}({','.join(_type(i) for i in f['inputs'])})"
             for f in artifacts["LinenRollup"].abi if f["type"] == "function"}
    assert signature in names


def _type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


def test_the_linea_sdk_itself_claims_a_finalized_message_with_its_proof(l1_w3, l2_w3, artifacts, test_artifacts):
    """The SDK, unmodified, on anvil: the L2 messages of two real L2 blocks finalized on L1 (the offsets name
    those blocks); it takes the proof path, finds the root, claims, and sees it CLAIMED."""
    import json
    import os
    import subprocess

    from linen.l1.finalization import ShnarfData
    from linen.protocol.calldata_submission import compute_calldata_submission
    from linen.protocol.messaging import build_l2_message_trees, encode_l2_messaging_blocks_offsets, l2_message_proof
    from linen.tools import node_modules
    from tests.helpers import ROOT
    from tests.l1.support import RollupEnv

    rollup = RollupEnv.deploy(l1_w3, artifacts)
    rollup.send(rollup.rollup.functions.sendMessage(USER.address, 0, b""), sender=USER, value=10**18)
    service = deploy_l2_service(l2_w3, artifacts, MIN_FEE)
    recipients = [Web3.to_checksum_address(keccak(bytes([i]) * 20)[:20]) for i in range(3)]
    sent = []
    for to in recipients:  # three messages in three L2 blocks; the postman fee is 0
        receipt = transact(l2_w3, USER.private_key, service.functions.sendMessage(to, MIN_FEE, b""), MIN_FEE + 10**15)
        (event,) = events(service, "MessageSent", receipt)
        sent.append((receipt["blockNumber"], bytes(event.args._messageHash)))
    hashes = [h for _, h in sent]
    data, snark, root = b"\0" * 32, b"\x71" * 32, b"\x72" * 32
    submission = compute_calldata_submission(rollup.genesis_shnarf, snark, root, data)
    rollup.send(rollup.rollup.functions.submitDataAsCalldata((root, snark, data), rollup.genesis_shnarf,
                                                               submission.shnarf))
    last = sent[-1][0]
    rollup.send(rollup.finalize_call(rollup.finalization_for(
        None, last, shnarf_data=ShnarfData(rollup.genesis_shnarf, snark, root, submission.x, submission.y),
        l2_merkle_roots=tuple(build_l2_message_trees(hashes)),
        l2_messaging_blocks_offsets=encode_l2_messaging_blocks_offsets(1, [b for b, _ in sent]),
    )))
    args = {"l1": l1_w3.provider.endpoint_uri, "l2": l2_w3.provider.endpoint_uri, "rollup": rollup.rollup.address,
            "l2MessageService": service.address, "key": POSTMAN.private_key, "messageHash": "0x" + hashes[1].hex()}
    done = subprocess.run(["node", str(ROOT / "tests" / "clients" / "linea_sdk_claim.js"), json.dumps(args)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": str(node_modules())})
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["migrationBlock"] >= 1 and result["proofPath"] is True
    assert result["legacyStatus"] == "UNKNOWN" and result["statusBefore"] == "CLAIMABLE"
    expected_root, leaf_index, siblings = l2_message_proof(hashes, 1)
    assert result["proof"]["root"] == "0x" + expected_root.hex() and result["proof"]["leafIndex"] == leaf_index
    assert result["proof"]["siblings"] == ["0x" + s.hex() for s in siblings]
    assert result["claim"]["status"] == 1 and result["statusAfter"] == "CLAIMED"
    assert l1_w3.eth.get_balance(recipients[1]) == 10**15
    # a second claim is refused at estimation: MessageAlreadyClaimed(2), the message's number
    already = "0x" + keccak(b"MessageAlreadyClaimed(uint256)")[:4].hex() + f"{2:064x}"
    assert f'data="{already}"' in result["secondClaim"], result["secondClaim"]
