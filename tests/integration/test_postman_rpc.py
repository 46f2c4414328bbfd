"""The postman running (both direction threads and its JSON-RPC), asked over HTTP for proofs and statuses."""

from __future__ import annotations

import threading
import time

import pytest

from linen.bridge.message_proof import build_l2_to_l1_claim, claim_to_json
from linen.protocol.messaging import build_l2_message_trees, verify_l2_message_proof
from tests.helpers import rpc
from tests.integration.postman_support import PostmanBed, anchor_all, deposit, fresh_address
from tests.integration.test_postman_l2_to_l1 import finalize_all, withdraw
from tests.l1.l2_finality import L2Finality


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """A running postman; messages: a finalized withdrawal, a later one, an anchored deposit, and a deposit and a
    finalized withdrawal that share their hash (same sender, recipient, fee, value, nonce and calldata)."""
    work = tmp_path_factory.mktemp("postman-rpc")
    bed = PostmanBed.start(work)
    bed.finality = L2Finality(bed.env)
    finalized = withdraw(bed, fresh_address("judy"), 10**16, 10**15)
    sent = deposit(bed.env, fresh_address("niaj"), 10**16, 10**15)
    withdraw(bed, fresh_address("olivia"), 1, 10**15)  # brings L2's message number level with L1's
    twin = fresh_address("twin")
    twin_deposit, twin_withdrawal = deposit(bed.env, twin, 10**16, 10**15), withdraw(bed, twin, 10**16, 10**15)
    assert twin_deposit._messageHash == twin_withdrawal._messageHash
    finalize_all(bed)
    later = withdraw(bed, fresh_address("mallory"), 10**16, 10**15)
    anchor_all(bed)
    postman = bed.postman(work / "postman")
    stopping = threading.Event()
    postman.start(stopping)
    for message in (finalized, later):  # every test may ask about these: wait until the postman has read them
        assert "result" in wait_for_known(postman, message), f"the postman never saw {hex_hash(message)}"
    yield bed, postman, finalized, later, sent, twin_deposit
    stopping.set()
    postman.stop()
    bed.close()


def call(postman, method, *params):
    return rpc(postman.rpc.url, method, list(params), timeout=30)


def hex_hash(args) -> str:
    return "0x" + bytes(args._messageHash).hex()


def wait_for_known(postman, args, timeout: float = 60.0) -> dict:
    """The postman's row for a message once its poller has read it (or its last answer at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call(postman, "linen_getMessageStatus", hex_hash(args))
        if "result" in answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def wait_for_status(postman, args, wanted: str, timeout: float = 60.0, *direction: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = call(postman, "linen_getMessageStatus", hex_hash(args), *direction)
        if answer.get("result", {}).get("status") == wanted or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_both_directions_are_claimed_by_the_running_postman(running):
    bed, postman, finalized, later, sent, _ = running
    withdrawal = wait_for_status(postman, finalized, "CLAIMED_SUCCESS")["result"]
    assert withdrawal["status"] == "CLAIMED_SUCCESS" and withdrawal["direction"] == "L2_TO_L1"
    assert bed.l1_w3.eth.get_transaction_receipt(withdrawal["claimTransactionHash"])["status"] == 1
    assert withdrawal["messageNumber"] == hex(finalized._nonce) and withdrawal["to"] == finalized._to
    deposit_row = wait_for_status(postman, sent, "CLAIMED_SUCCESS")["result"]
    assert deposit_row["status"] == "CLAIMED_SUCCESS" and deposit_row["direction"] == "L1_TO_L2"
    assert bed.l2_service.functions.inboxL1L2MessageStatus(sent._messageHash).call() == 2
    assert wait_for_status(postman, later, "SENT", 10)["result"]["status"] == "SENT"


def test_get_message_proof(running):
    bed, postman, finalized, *_ = running
    answer = call(postman, "linen_getMessageProof", hex_hash(finalized))["result"]
    claim = build_l2_to_l1_claim(bed.l1_w3, bed.env.rollup.address, bed.l2_w3, bed.l2_service.address,
                                 bytes(finalized._messageHash))
    assert answer == claim_to_json(claim)
    (root,) = build_l2_message_trees([h for h, _ in bed.sent[:3]])  # the first finalization held three
    assert answer["merkleRoot"] == "0x" + root.hex()
    proof = [bytes.fromhex(p[2:]) for p in answer["proof"]]
    assert verify_l2_message_proof(bytes(finalized._messageHash), proof, int(answer["leafIndex"], 16), root)
    assert (answer["from"], answer["to"], int(answer["value"], 16), int(answer["fee"], 16)) == (
        finalized._from, finalized._to, finalized._value, finalized._fee)


def test_proof_of_a_message_not_yet_finalized(running):
    bed, postman, _, later, _, _ = running
    error = call(postman, "linen_getMessageProof", hex_hash(later))["error"]
    assert error["code"] == -32002 and error["data"]["reason"] == "NOT_FINALIZED"
    assert "once that block is finalized" in error["message"]
    assert int(error["data"]["finalizedL2BlockNumber"], 16) == bed.finality.finalized_block


@pytest.mark.parametrize(("params", "code", "text"), [
    (["0x1234"], -32602, "expected 32 bytes"),
    (["not a hash"], -32602, "0x-prefixed hex"),
    ([], -32602, "takes the message hash"),
    (["0x" + "ab" * 32, "L1_TO_L2", "extra"], -32602, "takes the message hash"),
    (["0x" + "ab" * 32], -32001, "0xabab"),
])
@pytest.mark.parametrize("method", ["linen_getMessageProof", "linen_getMessageStatus"])
def test_bad_input_gets_a_clear_error_and_the_postman_keeps_serving(running, method, params, code, text):
    postman, finalized = running[1], running[2]
    error = call(postman, method, *params)["error"]
    assert error["code"] == code and text in error["message"]
    assert call(postman, "linen_getMessageStatus", hex_hash(finalized))["result"]["direction"] == "L2_TO_L1"


def test_a_deposit_needs_no_proof(running):
    postman, sent = running[1], running[4]
    error = call(postman, "linen_getMessageProof", hex_hash(sent))["error"]
    assert error["code"] == -32602 and "goes from L1 to L2" in error["message"]
    assert wait_for_status(postman, sent, "CLAIMED_SUCCESS")["result"]["status"] == "CLAIMED_SUCCESS"
    counts = call(postman, "linen_getPostmanStatus")["result"]["messages"]
    assert counts["L1_TO_L2"]["CLAIMED_SUCCESS"] >= 1


def test_a_hash_sent_both_ways_is_two_messages(running):
    bed, postman, twin = running[0], running[1], running[5]
    for direction in ("L1_TO_L2", "L2_TO_L1"):
        row = wait_for_status(postman, twin, "CLAIMED_SUCCESS", 60, direction)["result"]
        assert (row["direction"], row["status"]) == (direction, "CLAIMED_SUCCESS")
    assert bed.env.rollup.functions.isMessageClaimed(twin._nonce).call()
    assert bed.l2_service.functions.inboxL1L2MessageStatus(twin._messageHash).call() == 2
    error = call(postman, "linen_getMessageStatus", hex_hash(twin))["error"]
    assert error["code"] == -32602 and "sent both from L1 and from L2" in error["message"]
    assert call(postman, "linen_getMessageStatus", hex_hash(twin), "SIDEWAYS")["error"]["code"] == -32602
    assert call(postman, "linen_getMessageProof", hex_hash(twin))["result"]["messageHash"] == hex_hash(twin)
