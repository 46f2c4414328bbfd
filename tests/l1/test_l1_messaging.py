"""The L1 message service: sendMessage's rolling hashes, and claims of L2 messages against finalized roots."""

from __future__ import annotations

import pytest

from linen.l1.finalization import ShnarfData
from linen.l1.transact import transact
from linen.protocol.calldata_submission import compute_calldata_submission
from linen.protocol.messaging import (
    build_l2_message_trees,
    compute_message_hash,
    encode_l2_messaging_blocks_offsets,
    l2_message_proof,
    next_rolling_hash,
)
from tests.l1.support import (
    ADMIN,
    ATTACKER,
    OPERATOR,
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


@pytest.fixture(scope="module")
def env(l1_w3, artifacts):
    env = RollupEnv.deploy(l1_w3, artifacts)
    # what users bridged to L2 so far: the rollup holds it and pays L2→L1 claims from it
    env.send(env.rollup.functions.sendMessage(ADMIN.address, 0, b""), sender=ADMIN, value=50 * 10**18)
    return env


@pytest.fixture(scope="module")
def receiver(l1_w3, test_artifacts):
    return deploy_receiver(l1_w3, test_artifacts)


@pytest.fixture(scope="module")
def l2_messages(env, l2_w3, artifacts, receiver):
    """Three messages sent on L2, finalized on L1 in one root; returns (hashes, [(args...)])."""
    service = deploy_l2_service(l2_w3, artifacts, MIN_FEE)
    sent = [
        (USER, receiver.address, MIN_FEE, 10**15, receiver.encode_abi("receiveMessage", [b"from L2"])),
        (USER, ATTACKER.address, MIN_FEE + 10**16, 3 * 10**17, b""),
        (USER, ATTACKER.address, MIN_FEE, 10**17, b"\x01"),
        (USER, receiver.address, MIN_FEE, 0, receiver.encode_abi("refuse", [])),
    ]
    messages = []
    for sender, to, fee, value, data in sent:
        data = bytes.fromhex(data[2:]) if isinstance(data, str) else data
        receipt = transact(l2_w3, sender.private_key, service.functions.sendMessage(to, fee, data), fee + value)
        (event,) = events(service, "MessageSent", receipt)
        messages.append(event.args)
    hashes = [bytes(m._messageHash) for m in messages]
    roots = build_l2_message_trees(hashes)
    data, snark, root = b"\0" * 32, b"\x61" * 32, b"\x62" * 32
    submission = compute_calldata_submission(env.genesis_shnarf, snark, root, data)
    env.send(env.rollup.functions.submitDataAsCalldata((root, snark, data), env.genesis_shnarf, submission.shnarf))
    finalization = env.finalization_for(
        None,
        4,
        shnarf_data=ShnarfData(env.genesis_shnarf, snark, root, submission.x, submission.y),
        l2_merkle_roots=tuple(roots),
        l2_messaging_blocks_offsets=encode_l2_messaging_blocks_offsets(1, [2]),
    )
    env.send(env.finalize_call(finalization))
    return hashes, messages


def claim_params(hashes, messages, index, fee_recipient=POSTMAN.address):
    root, leaf_index, proof = l2_message_proof(hashes, index)
    m = messages[index]
    return [list(proof), m._nonce, leaf_index, m._from, m._to, m._fee, m._value, fee_recipient, root, m._calldata]


def test_send_message_rolling_hashes_match_oracle(env, l1_snapshot):
    rolling = env.rollup.functions.rollingHashes(1).call()
    for number, (fee, value, data) in enumerate([(0, 1, b""), (5, 10, b"\xab" * 40), (7, 7, b"x")], start=2):
        receipt = env.send(env.rollup.functions.sendMessage(USER.address, fee, data), sender=ADMIN, value=value)
        message_hash = compute_message_hash(
            address_bytes(ADMIN.address), address_bytes(USER.address), fee, value - fee, number, data
        )
        rolling = next_rolling_hash(rolling, message_hash)
        (updated,) = events(env.rollup, "RollingHashUpdated", receipt)
        (sent,) = events(env.rollup, "MessageSent", receipt)
        assert (updated.args.messageNumber, updated.args.rollingHash, updated.args.messageHash) == (
            number,
            rolling,
            message_hash,
        )
        assert (sent.args._fee, sent.args._value, sent.args._nonce, sent.args._messageHash) == (
            fee,
            value - fee,
            number,
            message_hash,
        )
        assert env.rollup.functions.rollingHashes(number).call() == rolling
    assert env.rollup.functions.nextMessageNumber().call() == 5


def test_send_message_refusals(env, l1_snapshot):
    zero = "0x" + "00" * 20
    assert (
        env.revert(env.rollup.functions.sendMessage(zero, 0, b""), sender=ADMIN, value=1)[0] == "ZeroAddressNotAllowed"
    )
    assert (
        env.revert(env.rollup.functions.sendMessage(USER.address, 2, b""), sender=ADMIN, value=1)[0]
        == "ValueSentTooLow"
    )
    env.send(env.rollup.functions.pauseByType(2), sender=ADMIN)
    assert env.revert(env.rollup.functions.sendMessage(USER.address, 0, b""), sender=ADMIN, value=1) == (
        "IsPaused",
        (2,),
    )


def test_l2_message_finalized_then_claimed_on_l1(env, l2_messages, receiver, l1_snapshot):
    hashes, messages = l2_messages
    receipt = env.send(env.rollup.functions.claimMessageWithProof(claim_params(hashes, messages, 0)), sender=POSTMAN)
    assert [e.args._messageHash for e in events(env.rollup, "MessageClaimed", receipt)] == [hashes[0]]
    assert receiver.functions.lastSender().call() == USER.address
    assert receiver.functions.lastValue().call() == 10**15
    assert receiver.functions.lastData().call() == b"from L2"
    assert env.rollup.functions.isMessageClaimed(messages[0]._nonce).call()

    # a plain ETH transfer with a fee: the claimer earns its gas, the rest of the fee goes back to `to`
    before = {a: env.w3.eth.get_balance(a) for a in (ATTACKER.address, POSTMAN.address)}
    env.send(
        env.rollup.functions.claimMessageWithProof(claim_params(hashes, messages, 1, OPERATOR.address)), sender=POSTMAN
    )
    to_gain = env.w3.eth.get_balance(ATTACKER.address) - before[ATTACKER.address]
    fee = messages[1]._fee
    assert messages[1]._value < to_gain < messages[1]._value + fee
    assert env.w3.eth.get_balance(POSTMAN.address) < before[POSTMAN.address]  # paid gas, the fee went to OPERATOR


def test_claim_refusals(env, l2_messages, l1_snapshot):
    hashes, messages = l2_messages
    claim = env.rollup.functions.claimMessageWithProof
    params = claim_params(hashes, messages, 2)
    assert env.revert(claim([*params[:8], b"\x09" * 32, params[9]]))[0] == "L2MerkleRootDoesNotExist"
    assert env.revert(claim([params[0][:4], *params[1:]])) == ("ProofLengthDifferentThanMerkleDepth", (5, 4))
    assert env.revert(claim([params[0], params[1], 32, *params[3:]])) == ("LeafIndexOutOfBounds", (32, 31))
    assert env.revert(claim([params[0], params[1], 1, *params[3:]]))[0] == "InvalidMerkleProof"
    forged = [b"\x01" * 32, *params[0][1:]]
    assert env.revert(claim([forged, *params[1:]]))[0] == "InvalidMerkleProof"
    assert env.revert(claim([*params[:6], params[6] + 1, *params[7:]]))[0] == "InvalidMerkleProof"
    env.send(claim(params), sender=POSTMAN)
    assert env.revert(claim(params)) == ("MessageAlreadyClaimed", (messages[2]._nonce,))


def test_claim_bubbles_the_target_revert(env, l2_messages, test_artifacts):
    hashes, messages = l2_messages
    call = env.rollup.functions.claimMessageWithProof(claim_params(hashes, messages, 3))
    assert revert_of(call, {**env.artifacts, **test_artifacts}, POSTMAN.address) == ("Refused", (7,))
    assert not env.rollup.functions.isMessageClaimed(messages[3]._nonce).call()


def test_claim_rate_limit_and_pause(env, l2_messages, l1_snapshot):
    hashes, messages = l2_messages
    params = claim_params(hashes, messages, 1)
    assert env.revert(env.rollup.functions.resetRateLimitAmount(1), sender=ATTACKER)[0] == "MissingRole"
    env.send(env.rollup.functions.resetRateLimitAmount(10**17), sender=ADMIN)
    assert env.revert(env.rollup.functions.claimMessageWithProof(params))[0] == "RateLimitExceeded"
    env.send(env.rollup.functions.resetRateLimitAmount(10**19), sender=ADMIN)
    env.send(env.rollup.functions.pauseByType(3), sender=ADMIN)
    assert env.revert(env.rollup.functions.claimMessageWithProof(params)) == ("IsPaused", (3,))
    env.send(env.rollup.functions.unPauseByType(3), sender=ADMIN)
    env.send(env.rollup.functions.claimMessageWithProof(params), sender=POSTMAN)
    assert env.rollup.functions.currentPeriodAmountInWei().call() == messages[1]._fee + messages[1]._value
