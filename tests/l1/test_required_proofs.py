"""Required proof types: a chain can demand the validity proof (or several proofs) for every finalization.

Proof type 2 here is a second AttestationVerifier with its own prover, standing in for any second
verifier: what is under test is the rollup's bookkeeping, from the attacker's side (a missing required
proof, one forged proof among good ones, reordered or repeated types, a wrong caller, unsetting a
required verifier, a replay).
"""

from __future__ import annotations

import pytest

from linen.l1.transact import deploy
from linen.protocol.attestation import sign_attestation
from tests.l1.support import ADMIN, ATTACKER, PROVERS, RollupEnv

SECOND_TYPE = 2


@pytest.fixture(scope="module")
def env(l1_w3, artifacts):
    env = RollupEnv.deploy(l1_w3, artifacts)
    second = deploy(l1_w3, ADMIN.private_key, artifacts["AttestationVerifier"], ADMIN.address,
                    [PROVERS[2].address], 1)
    env.send(env.rollup.functions.setVerifierAddress(second, SECOND_TYPE), sender=ADMIN)
    env.second = second
    prepared = env.prepare(1)
    env.submit_blobs(prepared)
    env.blob = prepared[0]
    return env


def proofs_for(env, data, second_signer=PROVERS[2]) -> tuple[bytes, bytes]:
    """The type-0 attestation and the type-2 attestation (by `second_signer`) of `data`."""
    public_input = data.public_input(env.genesis_shnarf, 0)
    second = sign_attestation([second_signer.private_key], env.w3.eth.chain_id, env.second, public_input)
    return env.attest(data), second


def with_proofs(env, data, proofs, types):
    return env.rollup.functions.finalizeBlocksWithProofs(list(proofs), list(types), data.as_abi())


def test_only_the_verifier_setter_sets_registered_increasing_types(env, l1_snapshot):
    set_required = env.rollup.functions.setRequiredProofTypes
    assert env.rollup.functions.getRequiredProofTypes().call() == []
    assert env.revert(set_required([0, SECOND_TYPE]), sender=ATTACKER)[0] == "MissingRole"
    assert env.revert(set_required([0, 5]), sender=ADMIN)[0] == "InvalidProofType"
    assert env.revert(set_required([SECOND_TYPE, 0]), sender=ADMIN)[0] == "ProofTypesNotIncreasing"
    assert env.revert(set_required([0, 0]), sender=ADMIN)[0] == "ProofTypesNotIncreasing"
    env.send(set_required([0, SECOND_TYPE]), sender=ADMIN)
    assert env.rollup.functions.getRequiredProofTypes().call() == [0, SECOND_TYPE]

    # a required verifier cannot be removed until it is no longer required
    unset = env.rollup.functions.unsetVerifierAddress
    assert env.revert(unset(SECOND_TYPE), sender=ADMIN) == ("ProofTypeIsRequired", (SECOND_TYPE,))
    env.send(set_required([0]), sender=ADMIN)
    env.send(unset(SECOND_TYPE), sender=ADMIN)
    assert env.rollup.functions.verifiers(SECOND_TYPE).call() == "0x" + "00" * 20


