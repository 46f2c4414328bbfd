"""finalizeBlocks with FinalizationDataV3 and the attestation verifier, against a real anvil."""

from __future__ import annotations

from dataclasses import replace

import pytest
from web3.logs import DISCARD

from linen.primitives.types import Address
from linen.protocol.attestation import sign_attestation
from linen.protocol.messaging import (
    build_l2_message_trees,
    compute_message_hash,
    encode_l2_messaging_blocks_offsets,
    next_rolling_hash,
)
from linen.protocol.public_input import compute_finalized_state
from tests.l1.support import ADMIN, ATTACKER, GENESIS_STATE_ROOT, OPERATOR, PROVERS, RollupEnv

ZERO = bytes(32)


@pytest.fixture(scope="module")
def env(l1_w3, artifacts):
    return RollupEnv.deploy(l1_w3, artifacts)


@pytest.fixture(scope="module")
def submitted(env):
    """Two blobs on L1, the last of which finalization will name; kept for the whole module."""
    prepared = env.prepare(2)
    env.submit_blobs(prepared)
    return prepared


def test_finalize_with_valid_attestation(env, submitted, l1_snapshot):
    user = ADMIN.address
    env.send(env.rollup.functions.sendMessage(user, 0, b"hi"), sender=ADMIN, value=5)
    rolling = next_rolling_hash(
        ZERO, compute_message_hash(Address(bytes.fromhex(user[2:])), Address(bytes.fromhex(user[2:])), 0, 5, 1, b"hi")
    )
    assert env.rollup.functions.rollingHashes(1).call() == rolling
    roots = tuple(build_l2_message_trees([b"\x01" * 32] * 33))  # two trees
    data = env.finalization_for(
        submitted[-1],
        end_block=7,
        l1_rolling_hash=rolling,
        l1_rolling_hash_message_number=1,
        l2_merkle_roots=roots,
        l2_messaging_blocks_offsets=encode_l2_messaging_blocks_offsets(1, [3, 7]),
    )
    receipt = env.send(env.finalize_call(data))
    assert env.rollup.functions.currentL2BlockNumber().call() == 7
    assert env.rollup.functions.stateRootHashes(7).call() == submitted[-1].final_state_root
    assert env.rollup.functions.currentFinalizedShnarf().call() == submitted[-1].shnarf
    assert env.rollup.functions.currentFinalizedState().call() == compute_finalized_state(
        1, rolling, data.final_timestamp
    )
    (finalized,) = env.rollup.events.DataFinalizedV3().process_receipt(receipt, errors=DISCARD)
    assert (finalized.args.startBlockNumber, finalized.args.endBlockNumber) == (1, 7)
    assert finalized.args.shnarf == submitted[-1].shnarf
    assert finalized.args.parentStateRootHash == GENESIS_STATE_ROOT
    added = env.rollup.events.L2MerkleRootAdded().process_receipt(receipt, errors=DISCARD)
    assert [(e.args.l2MerkleRoot, e.args.treeDepth) for e in added] == [(r, 5) for r in roots]
    assert all(env.rollup.functions.l2MerkleRootsDepths(r).call() == 5 for r in roots)
    anchored = env.rollup.events.L2MessagingBlockAnchored().process_receipt(receipt, errors=DISCARD)
    assert [e.args.l2Block for e in anchored] == [3, 7]

    # the next finalization chains on: lastFinalized* are what this one stored
    follow = env.prepare(1, parent=submitted[-1].shnarf)
    env.submit_blobs(follow)
    data2 = env.finalization_for(
        follow[0],
        end_block=9,
        last_finalized_timestamp=data.final_timestamp,
        final_timestamp=data.final_timestamp + 1,
        last_finalized_l1_rolling_hash=rolling,
        last_finalized_l1_rolling_hash_message_number=1,
        l1_rolling_hash=rolling,
        l1_rolling_hash_message_number=1,
    )
    env.send(env.finalize_call(data2))
    assert env.rollup.functions.currentL2BlockNumber().call() == 9
    # a replayed finalization no longer matches the chain
    assert env.revert(env.finalize_call(data2))[0] == "StartingRootHashDoesNotMatch"


