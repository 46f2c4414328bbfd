"""Per-operation witnesses in the shape of Shomei's `rollup_getZkEVMStateMerkleProofV0` traces.

The prover replays each tree operation from these: the sub-roots before and after, the sibling path
of every leaf touched (taken at the moment it was written, so the paths chain), and the leaf
openings as they were before the change. `location` is empty for the account tree and the account
address for a storage tree; the world-state layer sets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from linen.primitives.hexcodec import to_data
from linen.state.model import LeafOpening, TraceProof

READ_TRACE = 0
READ_ZERO_TRACE = 1
INSERTION_TRACE = 2
UPDATE_TRACE = 3
DELETION_TRACE = 4



@dataclass(frozen=True)
class ReadTrace:
    next_free_node: int
    sub_root: bytes
    leaf: LeafOpening
    proof: TraceProof
    key: bytes
    value: bytes
    location: bytes = b""
    type: int = READ_TRACE

    def to_json(self) -> dict:
        return {
            "location": to_data(self.location),
            "type": self.type,
            "nextFreeNode": self.next_free_node,
            "subRoot": to_data(self.sub_root),
            "leaf": self.leaf.to_json(),
            "proof": self.proof.to_json(),
            "key": to_data(self.key),
            "value": to_data(self.value),
        }


@dataclass(frozen=True)
class ReadZeroTrace:
    next_free_node: int
    sub_root: bytes
    left_leaf: LeafOpening
    right_leaf: LeafOpening
    left_proof: TraceProof
    right_proof: TraceProof
    key: bytes
    location: bytes = b""
    type: int = READ_ZERO_TRACE

    def to_json(self) -> dict:
        return {
            "location": to_data(self.location),
            "type": self.type,
            "nextFreeNode": self.next_free_node,
            "subRoot": to_data(self.sub_root),
            "leftLeaf": self.left_leaf.to_json(),
            "rightLeaf": self.right_leaf.to_json(),
            "leftProof": self.left_proof.to_json(),
            "rightProof": self.right_proof.to_json(),
            "key": to_data(self.key),
        }


@dataclass(frozen=True)
class InsertionTrace:
    new_next_free_node: int
    old_sub_root: bytes
    new_sub_root: bytes
    left_proof: TraceProof
    new_proof: TraceProof
    right_proof: TraceProof
    key: bytes
    value: bytes
    prior_left_leaf: LeafOpening
    prior_right_leaf: LeafOpening
    location: bytes = b""
    type: int = INSERTION_TRACE

    def to_json(self) -> dict:
        return {
            "location": to_data(self.location),
            "type": self.type,
            "newNextFreeNode": self.new_next_free_node,
            "oldSubRoot": to_data(self.old_sub_root),
            "newSubRoot": to_data(self.new_sub_root),
            "leftProof": self.left_proof.to_json(),
            "newProof": self.new_proof.to_json(),
            "rightProof": self.right_proof.to_json(),
            "key": to_data(self.key),
            "value": to_data(self.value),
            "priorLeftLeaf": self.prior_left_leaf.to_json(),
            "priorRightLeaf": self.prior_right_leaf.to_json(),
        }


@dataclass(frozen=True)
class UpdateTrace:
    new_next_free_node: int
    old_sub_root: bytes
    new_sub_root: bytes
    proof: TraceProof
    key: bytes
    old_value: bytes
    new_value: bytes
    prior_updated_leaf: LeafOpening
    location: bytes = b""
    type: int = UPDATE_TRACE

    def to_json(self) -> dict:
        return {
            "location": to_data(self.location),
            "type": self.type,
            "newNextFreeNode": self.new_next_free_node,
            "oldSubRoot": to_data(self.old_sub_root),
            "newSubRoot": to_data(self.new_sub_root),
            "proof": self.proof.to_json(),
            "key": to_data(self.key),
            "oldValue": to_data(self.old_value),
            "newValue": to_data(self.new_value),
            "priorUpdatedLeaf": self.prior_updated_leaf.to_json(),
        }


@dataclass(frozen=True)
class DeletionTrace:
    new_next_free_node: int
    old_sub_root: bytes
    new_sub_root: bytes
    left_proof: TraceProof
    deleted_proof: TraceProof
    right_proof: TraceProof
    key: bytes
    deleted_value: bytes
    prior_left_leaf: LeafOpening
    prior_deleted_leaf: LeafOpening
    prior_right_leaf: LeafOpening
    location: bytes = b""
    type: int = DELETION_TRACE

    def to_json(self) -> dict:
        return {
            "location": to_data(self.location),
            "type": self.type,
            "newNextFreeNode": self.new_next_free_node,
            "oldSubRoot": to_data(self.old_sub_root),
            "newSubRoot": to_data(self.new_sub_root),
            "leftProof": self.left_proof.to_json(),
            "deletedProof": self.deleted_proof.to_json(),
            "rightProof": self.right_proof.to_json(),
            "key": to_data(self.key),
            "deletedValue": to_data(self.deleted_value),
            "priorLeftLeaf": self.prior_left_leaf.to_json(),
            "priorDeletedLeaf": self.prior_deleted_leaf.to_json(),
            "priorRightLeaf": self.prior_right_leaf.to_json(),
        }


Trace = ReadTrace | ReadZeroTrace | InsertionTrace | UpdateTrace | DeletionTrace
