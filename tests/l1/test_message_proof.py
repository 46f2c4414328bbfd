"""L2→L1 claims rebuilt from events (linen.bridge.message_proof) against the real rollup on anvil.

35 messages are sent on L2 and finalized in two aggregations (the first holds 33, so two mini-trees);
the claims built from logs alone must be accepted by claimMessageWithProof, and a tampered one refused.
"""

from __future__ import annotations

import pytest
from eth_abi.exceptions import EncodingError
from web3 import Web3

from linen.bridge.abi import (
    DATA_FINALIZED_V3_SIGNATURE,
    L1_MESSAGE_SERVICE_ABI,
    L2_MESSAGE_SERVICE_ABI,
    MESSAGE_CLAIMED_SIGNATURE,
)
from linen.bridge.message_proof import (
    ClaimDataMismatch,
    MessageNotFinalized,
    UnknownMessage,
    build_l2_to_l1_claim,
    claim_to_json,
)
from linen.l1.transact import transact
from linen.protocol.messaging import MESSAGE_SENT_SIGNATURE, l2_message_proof
from tests.l1.l2_finality import L2Finality
from tests.l1.support import ADMIN, ATTACKER, POSTMAN, USER, RollupEnv, deploy_l2_service, deploy_receiver, events

MIN_FEE = 10**14
FIRST_BATCH = 33


@pytest.fixture(scope="module")
def bridge(l1_w3, l2_w3, artifacts, test_artifacts):
    """Two finalized aggregations of L2 messages; returns what the test recorded while sending them."""
    env = RollupEnv.deploy(l1_w3, artifacts)
    env.send(env.rollup.functions.sendMessage(ADMIN.address, 0, b""), sender=ADMIN, value=50 * 10**18)
    service = deploy_l2_service(l2_w3, artifacts, MIN_FEE)
    receiver = deploy_receiver(l1_w3, test_artifacts)
    finality = L2Finality(env)
    sent = []

    def send(to: str, value: int, data: bytes = b"", fee: int = MIN_FEE) -> None:
        receipt = transact(l2_w3, USER.private_key, service.functions.sendMessage(to, fee, data), fee + value)
        (event,) = events(service, "MessageSent", receipt)
        sent.append((event.args, receipt["blockNumber"]))

    send(receiver.address, 10**15, bytes.fromhex(receiver.encode_abi("receiveMessage", [b"hi"])[2:]))
    for i in range(1, FIRST_BATCH):
        send(ATTACKER.address, 10**12 + i, b"" if i % 3 else bytes([i]), MIN_FEE + i)
    first = [bytes(args._messageHash) for args, _ in sent]
    finality.finalize(l2_w3.eth.block_number, first, [b for _, b in sent])
    for i in range(2):
        send(ATTACKER.address, 7 + i)
    second = [bytes(args._messageHash) for args, _ in sent[FIRST_BATCH:]]
    finality.finalize(l2_w3.eth.block_number, second, [b for _, b in sent[FIRST_BATCH:]])
    return env, service, receiver, finality, sent, first, second


def build(bridge, l1_w3, l2_w3, message_hash, **options):
    env, service = bridge[0], bridge[1]
    return build_l2_to_l1_claim(l1_w3, env.rollup.address, l2_w3, service.address, message_hash, **options)


@pytest.mark.parametrize("index", [0, 31, 32])
def test_claims_from_the_first_aggregation_match_its_trees(bridge, l1_w3, l2_w3, index):
    first = bridge[5]
    args, block = bridge[4][index]
    claim = build(bridge, l1_w3, l2_w3, bytes(args._messageHash))
    root, leaf_index, proof = l2_message_proof(first, index)
    assert (claim.merkle_root, claim.leaf_index, claim.proof) == (root, leaf_index, proof)
    assert claim.leaf_index == index % 32 and claim.message_number == args._nonce
    assert (claim.sender, claim.recipient, claim.fee, claim.value, claim.data) == (
        args._from, args._to, args._fee, args._value, args._calldata)
    assert claim.l2_block_number == block and claim.finalized_range[0] == 1


def test_claim_is_accepted_by_the_rollup(bridge, l1_w3, l2_w3, l1_snapshot):
    env, receiver, sent = bridge[0], bridge[2], bridge[4]
    claims = [build(bridge, l1_w3, l2_w3, bytes(sent[i][0]._messageHash)) for i in (0, 32, 34)]
    assert claims[1].merkle_root != claims[0].merkle_root  # the 33rd message sits in the second tree
    before = l1_w3.eth.get_balance(ATTACKER.address)
    for claim in claims:
        receipt = env.send(env.rollup.functions.claimMessageWithProof(claim.as_abi(POSTMAN.address)), sender=POSTMAN)
        assert [bytes(e.args._messageHash) for e in events(env.rollup, "MessageClaimed", receipt)] == [
            claim.message_hash
        ]
        assert env.rollup.functions.isMessageClaimed(claim.message_number).call()
    assert receiver.functions.lastData().call() == b"hi"
    assert receiver.functions.lastSender().call() == USER.address
    assert l1_w3.eth.get_balance(ATTACKER.address) - before >= claims[1].value + claims[2].value


