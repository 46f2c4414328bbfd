"""`linea_getProof` proofs out of the tree, and a verifier that trusts nothing but the root.

An inclusion proof opens one leaf with 42 nodes, top to bottom: the root's preimage
(u256(nextFreeNode) || subRoot), the 39 sibling branches as left||right child hashes (hashing one
gives the sibling), the sibling leaf's opening (32 zero bytes if that slot is empty, whose hash is
0), and the leaf's own opening. A non-inclusion proof opens the two leaves that would surround the
key: adjacent in the linked list and with hkeys on either side of the key's hkey. This is the
layout Linea's SparseMerkleProof.sol checks, so the same proofs work on L1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from linen.errors import InvalidInput
from linen.primitives.hexcodec import parse_data, parse_quantity, to_data
from linen.state.encoding import hkey_of, hval_of
from linen.state.hashers import Hasher
from linen.state.model import HEAD_INDEX, MAX_LEAF_INDEX, TAIL_INDEX, TREE_DEPTH, LeafOpening
from linen.state.tree import SparseMerkleTree

PROOF_NODE_COUNT = TREE_DEPTH + 2
ZERO_WORD = bytes(32)



@dataclass(frozen=True)
class LeafProof:
    """The `proof` object: the leaf's unhashed value and the 42 nodes that open it."""

    value: bytes
    proof_related_nodes: tuple[bytes, ...]

    def to_json(self) -> dict:
        return {"value": to_data(self.value), "proofRelatedNodes": [to_data(n) for n in self.proof_related_nodes]}

    @classmethod
    def from_json(cls, obj: object) -> LeafProof:
        if not isinstance(obj, dict) or not isinstance(obj.get("proofRelatedNodes"), list):
            raise InvalidInput("proof: expected an object with value and proofRelatedNodes")
        nodes = tuple(parse_data(n, "proofRelatedNodes[]") for n in obj["proofRelatedNodes"])
        return cls(parse_data(obj.get("value"), "value"), nodes)


@dataclass(frozen=True)
class InclusionProof:
    key: bytes
    leaf_index: int
    proof: LeafProof

    def to_json(self) -> dict:
        return {"key": to_data(self.key), "leafIndex": self.leaf_index, "proof": self.proof.to_json()}


@dataclass(frozen=True)
class NonInclusionProof:
    key: bytes
    left_leaf_index: int
    right_leaf_index: int
    left_proof: LeafProof
    right_proof: LeafProof

    def to_json(self) -> dict:
        return {
            "key": to_data(self.key),
            "leftLeafIndex": self.left_leaf_index,
            "leftProof": self.left_proof.to_json(),
            "rightLeafIndex": self.right_leaf_index,
            "rightProof": self.right_proof.to_json(),
        }


StateProof = InclusionProof | NonInclusionProof


def proof_from_json(obj: object) -> StateProof:
    """Parse either proof shape (leafIndex means inclusion, leftLeafIndex non-inclusion)."""
    if not isinstance(obj, dict):
        raise InvalidInput("a state proof is a JSON object")
    key = parse_data(obj.get("key"), "key")
    if "leafIndex" in obj:
        return InclusionProof(key, parse_quantity(obj["leafIndex"], "leafIndex"), LeafProof.from_json(obj.get("proof")))
    return NonInclusionProof(
        key,
        parse_quantity(obj.get("leftLeafIndex"), "leftLeafIndex"),
        parse_quantity(obj.get("rightLeafIndex"), "rightLeafIndex"),
        LeafProof.from_json(obj.get("leftProof")),
        LeafProof.from_json(obj.get("rightProof")),
    )


# -- building ------------------------------------------------------------------------------------


def leaf_proof(tree: SparseMerkleTree, leaf_index: int, value: bytes) -> LeafProof:
    """Open the leaf at `leaf_index` against the tree's current root."""
    nodes = [tree.next_free_node.to_bytes(32, "big") + tree.sub_root]
    for depth in range(1, TREE_DEPTH):
        sibling = (leaf_index >> (TREE_DEPTH - depth)) ^ 1
        nodes.append(tree.node_hash(depth + 1, 2 * sibling) + tree.node_hash(depth + 1, 2 * sibling + 1))
    sibling_leaf = tree.leaf(leaf_index ^ 1)
    nodes.append(sibling_leaf.encode() if sibling_leaf is not None else ZERO_WORD)
    own = tree.leaf(leaf_index)
    if own is None:
        raise InvalidInput(f"no leaf at index {leaf_index} to prove")
    nodes.append(own.encode())
    return LeafProof(value, tuple(nodes))


