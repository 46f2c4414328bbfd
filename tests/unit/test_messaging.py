"""Properties of the message hash, the rolling hash, the L2→L1 mini-trees and the block offsets."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from linen.protocol.messaging import (
    L2_MESSAGE_TREE_DEPTH,
    ZERO_HASH,
    LeafIndexOutOfBounds,
    build_l2_message_trees,
    compute_message_hash,
    compute_rolling_hash,
    decode_l2_messaging_blocks_offsets,
    encode_l2_messaging_blocks_offsets,
    l2_message_proof,
    next_rolling_hash,
    verify_l2_message_proof,
)
from linen.protocol.words import InvalidProtocolInput

hashes32 = st.binary(min_size=32, max_size=32)
# Distinct non-zero leaves: a proof only pins its index when no two subtrees it crosses are equal
# (the contract's verifier has the same property), so tampering tests use distinct leaves.
distinct_leaves = st.lists(hashes32.filter(lambda h: h != ZERO_HASH), min_size=1, max_size=80, unique=True)
addresses = st.binary(min_size=20, max_size=20)
uint256 = st.integers(min_value=0, max_value=2**256 - 1)


def _reference_root(leaves: list[bytes], depth: int) -> bytes:
    """Root of a complete tree written recursively, independent of the module's level-by-level build."""
    if depth == 0:
        return leaves[0] if leaves else ZERO_HASH
    half = 1 << (depth - 1)
    return keccak(_reference_root(leaves[:half], depth - 1) + _reference_root(leaves[half:], depth - 1))


# --- message hash ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(addresses, addresses, uint256, uint256, uint256, st.binary(max_size=200))
def test_message_hash_is_keccak_of_standard_abi_encoding(sender, to, fee, value, nonce, calldata):
    encoded = abi_encode(
        ["address", "address", "uint256", "uint256", "uint256", "bytes"], [sender, to, fee, value, nonce, calldata]
    )
    assert compute_message_hash(sender, to, fee, value, nonce, calldata) == keccak(encoded)


def test_message_hash_refuses_bad_fields():
    with pytest.raises(InvalidProtocolInput, match="from"):
        compute_message_hash(b"\x01" * 19, b"\x02" * 20, 0, 0, 1, b"")
    with pytest.raises(InvalidProtocolInput, match="fee"):
        compute_message_hash(b"\x01" * 20, b"\x02" * 20, -1, 0, 1, b"")


# --- rolling hash -------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(hashes32, max_size=30), hashes32)
def test_rolling_hash_is_the_fold_of_single_steps(message_hashes, start):
    rolling = start
    for message_hash in message_hashes:
        rolling = next_rolling_hash(rolling, message_hash)
    assert compute_rolling_hash(message_hashes, start) == rolling
    # appending in two goes equals appending at once
    cut = len(message_hashes) // 2
    middle = compute_rolling_hash(message_hashes[:cut], start)
    assert compute_rolling_hash(message_hashes[cut:], middle) == rolling


def test_rolling_hash_starts_from_zero():
    first = b"\xab" * 32
    assert compute_rolling_hash([]) == ZERO_HASH
    assert compute_rolling_hash([first]) == keccak(bytes(32) + first)


