"""The postman's L2→L1 side: withdrawals sent on a real Linen node, finalized on anvil's rollup, claimed on L1."""

from __future__ import annotations

import threading
import time

import pytest
from eth_account import Account
from web3.exceptions import TransactionNotFound

from linen.bridge.message_proof import build_l2_to_l1_claim
from linen.l1.transact import transact
from linen.postman.store import ANCHORED, CLAIMED_SUCCESS, L2_TO_L1, PENDING, SENT, ZERO_FEE
from tests.integration.postman_support import MIN_FEE, PostmanBed, fresh_address
from tests.l1.l2_finality import L2Finality
from tests.l1.support import ADMIN, POSTMAN, USER, events


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    bed = PostmanBed.start(tmp_path_factory.mktemp("postman-l2-to-l1"))
    bed.finality = L2Finality(bed.env)
    yield bed
    bed.close()


@pytest.fixture
def postman(bed, tmp_path):
    postman = bed.postman(tmp_path / "postman")
    yield postman
    postman.store.close()


def withdraw(bed, to: str, value: int, postman_fee: int):
    """USER sends an L2→L1 message; its MessageSent args."""
    fee = MIN_FEE + postman_fee
    receipt = transact(bed.l2_w3, USER.private_key, bed.l2_service.functions.sendMessage(to, fee, b""), fee + value)
    (event,) = events(bed.l2_service, "MessageSent", receipt)
    bed.sent.append((bytes(event.args._messageHash), receipt["blockNumber"]))
    return event.args


def finalize_all(bed) -> None:
    """Finalize every L2 block so far, with the roots of the messages sent since the last finalization."""
    done = bed.finality.finalized_block
    todo = [(h, b) for h, b in bed.sent if b > done]
    bed.finality.finalize(bed.l2_w3.eth.block_number, [h for h, _ in todo], [b for _, b in todo])


def status(postman, args) -> str:
    return postman.store.get(L2_TO_L1, bytes(args._messageHash)).status


def test_withdrawal_finalized_on_l1_is_claimed_by_the_postman(bed, postman):
    grace, value, fee = fresh_address("grace"), 10**16, 10**15
    paying = withdraw(bed, grace, value, fee)
    free = withdraw(bed, fresh_address("heidi"), value, 0)
    postman.l2_to_l1.tick()
    assert (status(postman, paying), status(postman, free)) == (SENT, SENT)
    assert bed.l1_w3.eth.get_balance(grace) == 0
    finalize_all(bed)
    postman.l2_to_l1.tick()
    row = postman.store.get(L2_TO_L1, bytes(paying._messageHash))
    assert row.status == CLAIMED_SUCCESS and status(postman, free) == ZERO_FEE
    assert bed.env.rollup.functions.isMessageClaimed(paying._nonce).call()
    assert not bed.env.rollup.functions.isMessageClaimed(free._nonce).call()
    receipt = bed.l1_w3.eth.get_transaction_receipt(row.claim_tx)
    assert receipt["status"] == 1 and receipt["from"] == POSTMAN.address
    assert value < bed.l1_w3.eth.get_balance(grace) < value + fee


def test_rate_limited_claim_goes_back_to_wait_and_is_retried(bed, postman):
    ivan = fresh_address("ivan")
    sent = withdraw(bed, ivan, 10**16, 10**15)
    finalize_all(bed)
    limits = bed.env.rollup.functions
    bed.env.send(limits.resetRateLimitAmount(1), sender=ADMIN)
    postman.l2_to_l1.tick()
    row = postman.store.get(L2_TO_L1, bytes(sent._messageHash))
    assert row.status == ANCHORED and "RateLimitExceeded" in row.reason and not row.claim_txs
    bed.env.send(limits.resetRateLimitAmount(10_000 * 10**18), sender=ADMIN)
    postman.l2_to_l1.tick()
    assert status(postman, sent) == CLAIMED_SUCCESS and bed.l1_w3.eth.get_balance(ivan) > 10**16


