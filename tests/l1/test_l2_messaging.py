"""The L2 message service: anchoring L1 messages with L1's rolling hash, claiming them, and sending to L1."""

from __future__ import annotations

import pytest

from linen.l1.transact import decode_revert, transact
from linen.protocol.messaging import compute_message_hash, compute_rolling_hash
from tests.l1.support import (
    ADMIN,
    ANCHORER,
    ATTACKER,
    POSTMAN,
    USER,
    RollupEnv,
    address_bytes,
    deploy_l2_service,
    deploy_receiver,
    events,
    revert_of,
)

MIN_FEE = 10**14
COINBASE = "0x000000000000000000000000000000000000c0DE"


@pytest.fixture(scope="module")
def rollup(l1_w3, artifacts):
    return RollupEnv.deploy(l1_w3, artifacts)


@pytest.fixture(scope="module")
def service(l2_w3, artifacts):
    return deploy_l2_service(l2_w3, artifacts, MIN_FEE)


@pytest.fixture(scope="module")
def receiver(l2_w3, test_artifacts):
    return deploy_receiver(l2_w3, test_artifacts)


@pytest.fixture(scope="module")
def l1_messages(rollup, receiver):
    """Four messages sent on the L1 rollup; returns their MessageSent args and L1's rolling hashes."""
    sent = [
        (receiver.address, 0, 10**15, receiver.encode_abi("receiveMessage", [b"from L1"])),
        (ATTACKER.address, 10**16, 10**17, "0x"),
        (USER.address, 1, 2, "0x"),
        (USER.address, 3, 4, "0x"),
    ]
    messages = []
    for to, fee, value, data in sent:
        call = rollup.rollup.functions.sendMessage(to, fee, bytes.fromhex(data[2:]))
        (event,) = events(rollup.rollup, "MessageSent", rollup.send(call, sender=ADMIN, value=fee + value))
        messages.append(event.args)
    rolling = {n: rollup.rollup.functions.rollingHashes(n).call() for n in range(1, 5)}
    return messages, rolling


def l2_revert(call, artifacts, test_artifacts, sender, value=0):
    return revert_of(call, {**artifacts, **test_artifacts}, sender.address, value)


def test_anchor_then_claim_on_l2(l2_w3, service, receiver, l1_messages, artifacts, test_artifacts):
    messages, rolling = l1_messages
    hashes = [bytes(m._messageHash) for m in messages]
    assert rolling[2] == compute_rolling_hash(hashes[:2])
    anchor = service.functions.anchorL1L2MessageHashes
    receipt = transact(l2_w3, ANCHORER.private_key, anchor(hashes[:2], 1, 2, rolling[2]))
    (updated,) = events(service, "RollingHashUpdated", receipt)
    assert (updated.args.messageNumber, updated.args.rollingHash) == (2, rolling[2])
    assert [
        bytes(h) for h in events(service, "L1L2MessageHashesAddedToInbox", receipt)[0].args.messageHashes
    ] == hashes[:2]
    assert service.functions.lastAnchoredL1MessageNumber().call() == 2
    assert service.functions.l1RollingHashes(2).call() == rolling[2]
    assert [service.functions.inboxL1L2MessageStatus(h).call() for h in hashes] == [1, 1, 0, 0]
    # an already-anchored hash in the next batch is skipped, the rolling hash still matches L1's
    transact(l2_w3, ANCHORER.private_key, anchor([hashes[1], hashes[2]], 3, 3, rolling[3]))
    assert service.functions.lastAnchoredL1MessageNumber().call() == 3

    m = messages[0]
    claim = service.functions.claimMessage(m._from, m._to, m._fee, m._value, POSTMAN.address, m._calldata, m._nonce)
    receipt = transact(l2_w3, POSTMAN.private_key, claim)
    assert [bytes(e.args._messageHash) for e in events(service, "MessageClaimed", receipt)] == [hashes[0]]
    assert receiver.functions.lastSender().call() == ADMIN.address
    assert receiver.functions.lastValue().call() == 10**15
    assert service.functions.inboxL1L2MessageStatus(hashes[0]).call() == 2
    assert l2_revert(claim, artifacts, test_artifacts, POSTMAN) == (
        "MessageDoesNotExistOrHasAlreadyBeenClaimed",
        (hashes[0],),
    )

    m = messages[1]
    before = l2_w3.eth.get_balance(ATTACKER.address)
    claim = service.functions.claimMessage(m._from, m._to, m._fee, m._value, POSTMAN.address, m._calldata, m._nonce)
    transact(l2_w3, POSTMAN.private_key, claim)
    assert m._value < l2_w3.eth.get_balance(ATTACKER.address) - before < m._value + m._fee
    # not yet anchored
    m = messages[3]
    claim = service.functions.claimMessage(m._from, m._to, m._fee, m._value, POSTMAN.address, m._calldata, m._nonce)
    assert l2_revert(claim, artifacts, test_artifacts, POSTMAN)[0] == "MessageDoesNotExistOrHasAlreadyBeenClaimed"