# --- L2→L1 mini-trees -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(hashes32, max_size=100), st.integers(min_value=1, max_value=6))
def test_trees_match_a_recursive_reference(message_hashes, depth):
    width = 1 << depth
    expected = [_reference_root(message_hashes[i : i + width], depth) for i in range(0, len(message_hashes), width)]
    assert build_l2_message_trees(message_hashes, depth) == expected
    assert len(expected) == -(-len(message_hashes) // width)


def test_no_messages_no_roots_and_default_depth():
    assert build_l2_message_trees([]) == []
    assert L2_MESSAGE_TREE_DEPTH == 5
    assert len(build_l2_message_trees([b"\x01" * 32] * 33)) == 2


@settings(max_examples=40, deadline=None)
@given(distinct_leaves, st.integers(min_value=1, max_value=6))
def test_every_leaf_proof_verifies(message_hashes, depth):
    roots = build_l2_message_trees(message_hashes, depth)
    for index, leaf in enumerate(message_hashes):
        root, leaf_index, siblings = l2_message_proof(message_hashes, index, depth)
        assert root == roots[index >> depth]
        assert leaf_index == index % (1 << depth)
        assert len(siblings) == depth
        assert verify_l2_message_proof(leaf, siblings, leaf_index, root)


@settings(max_examples=150, deadline=None)
@given(distinct_leaves, st.data())
def test_tampered_proofs_fail(message_hashes, data):
    depth = L2_MESSAGE_TREE_DEPTH
    index = data.draw(st.integers(min_value=0, max_value=len(message_hashes) - 1), label="index")
    root, leaf_index, siblings = l2_message_proof(message_hashes, index, depth)
    leaf = message_hashes[index]

    height = data.draw(st.integers(min_value=0, max_value=depth - 1), label="height")
    replacement = data.draw(hashes32, label="replacement")
    assume(replacement != siblings[height])
    tampered = list(siblings)
    tampered[height] = replacement
    assert not verify_l2_message_proof(leaf, tampered, leaf_index, root)

    other_index = data.draw(st.integers(min_value=0, max_value=(1 << depth) - 1), label="other_index")
    assume(other_index != leaf_index)
    assert not verify_l2_message_proof(leaf, siblings, other_index, root)

    other_leaf = data.draw(hashes32, label="other_leaf")
    assume(other_leaf != leaf)
    assert not verify_l2_message_proof(other_leaf, siblings, leaf_index, root)


def test_verifier_refuses_what_the_contract_reverts_on():
    message_hashes = [bytes([i + 1]) * 32 for i in range(3)]
    root, leaf_index, siblings = l2_message_proof(message_hashes, 2)
    with pytest.raises(LeafIndexOutOfBounds):
        verify_l2_message_proof(message_hashes[2], siblings, 1 << len(siblings), root)
    with pytest.raises(InvalidProtocolInput):
        verify_l2_message_proof(message_hashes[2], [bytes(32)] * 33, 0, root)
    with pytest.raises(InvalidProtocolInput):
        l2_message_proof(message_hashes, 3)


def test_padding_leaves_are_zero_hashes():
    leaf = b"\x07" * 32
    root, leaf_index, siblings = l2_message_proof([leaf], 0, 2)
    assert leaf_index == 0
    assert siblings == [ZERO_HASH, keccak(ZERO_HASH + ZERO_HASH)]
    assert root == keccak(keccak(leaf + ZERO_HASH) + keccak(ZERO_HASH + ZERO_HASH))


# --- messaging block offsets ------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=2**40),
    st.lists(st.integers(min_value=0, max_value=0xFFFE), unique=True, max_size=40),
)
def test_offsets_round_trip(first_block, positions):
    blocks = [first_block + p for p in sorted(positions)]
    encoded = encode_l2_messaging_blocks_offsets(first_block, blocks)
    assert len(encoded) == 2 * len(blocks)
    assert decode_l2_messaging_blocks_offsets(first_block, encoded) == blocks


def test_offsets_count_from_one():
    # the first block of the aggregation is offset 1: offsets are relative to the last finalized block
    assert encode_l2_messaging_blocks_offsets(100, [100, 102, 355]) == bytes.fromhex("000100030100")
    assert encode_l2_messaging_blocks_offsets(100, []) == b""


def test_offsets_refusals():
    with pytest.raises(InvalidProtocolInput):
        encode_l2_messaging_blocks_offsets(100, [99])
    with pytest.raises(InvalidProtocolInput):
        encode_l2_messaging_blocks_offsets(100, [105, 103])
    with pytest.raises(InvalidProtocolInput):
        encode_l2_messaging_blocks_offsets(100, [100 + 0xFFFF])
    with pytest.raises(InvalidProtocolInput):
        decode_l2_messaging_blocks_offsets(100, b"\x00")