def test_tampered_claims_are_refused_by_the_rollup(bridge, l1_w3, l2_w3):
    env, sent = bridge[0], bridge[4]
    claim = build(bridge, l1_w3, l2_w3, bytes(sent[5][0]._messageHash))
    good = claim.as_abi(POSTMAN.address)
    forged_proof = [list(good[0][:2]) + [b"\x01" * 32] + list(good[0][3:]), *good[1:]]
    assert env.revert(env.rollup.functions.claimMessageWithProof(forged_proof))[0] == "InvalidMerkleProof"
    moved_leaf = [good[0], good[1], good[2] ^ 1, *good[3:]]
    assert env.revert(env.rollup.functions.claimMessageWithProof(moved_leaf))[0] == "InvalidMerkleProof"
    more_value = [*good[:6], good[6] + 1, *good[7:]]
    assert env.revert(env.rollup.functions.claimMessageWithProof(more_value))[0] == "InvalidMerkleProof"


def test_the_aggregation_is_found_whatever_the_log_chunk(bridge, l1_w3, l2_w3):
    sent = bridge[4]
    message_hash = bytes(sent[3][0]._messageHash)
    whole = build(bridge, l1_w3, l2_w3, message_hash)
    assert build(bridge, l1_w3, l2_w3, message_hash, chunk=2) == whole
    assert build(bridge, l1_w3, l2_w3, message_hash, l2_block=sent[3][1], chunk=1) == whole
    later = build(bridge, l1_w3, l2_w3, bytes(sent[34][0]._messageHash), chunk=3)
    assert later.finalized_range[0] == whole.finalized_range[1] + 1
    assert later.finalized_range[0] <= sent[FIRST_BATCH][1] <= sent[34][1] <= later.finalized_range[1]
    assert (later.merkle_root, later.leaf_index) == (l2_message_proof(bridge[6], 1)[0], 1)


def test_message_not_finalized_yet(bridge, l1_w3, l2_w3):
    service = bridge[1]
    receipt = transact(l2_w3, USER.private_key, service.functions.sendMessage(ATTACKER.address, MIN_FEE, b""),
                       MIN_FEE + 1)
    (event,) = events(service, "MessageSent", receipt)
    with pytest.raises(MessageNotFinalized) as raised:
        build(bridge, l1_w3, l2_w3, bytes(event.args._messageHash))
    assert raised.value.l2_block == receipt["blockNumber"]
    assert raised.value.finalized_block == bridge[3].finalized_block < receipt["blockNumber"]


def test_unknown_message(bridge, l1_w3, l2_w3):
    with pytest.raises(UnknownMessage, match="no message with hash 0x5555"):
        build(bridge, l1_w3, l2_w3, b"\x55" * 32)
    # a hash the service did emit, but asked for in another block
    sent = bridge[4]
    with pytest.raises(UnknownMessage):
        build(bridge, l1_w3, l2_w3, bytes(sent[0][0]._messageHash), l2_block=sent[0][1] + 1)


def test_roots_that_l1_did_not_record_are_reported(bridge, l1_w3, l2_w3, l1_snapshot):
    service, finality = bridge[1], bridge[3]
    saved = (finality.parent_shnarf, finality.timestamp)
    receipt = transact(l2_w3, USER.private_key, service.functions.sendMessage(ATTACKER.address, MIN_FEE, b""),
                       MIN_FEE + 1)
    (event,) = events(service, "MessageSent", receipt)
    finality.finalize(l2_w3.eth.block_number, [], [], roots=[Web3.keccak(text="not the tree")])
    with pytest.raises(ClaimDataMismatch, match="L1 did not record"):
        build(bridge, l1_w3, l2_w3, bytes(event.args._messageHash))
    finality.parent_shnarf, finality.timestamp = saved  # the snapshot undoes the finalization on L1


def test_claim_json_shape(bridge, l1_w3, l2_w3):
    args, block = bridge[4][1]
    answer = claim_to_json(build(bridge, l1_w3, l2_w3, bytes(args._messageHash)))
    assert answer["messageNumber"] == hex(args._nonce) and answer["leafIndex"] == "0x1"
    assert len(answer["proof"]) == 5 and all(len(p) == 66 for p in answer["proof"])
    assert answer["from"] == args._from and answer["to"] == args._to and answer["value"] == hex(args._value)
    with pytest.raises((EncodingError, ValueError, TypeError)):
        build(bridge, l1_w3, l2_w3, bytes(args._messageHash)).as_abi("not an address")


def _shape(entry: dict) -> tuple:
    """What must agree with the compiled ABI: kind, parameter types (with tuples' components), indexed, mutability."""
    def params(items) -> tuple:  # noqa: ANN001
        return tuple((p["type"], p.get("indexed", False), params(p.get("components", ()))) for p in items)

    return (entry["type"], params(entry.get("inputs", ())), params(entry.get("outputs", ())),
            entry.get("stateMutability"))


@pytest.mark.parametrize(("fragments", "contract"), [(L1_MESSAGE_SERVICE_ABI, "LinenRollup"),
                                                      (L2_MESSAGE_SERVICE_ABI, "L2MessageService")])
def test_handwritten_abi_matches_the_compiled_contracts(artifacts, fragments, contract):
    compiled = {(e["type"], e.get("name")): _shape(e) for e in artifacts[contract].abi}
    assert [f["name"] for f in fragments if compiled.get((f["type"], f["name"])) != _shape(f)] == []
    assert len({(f["type"], f["name"]) for f in fragments}) == len(fragments)  # web3 refuses ambiguous duplicates
    events = {f"{e['name']}({','.join(i['type'] for i in e['inputs'])})" for e in artifacts[contract].abi
              if e["type"] == "event"}
    assert {MESSAGE_SENT_SIGNATURE, MESSAGE_CLAIMED_SIGNATURE} <= events
    if contract == "LinenRollup":
        assert DATA_FINALIZED_V3_SIGNATURE in events
