"""submitBlobs and submitDataAsCalldata against a real anvil, with the protocol functions as oracle."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from linen.protocol.blob.kzg import submit_blobs_args
from linen.protocol.calldata_submission import compute_calldata_submission
from tests.l1.support import ADMIN, ATTACKER, RollupEnv


@pytest.fixture(scope="module")
def env(l1_w3, artifacts):
    return RollupEnv.deploy(l1_w3, artifacts)


def submit_call(env, prepared, parent=None, final=None):
    submissions, default_parent, default_final = submit_blobs_args(prepared)
    return env.rollup.functions.submitBlobs(submissions, parent or default_parent, final or default_final)


def hashes(prepared):
    return [p.versioned_hash for p in prepared]


def test_three_blobs_in_one_type3_transaction_store_the_oracle_shnarf(env, l1_snapshot):
    prepared = env.prepare(3)
    receipt = env.submit_blobs(prepared)
    assert receipt["status"] == 1
    assert env.rollup.functions.blobShnarfExists(prepared[-1].shnarf).call() == 1
    # only the last shnarf of a transaction is stored
    assert env.rollup.functions.blobShnarfExists(prepared[0].shnarf).call() == 0
    (event,) = env.rollup.events.DataSubmittedV3().process_receipt(receipt, errors=DISCARD)
    assert event.args.parentShnarf == env.genesis_shnarf
    assert event.args.shnarf == prepared[-1].shnarf
    assert event.args.finalStateRootHash == prepared[-1].final_state_root
    # a second submission chains onto the first
    follow = env.prepare(1, parent=prepared[-1].shnarf)
    assert env.submit_blobs(follow)["status"] == 1
    assert env.rollup.functions.blobShnarfExists(follow[0].shnarf).call() == 1


def test_no_blob_submissions(env):
    call = env.rollup.functions.submitBlobs([], env.genesis_shnarf, env.genesis_shnarf)
    assert env.revert(call)[0] == "BlobSubmissionDataIsMissing"


def test_more_blobs_attached_than_submitted(env):
    prepared = env.prepare(2)
    assert env.revert(submit_call(env, prepared[:1]), blob_hashes=hashes(prepared)) == (
        "MoreBlobsAttachedThanSubmitted",
        (1,),
    )


def test_fewer_blobs_attached_than_submitted(env):
    prepared = env.prepare(2)
    assert env.revert(submit_call(env, prepared), blob_hashes=hashes(prepared[:1])) == ("BlobSubmissionDataEmpty", (1,))
    assert env.revert(submit_call(env, prepared)) == ("BlobSubmissionDataEmpty", (0,))


def test_wrong_parent_shnarf(env):
    prepared = env.prepare(1)
    wrong = b"\x42" * 32
    assert env.revert(submit_call(env, prepared, parent=wrong), blob_hashes=hashes(prepared)) == (
        "ParentBlobNotSubmitted",
        (wrong,),
    )


def test_wrong_final_shnarf(env):
    prepared = env.prepare(2)
    wrong = b"\x43" * 32
    name, args = env.revert(submit_call(env, prepared, final=wrong), blob_hashes=hashes(prepared))
    assert (name, args) == ("FinalShnarfWrong", (wrong, prepared[-1].shnarf))


def test_shnarf_already_submitted(env, l1_snapshot):
    prepared = env.prepare(1)
    env.submit_blobs(prepared)
    assert env.revert(submit_call(env, prepared), blob_hashes=hashes(prepared)) == (
        "DataAlreadySubmitted",
        (prepared[0].shnarf,),
    )


@pytest.mark.parametrize("field", ["y", "kzg_proof", "commitment", "snark_hash"])
def test_wrong_kzg_opening_fails_point_evaluation(env, field):
    (blob,) = env.prepare(1)
    y, commitment, proof, root, snark = blob.submission()
    other = env.prepare(1)[0]
    if field == "y":
        y = (y + 1) % 2**256
    elif field == "kzg_proof":
        proof = other.kzg_proof
    elif field == "commitment":
        commitment = other.commitment
    else:
        snark = other.snark_hash  # moves x, so the proof opens the wrong point
    call = env.rollup.functions.submitBlobs([(y, commitment, proof, root, snark)], env.genesis_shnarf, blob.shnarf)
    assert env.revert(call, blob_hashes=[blob.versioned_hash])[0] == "PointEvaluationFailed"


def test_non_operator_cannot_submit(env):
    prepared = env.prepare(1)
    name, args = env.revert(submit_call(env, prepared), sender=ATTACKER, blob_hashes=hashes(prepared))
    assert name == "MissingRole" and args[1] == ATTACKER.address


@pytest.mark.parametrize("pause_type", [1, 4])
def test_paused_blob_submission(env, l1_snapshot, pause_type):
    env.send(env.rollup.functions.pauseByType(pause_type), sender=ADMIN)
    prepared = env.prepare(1)
    assert env.revert(submit_call(env, prepared), blob_hashes=hashes(prepared)) == ("IsPaused", (pause_type,))


def test_only_pause_manager_pauses(env):
    assert env.revert(env.rollup.functions.pauseByType(4), sender=ATTACKER)[0] == "MissingRole"


# ---------------------------------------------------------------- calldata path


def calldata(seed: int, chunks: int = 40) -> bytes:
    return b"".join(b"\0" + bytes([(seed + i) % 256]) * 31 for i in range(chunks))


def test_calldata_submission_matches_oracle(env, l1_snapshot):
    data, snark, root = calldata(1), b"\x51" * 32, b"\x52" * 32
    expected = compute_calldata_submission(env.genesis_shnarf, snark, root, data)
    receipt = env.send(
        env.rollup.functions.submitDataAsCalldata((root, snark, data), env.genesis_shnarf, expected.shnarf)
    )
    (event,) = env.rollup.events.DataSubmittedV3().process_receipt(receipt, errors=DISCARD)
    assert event.args.shnarf == expected.shnarf
    assert env.rollup.functions.blobShnarfExists(expected.shnarf).call() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "EmptySubmissionData"),
        (calldata(2)[:-1], "BytesLengthNotMultipleOf32"),
        (b"\x01" + calldata(3)[1:], "FirstByteIsNotZero"),
    ],
)
def test_calldata_submission_refuses_bad_data(env, data, error):
    call = env.rollup.functions.submitDataAsCalldata(
        (b"\x52" * 32, b"\x51" * 32, data), env.genesis_shnarf, b"\x01" * 32
    )
    assert env.revert(call)[0] == error


def test_calldata_submission_wrong_expected_shnarf_and_pause(env, l1_snapshot):
    data, snark, root = calldata(4), b"\x51" * 32, b"\x52" * 32
    expected = compute_calldata_submission(env.genesis_shnarf, snark, root, data).shnarf
    call = env.rollup.functions.submitDataAsCalldata((root, snark, data), env.genesis_shnarf, b"\x09" * 32)
    assert env.revert(call) == ("FinalShnarfWrong", (b"\x09" * 32, expected))
    env.send(env.rollup.functions.pauseByType(5), sender=ADMIN)
    call = env.rollup.functions.submitDataAsCalldata((root, snark, data), env.genesis_shnarf, expected)
    assert env.revert(call) == ("IsPaused", (5,))
