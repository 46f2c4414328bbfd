"""The postman's L1→L2 side: deposits on anvil's rollup, anchored and claimed on a real Linen node."""

from __future__ import annotations

import pytest

from linen.l1.transact import transact
from linen.postman.store import CLAIMED_SUCCESS, FEE_UNDERPRICED, L1_TO_L2, NON_EXECUTABLE, PENDING, SENT, ZERO_FEE
from tests.integration.postman_support import PostmanBed, anchor_all, deposit, fresh_address
from tests.l1.support import POSTMAN, USER

SPONSORED = fresh_address("sponsored recipient")


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    bed = PostmanBed.start(tmp_path_factory.mktemp("postman-l1-to-l2"))
    yield bed
    bed.close()


@pytest.fixture
def new_postman(bed, tmp_path):
    made = []

    def make(name: str = "postman", **overrides):
        postman = bed.postman(tmp_path / name, **overrides)
        made.append(postman)
        return postman

    yield make
    for postman in made:
        postman.store.close()


def status(postman, args) -> str:
    return postman.store.get(L1_TO_L2, bytes(args._messageHash)).status


def inbox(bed, args) -> int:
    return bed.l2_service.functions.inboxL1L2MessageStatus(args._messageHash).call()


def nonces(bed) -> tuple[int, int]:
    return (bed.l2_w3.eth.get_transaction_count(POSTMAN.address, "latest"),
            bed.l2_w3.eth.get_transaction_count(POSTMAN.address, "pending"))


def test_fee_paying_deposit_is_claimed_once_anchored(new_postman, bed):
    postman = new_postman(sponsored_addresses=SPONSORED)
    alice, value, fee = fresh_address("alice"), 10**16, 10**15
    sent = deposit(bed.env, alice, value, fee)
    postman.l1_to_l2.tick()
    assert status(postman, sent) == SENT and bed.l2_w3.eth.get_balance(alice) == 0
    anchor_all(bed)
    postman.l1_to_l2.tick()
    row = postman.store.get(L1_TO_L2, bytes(sent._messageHash))
    assert row.status == CLAIMED_SUCCESS and inbox(bed, sent) == 2
    receipt = bed.l2_w3.eth.get_transaction_receipt(row.claim_tx)
    assert receipt["status"] == 1 and receipt["from"] == POSTMAN.address
    # a plain transfer: the postman earns its gas, the rest of the fee goes back to the recipient
    assert value < bed.l2_w3.eth.get_balance(alice) < value + fee


def test_zero_fee_and_underpriced_deposits_are_left_for_manual_claim(new_postman, bed):
    postman = new_postman()
    free = deposit(bed.env, fresh_address("bob"), 10**15, 0)
    cheap = deposit(bed.env, fresh_address("carol"), 10**15, 1000)
    anchor_all(bed)
    before = nonces(bed)
    postman.l1_to_l2.tick()
    assert (status(postman, free), status(postman, cheap)) == (ZERO_FEE, FEE_UNDERPRICED)
    assert "1000 wei is below" in postman.store.get(L1_TO_L2, bytes(cheap._messageHash)).reason
    assert (inbox(bed, free), inbox(bed, cheap)) == (1, 1)
    postman.l1_to_l2.tick()  # they stay where they are, and nothing was sent for them
    assert status(postman, cheap) == FEE_UNDERPRICED and nonces(bed) == before


def test_sponsored_zero_fee_deposit_is_claimed_within_the_gas_allowance(new_postman, bed):
    gift = deposit(bed.env, SPONSORED, 10**15, 0)
    anchor_all(bed)
    stingy = new_postman("stingy", sponsored_addresses=SPONSORED, max_sponsored_gas=1000)
    stingy.l1_to_l2.tick()
    assert status(stingy, gift) == ZERO_FEE and inbox(bed, gift) == 1
    postman = new_postman(sponsored_addresses=SPONSORED.lower())
    postman.l1_to_l2.tick()
    assert status(postman, gift) == CLAIMED_SUCCESS and inbox(bed, gift) == 2
    assert bed.l2_w3.eth.get_balance(SPONSORED) == 10**15


def test_deposit_whose_call_reverts_is_non_executable(new_postman, bed):
    data = bytes.fromhex(bed.l2_receiver.encode_abi("refuse", [])[2:])
    refused = deposit(bed.env, bed.l2_receiver.address, 0, 10**15, data)
    anchor_all(bed)
    postman = new_postman()
    postman.l1_to_l2.tick()
    row = postman.store.get(L1_TO_L2, bytes(refused._messageHash))
    assert row.status == NON_EXECUTABLE and "the claim reverts" in row.reason and not row.claim_txs
    assert inbox(bed, refused) == 1


def test_deposit_claimed_by_someone_else_is_recorded_without_a_second_claim(new_postman, bed):
    sent = deposit(bed.env, fresh_address("erin"), 10**15, 10**15)
    anchor_all(bed)
    claim = bed.l2_service.functions.claimMessage(sent._from, sent._to, sent._fee, sent._value, USER.address,
                                              sent._calldata, sent._nonce)
    user_claim = transact(bed.l2_w3, USER.private_key, claim)
    postman = new_postman()
    before = nonces(bed)
    postman.l1_to_l2.tick()
    row = postman.store.get(L1_TO_L2, bytes(sent._messageHash))
    assert row.status == CLAIMED_SUCCESS and row.reason == "claimed by someone else"
    assert row.claim_tx == "0x" + bytes(user_claim["transactionHash"]).hex()
    assert nonces(bed) == before


@pytest.mark.parametrize("broadcast_before_crash", [True, False])
def test_restart_with_a_pending_claim_claims_once(new_postman, bed, broadcast_before_crash):
    frank = fresh_address(f"frank {broadcast_before_crash}")
    sent = deposit(bed.env, frank, 10**16, 10**15)
    first = new_postman("crashing")
    first.l1_to_l2.tick()  # settles the older messages, so this one's claim is the only one to make
    anchor_all(bed)
    broadcast = []

    def crash(tx, *, gas=None, blobs=None):
        if broadcast_before_crash:
            broadcast.append(first.l1_to_l2.sender.broadcast(tx, gas=gas))
        raise KeyboardInterrupt("the postman dies while its claim is in flight")

    first.l1_to_l2.sender.send = crash
    latest, pending = nonces(bed)
    assert latest == pending
    with pytest.raises(KeyboardInterrupt):
        first.l1_to_l2.tick()
    row = first.store.get(L1_TO_L2, bytes(sent._messageHash))
    assert row.status == PENDING and row.claim_nonce == latest and len(row.claim_txs) == 1
    assert broadcast in ([], [row.claim_txs[0]])  # the hash stored before sending is the one that went out
    first.store.close()

    restarted = new_postman("crashing")
    restarted.l1_to_l2.tick()
    row = restarted.store.get(L1_TO_L2, bytes(sent._messageHash))
    assert row.status == CLAIMED_SUCCESS and inbox(bed, sent) == 2
    receipt = bed.l2_w3.eth.get_transaction_receipt(row.claim_tx)
    assert receipt["status"] == 1 and bed.l2_w3.eth.get_transaction(row.claim_tx)["nonce"] == latest
    assert nonces(bed) == (latest + 1, latest + 1)  # one transaction, not two
    assert 10**16 < bed.l2_w3.eth.get_balance(frank) < 10**16 + 10**15
