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
