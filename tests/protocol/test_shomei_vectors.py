"""Linea's Shomei state tree and the Poseidon2 hasher against known answers from outside Linen.

Data: `../shared/vectors/linea/shomei-merkle-proof-data.json` (linea_getProof output from Linea's
contract tests, MiMC tree) and `../shared/vectors/poseidon2/bn254.json` (Noir / Barretenberg runs).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from linen.state.encoding import AccountValue, account_hkey, account_hval, storage_hkey, storage_hval
from linen.state.hashers import get_hasher
from linen.state.hashers.poseidon2 import permute
from linen.state.model import LeafOpening
from linen.state.proofs import InclusionProof, open_leaf, proof_from_json, verify_inclusion
from linen.state.tree import empty_root

VECTORS = Path(__file__).parents[2].parent / "shared" / "vectors"
SHOMEI_FILE = VECTORS / "linea" / "shomei-merkle-proof-data.json"
POSEIDON2_FILE = VECTORS / "poseidon2" / "bn254.json"

EMPTY_ROOT_MIMC = bytes.fromhex("07977874126658098c066972282d4c85f230520af3847e297fe7524f976873e5")
# The L2 state root these proofs were taken at, as Linea's SparseMerkleProof contract test states it.
ACCOUNT_STATE_ROOT = bytes.fromhex("0e080582960965e3c180b1457b16da48041e720af628ae6c1725d13bd98ba9f0")

MIMC = get_hasher("mimc-bls12-377")
POSEIDON2 = get_hasher("poseidon2-bn254")


def _load(path: Path) -> dict:
    if not path.exists():
        pytest.skip(f"{path} not found: the shared vectors folder must sit beside the repository (../shared/vectors)")
    return json.loads(path.read_text())


def _word(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _root_of(proof: InclusionProof) -> bytes:
    head = proof.proof.proof_related_nodes[0]
    return MIMC.hash([head[:32], head[32:]])


def test_empty_root_mimc():
    assert empty_root("mimc-bls12-377") == EMPTY_ROOT_MIMC


def test_account_proof():
    data = _load(SHOMEI_FILE)
    proof = proof_from_json(data["accountProof"])
    assert isinstance(proof, InclusionProof)
    assert proof.leaf_index == 65008
    root = _root_of(proof)
    assert root == ACCOUNT_STATE_ROOT
    assert verify_inclusion(root, proof, MIMC)

    leaf = open_leaf(MIMC, root, proof.leaf_index, proof.proof)
    assert leaf is not None
    assert leaf.hkey == account_hkey(MIMC, proof.key)
    account = AccountValue.decode(proof.proof.value)
    assert account.encode() == proof.proof.value
    assert leaf.hval == account_hval(MIMC, account)
    assert (account.nonce, account.balance, account.code_size) == (1, 0, 0x3030)

    # The storage proofs below open this account's storage tree.
    storage_root = _root_of(proof_from_json(data["storageProofs"][0]))
    assert account.storage_root == storage_root


def test_account_proof_rejects_wrong_index_and_root():
    data = _load(SHOMEI_FILE)
    proof = proof_from_json(data["accountProof"])
    assert not verify_inclusion(ACCOUNT_STATE_ROOT, replace(proof, leaf_index=200), MIMC)
    assert not verify_inclusion(EMPTY_ROOT_MIMC, proof, MIMC)


def test_storage_proofs():
    data = _load(SHOMEI_FILE)
    assert len(data["storageProofs"]) == 3
    for raw in data["storageProofs"]:
        proof = proof_from_json(raw)
        assert isinstance(proof, InclusionProof)
        root = _root_of(proof)
        assert verify_inclusion(root, proof, MIMC), raw["key"]
        leaf = LeafOpening.decode(proof.proof.proof_related_nodes[-1])
        assert leaf.hkey == storage_hkey(MIMC, proof.key)
        assert leaf.hval == storage_hval(MIMC, proof.proof.value)
        # Sibling leaves: an empty slot is sent as one zero word.
        sibling = proof.proof.proof_related_nodes[-2]
        assert sibling == bytes(32) or len(sibling) == 128


def test_proofs_round_trip_through_json():
    data = _load(SHOMEI_FILE)
    for raw in [data["accountProof"], *data["storageProofs"]]:
        assert proof_from_json(raw).to_json() == raw


def test_poseidon2_permutation_known_answers():
    data = _load(POSEIDON2_FILE)
    assert data["permutation"]
    for case in data["permutation"]:
        out = permute([int(x, 16) for x in case["input"]])
        assert out == [int(x, 16) for x in case["output"]]


def test_poseidon2_hash_known_answers():
    data = _load(POSEIDON2_FILE)
    assert data["hash"]
    for case in data["hash"]:
        assert POSEIDON2.hash([_word(x) for x in case["input"]]) == _word(case["output"]), case["input"]


def test_poseidon2_is_not_the_stdlib_internal_variant():
    data = _load(POSEIDON2_FILE)
    for case in data["hash_stdlib_internal_divergent"]:
        assert POSEIDON2.hash([_word(x) for x in case["input"]]) != _word(case["output"])