def test_stuck_claim_is_re_sent_with_higher_fees_then_settled_once(bed, tmp_path):
    postman = bed.postman(tmp_path / "bumping", submission_timeout=0.5, max_bumps=1)
    judy = fresh_address("judy")
    sent = withdraw(bed, judy, 10**16, 10**15)
    postman.l2_to_l1.tick()  # settles every older message first
    finalize_all(bed)
    l1 = bed.l1_w3
    nonce = l1.eth.get_transaction_count(POSTMAN.address)
    l1.provider.make_request("evm_setAutomine", [False])
    try:
        postman.l2_to_l1.tick()  # sent, not mined for 0.5 s, re-sent with higher fees, not mined: left PENDING
        row = postman.store.get(L2_TO_L1, bytes(sent._messageHash))
        assert row.status == PENDING and row.claim_nonce == nonce and len(row.claim_txs) == 2
        with pytest.raises(TransactionNotFound):  # the pool dropped the first version for the dearer one
            l1.eth.get_transaction(row.claim_txs[0])
        assert l1.eth.get_transaction(row.claim_txs[1])["nonce"] == nonce
    finally:
        l1.provider.make_request("evm_setAutomine", [True])
    l1.provider.make_request("evm_mine", [])
    postman.l2_to_l1.tick()
    row = postman.store.get(L2_TO_L1, bytes(sent._messageHash))
    assert row.status == CLAIMED_SUCCESS and row.claim_tx in row.claim_txs
    assert l1.eth.get_transaction(row.claim_tx)["nonce"] == nonce
    assert l1.eth.get_transaction_count(POSTMAN.address) == nonce + 1
    assert l1.eth.get_balance(judy) > 10**16



def test_claim_beaten_by_another_claimer_is_recorded_as_theirs(bed, tmp_path):
    postman = bed.postman(tmp_path / "race")
    sent = withdraw(bed, fresh_address("kim"), 10**16, 10**15)
    postman.l2_to_l1.tick()
    finalize_all(bed)
    l1 = bed.l1_w3
    nonce = l1.eth.get_transaction_count(POSTMAN.address)
    claim = build_l2_to_l1_claim(l1, bed.env.rollup.address, bed.l2_w3, bed.l2_service.address,
                                 bytes(sent._messageHash))
    rival = bed.env.rollup.functions.claimMessageWithProof(claim.as_abi(USER.address))
    l1.provider.make_request("evm_setAutomine", [False])
    try:
        worker = threading.Thread(target=postman.l2_to_l1.tick)
        worker.start()
        deadline = time.monotonic() + 20
        while l1.eth.get_transaction_count(POSTMAN.address, "pending") == nonce:  # the postman's claim is in the pool
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # a user's claim of the same message, paying a higher tip: anvil orders it first in the block
        rival_tx = rival.build_transaction({"from": USER.address, "gas": 400_000, "maxPriorityFeePerGas": 50 * 10**9,
                                            "maxFeePerGas": 100 * 10**9,
                                            "nonce": l1.eth.get_transaction_count(USER.address, "pending")})
        rival_hash = l1.eth.send_raw_transaction(Account.sign_transaction(rival_tx, USER.private_key).raw_transaction)
        l1.provider.make_request("evm_mine", [])
        worker.join(30)
    finally:
        l1.provider.make_request("evm_setAutomine", [True])
    assert l1.eth.get_transaction_receipt(rival_hash)["status"] == 1
    row = postman.store.get(L2_TO_L1, bytes(sent._messageHash))
    assert (row.status, row.reason, row.claim_tx) == (CLAIMED_SUCCESS, "claimed by someone else",
                                                      "0x" + bytes(rival_hash).hex())
    (ours,) = [h for h in row.claim_txs if h != row.claim_tx]
    assert l1.eth.get_transaction_receipt(ours)["status"] == 0  # the postman's claim reverted: nothing paid twice