def get_proof(tree: SparseMerkleTree, key: bytes, *, hkey: bytes | None = None) -> StateProof:
    """Inclusion proof if `key` is in the tree, else the non-inclusion proof of its neighbours."""
    hkey = tree.hkey(key, hkey)
    center, left, right = tree.find(hkey)
    if center is not None:
        return InclusionProof(key, center.leaf_index, leaf_proof(tree, center.leaf_index, center.value))
    return NonInclusionProof(
        key,
        left.leaf_index,
        right.leaf_index,
        leaf_proof(tree, left.leaf_index, left.value),
        leaf_proof(tree, right.leaf_index, right.value),
    )


# -- verifying -----------------------------------------------------------------------------------


def path_root(hasher: Hasher, leaf_index: int, leaf_hash: bytes, siblings: Sequence[bytes]) -> bytes:
    """The sub-root a leaf hash reaches through 40 sibling hashes (bottom to top, as in traces).

    Also how a trace is replayed: the same siblings with the prior and the new leaf give the sub-roots
    before and after that write.
    """
    if len(siblings) != TREE_DEPTH:
        raise InvalidInput(f"a path has {TREE_DEPTH} siblings, got {len(siblings)}")
    node, index = leaf_hash, leaf_index
    for sibling in siblings:
        node = hasher.hash([sibling, node] if index & 1 else [node, sibling])
        index >>= 1
    return node


def open_leaf(hasher: Hasher, root: bytes, leaf_index: int, proof: LeafProof) -> LeafOpening | None:
    """The leaf opening `proof` commits to at `leaf_index` under `root`, or None if it does not."""
    nodes = proof.proof_related_nodes
    if len(nodes) != PROOF_NODE_COUNT or not 0 <= leaf_index <= MAX_LEAF_INDEX or len(nodes[0]) != 64:
        return None
    try:
        if hasher.hash([nodes[0][:32], nodes[0][32:]]) != root:
            return None
        if leaf_index >= int.from_bytes(nodes[0][:32], "big"):
            return None
        leaf = LeafOpening.decode(nodes[-1])
        sibling_leaf = nodes[TREE_DEPTH]
        siblings = [ZERO_WORD if sibling_leaf == ZERO_WORD else LeafOpening.decode(sibling_leaf).hash(hasher)]
        for encoded in reversed(nodes[1:TREE_DEPTH]):
            if len(encoded) != 64:
                return None
            siblings.append(hasher.hash([encoded[:32], encoded[32:]]))
        sub_root = path_root(hasher, leaf_index, leaf.hash(hasher), siblings)
    except InvalidInput:
        return None
    return leaf if sub_root == nodes[0][32:] else None


def _value_matches(hasher: Hasher, leaf_index: int, leaf: LeafOpening, value: bytes) -> bool:
    """The proof's unhashed value hashes to the leaf's hval (sentinels carry a zero value)."""
    if leaf_index in (HEAD_INDEX, TAIL_INDEX):
        return value == ZERO_WORD and leaf.hval == ZERO_WORD
    try:
        return hval_of(hasher, value) == leaf.hval
    except InvalidInput:
        return False


def verify_inclusion(root: bytes, proof: InclusionProof, hasher: Hasher, *, hkey: bytes | None = None) -> bool:
    """True iff the root commits to `proof.key` holding `proof.proof.value` at `proof.leaf_index`."""
    leaf = open_leaf(hasher, root, proof.leaf_index, proof.proof)
    if leaf is None or proof.leaf_index in (HEAD_INDEX, TAIL_INDEX):
        return False
    try:
        expected_hkey = hkey if hkey is not None else hkey_of(hasher, proof.key)
    except InvalidInput:
        return False
    return leaf.hkey == expected_hkey and _value_matches(hasher, proof.leaf_index, leaf, proof.proof.value)


def verify_non_inclusion(root: bytes, proof: NonInclusionProof, hasher: Hasher, *, hkey: bytes | None = None) -> bool:
    """True iff the root commits to two linked leaves whose hkeys enclose the key's hkey."""
    left = open_leaf(hasher, root, proof.left_leaf_index, proof.left_proof)
    right = open_leaf(hasher, root, proof.right_leaf_index, proof.right_proof)
    if left is None or right is None:
        return False
    try:
        target = int.from_bytes(hkey if hkey is not None else hkey_of(hasher, proof.key), "big")
    except InvalidInput:
        return False
    return (
        left.next == proof.right_leaf_index
        and right.prev == proof.left_leaf_index
        and int.from_bytes(left.hkey, "big") < target < int.from_bytes(right.hkey, "big")
        and _value_matches(hasher, proof.left_leaf_index, left, proof.left_proof.value)
        and _value_matches(hasher, proof.right_leaf_index, right, proof.right_proof.value)
    )


def verify_proof(root: bytes, proof: StateProof, hasher: Hasher) -> bool:
    if isinstance(proof, InclusionProof):
        return verify_inclusion(root, proof, hasher)
    return verify_non_inclusion(root, proof, hasher)
