"""The Rust hashers (linen_native, native/) against the pure-Python references they replace.

Same outputs on the shared known answers (Noir/Barretenberg Poseidon2 vectors, Linea's empty MiMC
root) and on random inputs of every length, the same constants, and the same refusals of words
that are not 32 bytes or not below the modulus. Skipped where the extension is not built.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linen.state.hashers import HASHER_NAMES, NATIVE_AVAILABLE, FieldElementOutOfRange, get_hasher
from linen.state.hashers.mimc import MIMC_CONSTANTS
from linen.state.hashers.poseidon2 import permute
from linen.state.tree import SparseMerkleTree

pytestmark = pytest.mark.skipif(not NATIVE_AVAILABLE, reason="linen_native is not built (./run setup builds it)")

VECTORS = Path(__file__).parents[2].parent / "shared" / "vectors"
POSEIDON2_FILE = VECTORS / "poseidon2" / "bn254.json"
EMPTY_ROOT_MIMC = bytes.fromhex("07977874126658098c066972282d4c85f230520af3847e297fe7524f976873e5")
EMPTY_ROOT_POSEIDON2 = bytes.fromhex("2a217de9cac94f471dd53c01d94b731298e02937846c9de4500661b0454ecf4e")
MIMC, POSEIDON2 = HASHER_NAMES


def _pair(name: str):
    return get_hasher(name, native=False), get_hasher(name, native=True)


def _word(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _words_of(name: str, max_size: int = 8, min_size: int = 0):
    modulus = get_hasher(name, native=False).modulus
    edge = st.sampled_from([0, 1, 2**64, 2**128 - 1, modulus - 1, modulus - 2])
    value = st.one_of(edge, st.integers(min_value=0, max_value=modulus - 1))
    return st.lists(value.map(lambda v: v.to_bytes(32, "big")), min_size=min_size, max_size=max_size)


def test_default_hasher_is_native_and_reference_stays_available():
    for name in HASHER_NAMES:
        python, native = _pair(name)
        assert get_hasher(name) is native
        assert type(python).__module__.startswith("linen.state.hashers.") and not getattr(python, "native", False)
        assert native.name == python.name == name and native.modulus == python.modulus


def test_mimc_round_constants_match_the_keccak_chain():
    import linen_native

    assert [int.from_bytes(c, "big") for c in linen_native.mimc_bls12_377_round_constants()] == list(MIMC_CONSTANTS)


def test_poseidon2_known_answers():
    if not POSEIDON2_FILE.exists():
        pytest.skip(f"{POSEIDON2_FILE} not found: the shared vectors folder must sit beside the repository")
    import linen_native

    data = json.loads(POSEIDON2_FILE.read_text())
    native = get_hasher(POSEIDON2, native=True)
    for case in data["permutation"]:
        state = [_word(x) for x in case["input"]]
        assert linen_native.poseidon2_bn254_permutation(state) == [_word(x) for x in case["output"]]
        assert [int.from_bytes(w, "big") for w in linen_native.poseidon2_bn254_permutation(state)] == permute(
            [int.from_bytes(w, "big") for w in state]
        )
    for case in data["hash"]:
        assert native.hash([_word(x) for x in case["input"]]) == _word(case["output"]), case["input"]
    for case in data["hash_stdlib_internal_divergent"]:
        assert native.hash([_word(x) for x in case["input"]]) != _word(case["output"])


def test_empty_roots_through_the_tree():
    assert SparseMerkleTree(get_hasher(MIMC, native=True)).root == EMPTY_ROOT_MIMC
    assert SparseMerkleTree(get_hasher(MIMC, native=False)).root == EMPTY_ROOT_MIMC
    assert SparseMerkleTree(get_hasher(POSEIDON2, native=True)).root == EMPTY_ROOT_POSEIDON2


@pytest.mark.parametrize("name", HASHER_NAMES)
def test_empty_input(name):
    python, native = _pair(name)
    assert native.hash([]) == python.hash([])
    assert native.hash_many([]) == [] and native.hash_many([[]]) == [python.hash([])]


@pytest.mark.parametrize("name", HASHER_NAMES)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_random_inputs_match_the_reference(name, data):
    python, native = _pair(name)
    words = data.draw(_words_of(name))
    expected = python.hash(words)
    assert native.hash(words) == expected
    assert native.hash(tuple(words)) == expected
    assert native.hash(iter(words)) == expected
    assert native.hash([bytearray(w) for w in words]) == expected
    ints = [int.from_bytes(w, "big") for w in words]
    assert native.hash_ints(ints) == python.hash_ints(ints) == int.from_bytes(expected, "big")


@pytest.mark.parametrize("name", HASHER_NAMES)
@settings(max_examples=15, deadline=None, derandomize=True)
@given(data=st.data())
def test_batch_forms_match_the_reference(name, data):
    python, native = _pair(name)
    inputs = data.draw(st.lists(_words_of(name, max_size=5), max_size=6))
    assert native.hash_many(inputs) == python.hash_many(inputs) == [python.hash(ws) for ws in inputs]
    left = data.draw(_words_of(name, max_size=6))
    right = data.draw(_words_of(name, min_size=len(left), max_size=len(left)))
    assert native.hash_pairs(left, right) == python.hash_pairs(left, right)
    node = data.draw(_words_of(name, min_size=1, max_size=1))[0]
    siblings = data.draw(_words_of(name, max_size=12))
    index = data.draw(st.integers(0, 2**40 - 1))
    path = native.path_hashes(index, node, siblings)
    assert path == python.path_hashes(index, node, siblings)
    assert len(path) == len(siblings)


@pytest.mark.parametrize("name", HASHER_NAMES)
def test_long_batches_split_over_threads_keep_order(name):
    python, native = _pair(name)
    left = [i.to_bytes(32, "big") for i in range(1100)]
    right = [(i * 7919).to_bytes(32, "big") for i in range(1100)]
    expected = [python.hash([a, b]) for a, b in zip(left[:40], right[:40], strict=True)]
    assert native.hash_pairs(left, right)[:40] == expected
    many = native.hash_many([[a, b] for a, b in zip(left, right, strict=True)])
    assert many == native.hash_pairs(left, right)
    assert many[-1] == python.hash([left[-1], right[-1]])


def test_path_hashes_match_the_tree():
    for name in HASHER_NAMES:
        python, native = _pair(name)
        tree = SparseMerkleTree(native)
        tree.put(b"\x01" * 32, b"\x02" * 32)
        leaf = tree.leaf(2)
        assert leaf is not None
        siblings = tree.siblings(2)
        assert native.path_hashes(2, leaf.hash(native), siblings)[-1] == tree.sub_root
        assert python.path_hashes(2, leaf.hash(python), siblings)[-1] == tree.sub_root


@pytest.mark.parametrize("name", HASHER_NAMES)
def test_same_refusals_as_the_reference(name):
    python, native = _pair(name)
    p = python.modulus
    bad_words = [
        p.to_bytes(32, "big"),
        (2**256 - 1).to_bytes(32, "big"),
        b"\x01" * 31,
        b"\x01" * 33,
        b"",
    ]
    good = (p - 1).to_bytes(32, "big")
    for bad in bad_words:
        for words in ([bad], [good, bad], [bad, good, good, good]):
            with pytest.raises(FieldElementOutOfRange) as ref:
                python.hash(words)
            with pytest.raises(FieldElementOutOfRange) as nat:
                native.hash(words)
            assert str(nat.value) == str(ref.value)
        with pytest.raises(FieldElementOutOfRange):
            native.hash_many([[good], [bad]])
        with pytest.raises(FieldElementOutOfRange):
            native.hash_pairs([good], [bad])
        with pytest.raises(FieldElementOutOfRange):
            native.path_hashes(0, bad, [good])
        with pytest.raises(FieldElementOutOfRange):
            native.path_hashes(0, good, [good, bad])
    with pytest.raises(ValueError):
        native.hash_pairs([good], [])
    with pytest.raises(TypeError):
        native.hash([12])


def test_extension_raises_value_error_itself():
    import linen_native

    with pytest.raises(ValueError, match="not below the field modulus"):
        linen_native.mimc_bls12_377([get_hasher(MIMC).modulus.to_bytes(32, "big")])
    with pytest.raises(ValueError, match="expected a 32-byte word, got 31 bytes"):
        linen_native.poseidon2_bn254([bytes(31)])
    with pytest.raises(ValueError, match="takes 4 words"):
        linen_native.poseidon2_bn254_permutation([bytes(32)] * 3)