def test_empty_proof(env, submitted):
    assert env.revert(env.finalize_call(env.finalization_for(submitted[-1], 5), proof=b""))[0] == "ProofIsEmpty"


def test_wrong_parent_state_root(env, submitted):
    data = env.finalization_for(submitted[-1], 5, parent_state_root=b"\x01" * 32)
    assert env.revert(env.finalize_call(data))[0] == "StartingRootHashDoesNotMatch"


@pytest.mark.parametrize(
    ("number", "rolling", "error"),
    [
        (0, b"\x01" * 32, "MissingMessageNumberForRollingHash"),
        (1, ZERO, "MissingRollingHashForMessageNumber"),
        (1, b"\x01" * 32, "L1RollingHashDoesNotExistOnL1"),
    ],
)
def test_wrong_l1_rolling_hash(env, submitted, number, rolling, error):
    data = env.finalization_for(submitted[-1], 5, l1_rolling_hash=rolling, l1_rolling_hash_message_number=number)
    assert env.revert(env.finalize_call(data))[0] == error


@pytest.mark.parametrize(
    "field",
    ["last_finalized_timestamp", "last_finalized_l1_rolling_hash", "last_finalized_l1_rolling_hash_message_number"],
)
def test_wrong_last_finalized_state(env, submitted, field):
    data = env.finalization_for(submitted[-1], 5)
    value = getattr(data, field)
    data = replace(data, **{field: b"\x05" * 32 if isinstance(value, bytes) else value + 1})
    name, (expected, supplied) = env.revert(env.finalize_call(data))
    assert name == "FinalizationStateIncorrect"
    assert expected == compute_finalized_state(0, ZERO, env.genesis_timestamp)


def test_final_timestamp_in_the_future(env, submitted):
    future = env.w3.eth.get_block("latest")["timestamp"] + 3600
    data = env.finalization_for(submitted[-1], 5, final_timestamp=future)
    assert env.revert(env.finalize_call(data))[0] == "FinalizationInTheFuture"


def test_zero_final_state_root_and_unknown_shnarf(env, submitted):
    data = env.finalization_for(submitted[-1], 5)
    zero_root = replace(data, shnarf_data=replace(data.shnarf_data, final_state_root=ZERO))
    assert env.revert(env.finalize_call(zero_root))[0] == "FinalBlockStateEqualsZeroHash"
    # the first blob's shnarf was never stored on its own (only the last of a transaction is)
    first = env.finalization_for(submitted[0], 5)
    assert env.revert(env.finalize_call(first)) == ("FinalBlobNotSubmitted", (submitted[0].shnarf,))
    bad_y = replace(data, shnarf_data=replace(data.shnarf_data, y=b"\x01" * 32))
    assert env.revert(env.finalize_call(bad_y))[0] == "FinalBlobNotSubmitted"


def test_odd_messaging_block_offsets(env, submitted):
    data = env.finalization_for(submitted[-1], 5, l2_messaging_blocks_offsets=b"\x00\x01\x02")
    assert env.revert(env.finalize_call(data)) == ("BytesLengthNotMultipleOfTwo", (3,))


def test_forged_proofs_are_refused(env, submitted):
    data = env.finalization_for(submitted[-1], 5)
    chain_id, verifier = env.w3.eth.chain_id, env.verifier.address
    public_input = data.public_input(env.genesis_shnarf, 0)
    cases = {
        "one signature below threshold": sign_attestation([PROVERS[0].private_key], chain_id, verifier, public_input),
        "unregistered signer": sign_attestation(
            [PROVERS[0].private_key, ATTACKER.private_key], chain_id, verifier, public_input
        ),
        "other public input": sign_attestation(
            [p.private_key for p in PROVERS[:2]], chain_id, verifier, public_input + 1
        ),
        "other chain": sign_attestation([p.private_key for p in PROVERS[:2]], chain_id + 1, verifier, public_input),
        "same signer twice": sign_attestation([PROVERS[0].private_key], chain_id, verifier, public_input) * 2,
        "garbage": b"\x07" * 130,
        "truncated": env.attest(data)[:-1],
    }
    for label, proof in cases.items():
        assert env.revert(env.finalize_call(data, proof=proof))[0] == "InvalidProof", label
    assert env.verifier.functions.Verify(env.attest(data), [public_input]).call()


