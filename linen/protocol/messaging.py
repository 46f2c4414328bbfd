"""Cross-chain messages: their hash, the L1→L2 rolling hash, and the L2→L1 mini-trees.

A message is identified everywhere by one hash, so the L1 and L2 message services, the coordinator,
the provers and the postman must compute it identically. L1→L2 messages are chained into a rolling
hash that L2 rebuilds when it anchors them, and finalization proves both sides agree. L2→L1 messages
are packed into fixed-depth keccak Merkle trees whose roots finalization stores on L1; a user claims
one with a proof of its leaf, and finalization also names the L2 blocks that sent messages (as u16
offsets) so the postman knows where to look.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eth_hash.auto import keccak

from linen.primitives.types import Address, Hash32
from linen.protocol.words import InvalidProtocolInput, address_word, bytes32, padded_bytes_tail, u256

# The event both message services emit for every message sent (L1 → L2 and L2 → L1).
MESSAGE_SENT_SIGNATURE = "MessageSent(address,address,uint256,uint256,uint256,bytes,bytes32)"
MESSAGE_SENT_TOPIC = keccak(MESSAGE_SENT_SIGNATURE.encode())

# Depth of every L2→L1 message tree since Linea's first release: 32 messages per root.
L2_MESSAGE_TREE_DEPTH = 5

ZERO_HASH = Hash32(bytes(32))

# Head offset of the `bytes` argument in abi.encode(address, address, uint256, uint256, uint256, bytes).
_MESSAGE_CALLDATA_OFFSET = 6 * 32

_MAX_BLOCK_OFFSET = 0xFFFF


class LeafIndexOutOfBounds(InvalidProtocolInput):
    """The leaf index does not fit a tree as deep as the proof is long (the contract reverts)."""


def compute_message_hash(sender: Address, to: Address, fee: int, value: int, nonce: int, calldata: bytes) -> Hash32:
    """keccak(abi.encode(from, to, fee, value, nonce, calldata)) in standard ABI layout.

    Five head words, the offset 0xc0 of the calldata, then its length and its bytes padded with zeros
    to a whole word. `fee` is what the event carries (on L2, the fee above the minimum fee).
    """
    encoded = (
        address_word(sender, "from")
        + address_word(to, "to")
        + u256(fee, "fee")
        + u256(value, "value")
        + u256(nonce, "nonce")
        + u256(_MESSAGE_CALLDATA_OFFSET)
        + padded_bytes_tail(bytes(calldata))
    )
    return Hash32(keccak(encoded))


def next_rolling_hash(previous: bytes, message_hash: bytes) -> Hash32:
    """rollingHashes[n] = keccak(rollingHashes[n-1] || messageHash), with rollingHashes[0] = 0³²."""
    return Hash32(keccak(bytes32(previous, "previous rolling hash") + bytes32(message_hash, "message_hash")))


def compute_rolling_hash(message_hashes: Iterable[bytes], start: bytes = ZERO_HASH) -> Hash32:
    """The rolling hash after appending `message_hashes` in order to the chain ending at `start`."""
    rolling = bytes32(start, "start")
    for message_hash in message_hashes:
        rolling = next_rolling_hash(rolling, message_hash)
    return Hash32(rolling)


def _check_depth(depth: int) -> None:
    # The contract casts 2**len(proof) - 1 to uint32, so no valid proof is longer than 32.
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 32:
        raise InvalidProtocolInput(f"depth: expected an integer in [1, 32], got {depth!r}")


def _hash_pair(left: bytes, right: bytes) -> bytes:
    return keccak(left + right)


def _tree_levels(leaves: Sequence[bytes], depth: int) -> list[list[bytes]]:
    """All levels of one complete tree, leaves first; missing leaves are 0³²."""
    width = 1 << depth
    if len(leaves) > width:
        raise InvalidProtocolInput(f"{len(leaves)} leaves do not fit a tree of depth {depth}")
    level = [bytes32(leaf, "message hash") for leaf in leaves] + [ZERO_HASH] * (width - len(leaves))
    levels = [level]
    while len(level) > 1:
        level = [_hash_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def _groups(message_hashes: Sequence[bytes], depth: int) -> list[Sequence[bytes]]:
    width = 1 << depth
    return [message_hashes[i : i + width] for i in range(0, len(message_hashes), width)]


def build_l2_message_trees(message_hashes: Sequence[bytes], depth: int = L2_MESSAGE_TREE_DEPTH) -> list[Hash32]:
    """Roots of the trees holding an aggregation's L2→L1 message hashes, in order.

    Hashes are cut into groups of 2**depth in block and log order; the last group is padded with
    zero leaves; each group is a complete keccak tree. No messages means no roots.
    """
    _check_depth(depth)
    return [Hash32(_tree_levels(group, depth)[-1][0]) for group in _groups(message_hashes, depth)]


def l2_message_proof(
    message_hashes: Sequence[bytes], index: int, depth: int = L2_MESSAGE_TREE_DEPTH
) -> tuple[Hash32, int, list[Hash32]]:
    """Proof for the message at `index` (0-based over the whole aggregation).

    Returns (root of its tree, its leaf index within that tree, siblings from the leaf upward) —
    the `merkleRoot`, `leafIndex` and `proof` of claimMessageWithProof.
    """
    _check_depth(depth)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(message_hashes):
        raise InvalidProtocolInput(f"index {index!r} is not a message of this aggregation ({len(message_hashes)})")
    width = 1 << depth
    group = message_hashes[index - index % width : index - index % width + width]
    levels = _tree_levels(group, depth)
    leaf_index = index % width
    siblings = [Hash32(levels[height][(leaf_index >> height) ^ 1]) for height in range(depth)]
    return Hash32(levels[-1][0]), leaf_index, siblings


def verify_l2_message_proof(leaf: bytes, siblings: Sequence[bytes], leaf_index: int, root: bytes) -> bool:
    """True iff `leaf` at `leaf_index` with `siblings` hashes up to `root`, as the L1 verifier decides.

    Bit h of the leaf index says whether the node at height h is a right child. Like the contract,
    an index beyond 2**len(siblings) - 1 (or a proof too long for a uint32 index) is refused rather
    than answered false; the contract also requires len(siblings) to equal the root's stored depth,
    which is the caller's check.
    """
    max_index = (1 << len(siblings)) - 1
    if max_index > 0xFFFF_FFFF:
        raise InvalidProtocolInput(f"a proof of {len(siblings)} siblings is longer than a uint32 index allows")
    if isinstance(leaf_index, bool) or not isinstance(leaf_index, int) or leaf_index < 0:
        raise InvalidProtocolInput(f"leaf_index: expected a non-negative integer, got {leaf_index!r}")
    if leaf_index > max_index:
        raise LeafIndexOutOfBounds(f"leaf index {leaf_index} exceeds {max_index} for a proof of {len(siblings)}")
    node = bytes32(leaf, "leaf")
    for height, sibling in enumerate(siblings):
        sibling = bytes32(sibling, f"siblings[{height}]")
        node = _hash_pair(sibling, node) if (leaf_index >> height) & 1 else _hash_pair(node, sibling)
    return node == bytes32(root, "root")


def encode_l2_messaging_blocks_offsets(first_block_number: int, blocks_with_messages: Iterable[int]) -> bytes:
    """`l2MessagingBlocksOffsets` of a finalization: one big-endian u16 per L2 block that sent messages.

    The offset of block b is b - first_block_number + 1, i.e. relative to the last block finalized
    before this aggregation (the contract emits L2MessagingBlockAnchored(lastFinalized + offset)).
    Blocks must be strictly increasing and inside the aggregation; the prover lists them in block
    order, and an offset must fit 16 bits.
    """
    out = bytearray()
    previous = first_block_number - 1
    for block in blocks_with_messages:
        if block <= previous:
            raise InvalidProtocolInput(
                f"block {block}: blocks with messages must be increasing and not before {first_block_number}"
            )
        offset = block - first_block_number + 1
        if offset > _MAX_BLOCK_OFFSET:
            raise InvalidProtocolInput(f"block {block} is {offset} blocks past the last finalized one (max 65535)")
        out += offset.to_bytes(2, "big")
        previous = block
    return bytes(out)


def decode_l2_messaging_blocks_offsets(first_block_number: int, offsets: bytes) -> list[int]:
    """The L2 block numbers the contract anchors for these offsets (it refuses an odd length)."""
    if len(offsets) % 2:
        raise InvalidProtocolInput(f"l2MessagingBlocksOffsets has odd length {len(offsets)}")
    base = first_block_number - 1
    return [base + int.from_bytes(offsets[i : i + 2], "big") for i in range(0, len(offsets), 2)]