def test_one_proof_is_not_enough_when_two_are_required(env, l1_snapshot):
    env.send(env.rollup.functions.setRequiredProofTypes([0, SECOND_TYPE]), sender=ADMIN)
    data = env.finalization_for(env.blob, 3)
    first, second = proofs_for(env, data)
    assert env.revert(env.finalize_call(data, proof=first)) == ("RequiredProofTypeMissing", (SECOND_TYPE,))
    assert env.revert(env.finalize_call(data, proof=second, proof_type=SECOND_TYPE)) == (
        "RequiredProofTypeMissing", (0,))
    assert env.revert(with_proofs(env, data, [first], [0])) == ("RequiredProofTypeMissing", (SECOND_TYPE,))
    assert env.revert(with_proofs(env, data, [first, first], [0, 0]))[0] == "ProofTypesNotIncreasing"
    assert env.revert(with_proofs(env, data, [second, first], [SECOND_TYPE, 0]))[0] == "ProofTypesNotIncreasing"
    assert env.revert(with_proofs(env, data, [first, second], [0]))[0] == "ProofCountMismatch"
    assert env.revert(with_proofs(env, data, [], []))[0] == "ProofIsEmpty"
    assert env.revert(with_proofs(env, data, [first, b""], [0, SECOND_TYPE]))[0] == "ProofIsEmpty"

    # one forged proof among good ones: the type-2 attestation signed by a key type 2 does not know
    _, forged = proofs_for(env, data, second_signer=PROVERS[0])
    assert env.revert(with_proofs(env, data, [first, forged], [0, SECOND_TYPE]))[0] == "InvalidProof"
    # a proof of type 2 passed off as type 0
    assert env.revert(with_proofs(env, data, [second, first], [0, SECOND_TYPE]))[0] == "InvalidProof"
    assert env.revert(with_proofs(env, data, [first, second], [0, SECOND_TYPE]), sender=ATTACKER)[0] == "MissingRole"

    env.send(with_proofs(env, data, [first, second], [0, SECOND_TYPE]))
    assert env.rollup.functions.currentL2BlockNumber().call() == 3
    assert env.rollup.functions.stateRootHashes(3).call() == env.blob.final_state_root
    # the same finalization again: its parent is no longer the last finalized root
    assert env.revert(with_proofs(env, data, [first, second], [0, SECOND_TYPE]))[0] == "StartingRootHashDoesNotMatch"


def test_an_extra_unrequired_proof_is_verified_too(env, l1_snapshot):
    env.send(env.rollup.functions.setRequiredProofTypes([SECOND_TYPE]), sender=ADMIN)
    data = env.finalization_for(env.blob, 3)
    first, second = proofs_for(env, data)
    forged_first = sign_attestation([ATTACKER.private_key], env.w3.eth.chain_id, env.verifier.address,
                                    data.public_input(env.genesis_shnarf, 0))
    assert env.revert(with_proofs(env, data, [forged_first, second], [0, SECOND_TYPE]))[0] == "InvalidProof"
    assert env.revert(with_proofs(env, data, [second, b"\x01"], [SECOND_TYPE, 7]))[0] == "InvalidProofType"
    # exactly the required type, through the single-proof entry point
    env.send(env.finalize_call(data, proof=second, proof_type=SECOND_TYPE))
    assert env.rollup.functions.currentL2BlockNumber().call() == 3


def test_no_required_types_keeps_any_registered_verifier(env, l1_snapshot):
    data = env.finalization_for(env.blob, 3)
    first, second = proofs_for(env, data)
    env.send(with_proofs(env, data, [second], [SECOND_TYPE]))
    assert env.rollup.functions.currentL2BlockNumber().call() == 3


def test_the_coordinator_sends_exactly_the_required_proofs(env, l1, l1_snapshot):
    """The finalizer reads L1's required types and picks those proofs from the aggregation response."""
    from linen.coordinator.l1_client import RollupClient
    from linen.coordinator.submitter import Finalizer
    from linen.errors import OperationalError
    from tests.helpers import ROOT
    from tests.l1.support import OPERATOR

    client = RollupClient(l1.url, env.rollup.address, OPERATOR.private_key, ROOT / ".pytest_cache" / "l1-contracts")
    finalizer = Finalizer(client, None, None, None, None)
    data = env.finalization_for(env.blob, 3)
    first, second = proofs_for(env, data)
    response = {"finalBlockNumber": 3, "aggregatedProof": "0x" + second.hex(), "aggregatedVerifierIndex": SECOND_TYPE,
                "proofs": [{"verifierIndex": 0, "proof": "0x" + first.hex()}]}
    env.send(env.rollup.functions.setRequiredProofTypes([0, SECOND_TYPE]), sender=ADMIN)
    with pytest.raises(OperationalError, match=r"missing \[2\]"):
        finalizer._send_finalization(response, data)
    response["proofs"].append({"verifierIndex": SECOND_TYPE, "proof": "0x" + second.hex()})
    tx = finalizer._send_finalization(response, data)
    sent = env.w3.eth.get_transaction(tx)
    function, args = env.rollup.decode_function_input(sent.input)
    assert function.fn_name == "finalizeBlocksWithProofs" and list(args["_proofTypes"]) == [0, SECOND_TYPE]
    assert env.rollup.functions.currentL2BlockNumber().call() == 3
