"""FinalizationDataV3 from Python: the struct finalizeBlocks takes, and the public input it implies.

The coordinator and the tests build the same struct; keeping its field order in one place (and
deriving the public input from it with the protocol function) avoids a silent mismatch between what
is sent and what is proven.
"""

from __future__ import annotations

from dataclasses import dataclass

from linen.primitives.types import Hash32
from linen.protocol.public_input import FinalizationPublicInputFields, compute_public_input
from linen.protocol.shnarf import compute_shnarf

ZERO = bytes(32)


@dataclass(frozen=True)
class ShnarfData:
    """The last blob of the aggregation: the contract recomputes its shnarf from these five words."""

    parent_shnarf: bytes
    snark_hash: bytes
    final_state_root: bytes
    x: bytes
    y: bytes

    @property
    def shnarf(self) -> Hash32:
        return compute_shnarf(self.parent_shnarf, self.snark_hash, self.final_state_root, self.x, self.y)

    def as_abi(self) -> tuple:
        return (self.parent_shnarf, self.snark_hash, self.final_state_root, self.x, self.y)


@dataclass(frozen=True)
class FinalizationData:
    """FinalizationDataV3, field for field."""

    parent_state_root: bytes
    end_block_number: int
    shnarf_data: ShnarfData
    last_finalized_timestamp: int
    final_timestamp: int
    last_finalized_l1_rolling_hash: bytes = ZERO
    l1_rolling_hash: bytes = ZERO
    last_finalized_l1_rolling_hash_message_number: int = 0
    l1_rolling_hash_message_number: int = 0
    l2_merkle_trees_depth: int = 5
    l2_merkle_roots: tuple[bytes, ...] = ()
    l2_messaging_blocks_offsets: bytes = b""

    def as_abi(self) -> tuple:
        return (
            self.parent_state_root,
            self.end_block_number,
            self.shnarf_data.as_abi(),
            self.last_finalized_timestamp,
            self.final_timestamp,
            self.last_finalized_l1_rolling_hash,
            self.l1_rolling_hash,
            self.last_finalized_l1_rolling_hash_message_number,
            self.l1_rolling_hash_message_number,
            self.l2_merkle_trees_depth,
            list(self.l2_merkle_roots),
            self.l2_messaging_blocks_offsets,
        )

    def public_input(self, last_finalized_shnarf: bytes, last_finalized_block: int) -> int:
        """The public input the rollup will hand to the verifier, given its current finalized shnarf and block."""
        return compute_public_input(
            FinalizationPublicInputFields(
                last_finalized_shnarf=Hash32(last_finalized_shnarf),
                final_shnarf=self.shnarf_data.shnarf,
                last_finalized_timestamp=self.last_finalized_timestamp,
                final_timestamp=self.final_timestamp,
                last_finalized_block_number=last_finalized_block,
                end_block_number=self.end_block_number,
                last_finalized_l1_rolling_hash=Hash32(self.last_finalized_l1_rolling_hash),
                l1_rolling_hash=Hash32(self.l1_rolling_hash),
                last_finalized_l1_rolling_hash_message_number=self.last_finalized_l1_rolling_hash_message_number,
                l1_rolling_hash_message_number=self.l1_rolling_hash_message_number,
                l2_merkle_trees_depth=self.l2_merkle_trees_depth,
                l2_merkle_roots=tuple(Hash32(r) for r in self.l2_merkle_roots),
            )
        )