def test_unset_or_unknown_verifier(env, submitted, l1_snapshot):
    data = env.finalization_for(submitted[-1], 5)
    assert env.revert(env.finalize_call(data, proof_type=3))[0] == "InvalidProofType"
    assert env.revert(env.rollup.functions.unsetVerifierAddress(0), sender=ATTACKER)[0] == "MissingRole"
    receipt = env.send(env.rollup.functions.unsetVerifierAddress(0), sender=ADMIN)
    (changed,) = env.rollup.events.VerifierAddressChanged().process_receipt(receipt, errors=DISCARD)
    assert changed.args.oldVerifierAddress == env.verifier.address
    assert env.revert(env.finalize_call(data))[0] == "InvalidProofType"
    assert env.revert(env.rollup.functions.setVerifierAddress(ATTACKER.address, 0), sender=ATTACKER)[0] == "MissingRole"
    env.send(env.rollup.functions.setVerifierAddress(env.verifier.address, 3), sender=ADMIN)
    env.send(env.finalize_call(data, proof_type=3))
    assert env.rollup.functions.currentL2BlockNumber().call() == 5


def test_non_operator_and_pause(env, submitted, l1_snapshot):
    data = env.finalization_for(submitted[-1], 5)
    assert env.revert(env.finalize_call(data), sender=ATTACKER)[0] == "MissingRole"
    env.send(env.rollup.functions.pauseByType(6), sender=ADMIN)
    assert env.revert(env.finalize_call(data)) == ("IsPaused", (6,))


def test_l2_merkle_root_cannot_be_anchored_twice(env, submitted, l1_snapshot):
    roots = tuple(build_l2_message_trees([b"\x02" * 32]))
    env.send(env.finalize_call(env.finalization_for(submitted[-1], 5, l2_merkle_roots=roots)))
    follow = env.prepare(1, parent=submitted[-1].shnarf)
    env.submit_blobs(follow)
    data = env.finalization_for(
        follow[0],
        6,
        last_finalized_timestamp=env.genesis_timestamp + 10,
        final_timestamp=env.genesis_timestamp + 11,
        l2_merkle_roots=roots,
    )
    assert env.revert(env.finalize_call(data)) == ("L2MerkleRootAlreadyAnchored", (roots[0],))


def test_fallback_operator_after_six_months(env, l1_snapshot):
    state = (0, ZERO, env.genesis_timestamp)
    assert (
        env.revert(env.rollup.functions.setFallbackOperator(*state), sender=ATTACKER)[0]
        == "LastFinalizationTimeNotLapsed"
    )
    env.send(env.rollup.functions.setFallbackOperatorAddress(ATTACKER.address), sender=ADMIN)
    env.w3.provider.make_request("evm_increaseTime", [182 * 86400])
    env.w3.provider.make_request("evm_mine", [])
    wrong = (0, ZERO, env.w3.eth.get_block("latest")["timestamp"] - 86400)
    assert (
        env.revert(env.rollup.functions.setFallbackOperator(*wrong), sender=ATTACKER)[0]
        == "LastFinalizationTimeNotLapsed"
    )
    wrong = (1, ZERO, env.genesis_timestamp)
    assert (
        env.revert(env.rollup.functions.setFallbackOperator(*wrong), sender=ATTACKER)[0] == "FinalizationStateIncorrect"
    )
    role = env.rollup.functions.OPERATOR_ROLE().call()
    assert not env.rollup.functions.hasRole(role, ATTACKER.address).call()
    env.send(env.rollup.functions.setFallbackOperator(*state), sender=ATTACKER)
    assert env.rollup.functions.hasRole(role, ATTACKER.address).call()
    assert env.rollup.functions.hasRole(role, OPERATOR.address).call()