def test_anchoring_refusals(l2_w3, artifacts, test_artifacts, l1_messages):
    service = deploy_l2_service(l2_w3, artifacts, MIN_FEE)
    messages, rolling = l1_messages
    hashes = [bytes(m._messageHash) for m in messages]
    anchor = service.functions.anchorL1L2MessageHashes

    def refusal(call, sender=ANCHORER):
        return l2_revert(call, artifacts, test_artifacts, sender)

    assert refusal(anchor(hashes[:2], 1, 2, rolling[2]), sender=ATTACKER)[0] == "MissingRole"
    assert refusal(anchor(hashes[:2], 1, 2, rolling[1])) == (
        "L1RollingHashSynchronizationWrong",
        (rolling[1], rolling[2]),
    )
    assert refusal(anchor(hashes[1:3], 1, 2, rolling[3]))[0] == "L1RollingHashSynchronizationWrong"
    assert refusal(anchor(hashes[:2], 2, 3, rolling[2])) == ("L1MessageNumberSynchronizationWrong", (1, 2))
    assert refusal(anchor(hashes[:2], 1, 3, rolling[2])) == ("L1MessageNumberSynchronizationWrong", (3, 2))
    assert refusal(anchor([], 1, 0, rolling[2]))[0] == "MessageHashesListLengthIsZero"
    assert refusal(anchor([b"\x01" * 32] * 101, 1, 101, rolling[2])) == (
        "MessageHashesListLengthHigherThanOneHundred",
        (101,),
    )
    assert refusal(anchor(hashes[:2], 1, 2, bytes(32)))[0] == "FinalRollingHashIsZero"


def test_send_message_to_l1_pays_minimum_fee_to_coinbase(l2_w3, service):
    l2_w3.provider.make_request("anvil_setCoinbase", [COINBASE])
    before = l2_w3.eth.get_balance(COINBASE)
    fee, value = MIN_FEE + 5, 10**15
    receipt = transact(
        l2_w3, USER.private_key, service.functions.sendMessage(ATTACKER.address, fee, b"\x01\x02"), fee + value
    )
    (sent,) = events(service, "MessageSent", receipt)
    nonce = sent.args._nonce
    expected = compute_message_hash(
        address_bytes(USER.address), address_bytes(ATTACKER.address), 5, value, nonce, b"\x01\x02"
    )
    assert (sent.args._fee, sent.args._value, bytes(sent.args._messageHash)) == (5, value, expected)
    assert l2_w3.eth.get_balance(COINBASE) - before >= MIN_FEE  # anvil also pays the coinbase its priority fees
    assert service.functions.nextMessageNumber().call() == nonce + 1


def test_send_message_refusals(l2_w3, artifacts, test_artifacts):
    service = deploy_l2_service(l2_w3, artifacts, MIN_FEE, rate_limit_amount_wei=10**16)
    send = service.functions.sendMessage

    def refusal(call, value):
        return l2_revert(call, artifacts, test_artifacts, USER, value)

    assert refusal(send(ATTACKER.address, MIN_FEE - 1, b""), MIN_FEE)[0] == "FeeTooLow"
    assert refusal(send(ATTACKER.address, MIN_FEE, b""), MIN_FEE - 1)[0] == "ValueSentTooLow"
    assert refusal(send("0x" + "00" * 20, MIN_FEE, b""), MIN_FEE)[0] == "ZeroAddressNotAllowed"
    assert refusal(send(ATTACKER.address, MIN_FEE, b""), MIN_FEE + 10**16 + 1)[0] == "RateLimitExceeded"
    transact(l2_w3, USER.private_key, send(ATTACKER.address, MIN_FEE, b""), MIN_FEE + 10**16)
    assert refusal(send(ATTACKER.address, MIN_FEE, b""), MIN_FEE + 1)[0] == "RateLimitExceeded"
    transact(
        l2_w3,
        ADMIN.private_key,
        service.functions.grantRole(service.functions.PAUSE_MANAGER_ROLE().call(), ADMIN.address),
    )
    transact(l2_w3, ADMIN.private_key, service.functions.pauseByType(3))
    assert refusal(send(ATTACKER.address, MIN_FEE, b""), MIN_FEE) == ("IsPaused", (3,))


def test_revert_decoding_of_unknown_errors():
    assert decode_revert("0x12345678", [])[0] == "Unknown(0x12345678)"
