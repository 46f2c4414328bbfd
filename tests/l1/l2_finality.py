"""Finalizing L2 block ranges on a test rollup as the coordinator does, with the ranges' L2→L1 message roots.

Each finalization is one calldata submission (a dummy 32-byte payload chained onto the previous
shnarf) and an attested finalizeBlocks carrying the mini-tree roots of the message hashes the test
itself recorded, so the code under test never supplies the roots it is checked against.
"""

from __future__ import annotations

from web3 import Web3

from linen.l1.finalization import ShnarfData
from linen.protocol.calldata_submission import compute_calldata_submission
from linen.protocol.messaging import build_l2_message_trees, encode_l2_messaging_blocks_offsets
from tests.l1.support import RollupEnv


class L2Finality:
    def __init__(self, env: RollupEnv) -> None:
        self.env = env
        self.parent_shnarf = env.genesis_shnarf
        self.timestamp = env.genesis_timestamp
        self.count = 0

    @property
    def finalized_block(self) -> int:
        return self.env.rollup.functions.currentL2BlockNumber().call()

    def finalize(self, end_block: int, message_hashes: list[bytes], message_blocks: list[int],
                 roots: list[bytes] | None = None) -> dict:
        """Finalize L2 blocks finalized+1..end_block whose messages (in order) are `message_hashes`."""
        start = self.finalized_block + 1
        self.count += 1
        data = bytes(32)
        snark, state_root = Web3.keccak(text=f"snark {self.count}"), Web3.keccak(text=f"root {self.count}")
        submission = compute_calldata_submission(self.parent_shnarf, snark, state_root, data)
        rollup = self.env.rollup.functions
        self.env.send(rollup.submitDataAsCalldata((state_root, snark, data), self.parent_shnarf, submission.shnarf))
        finalization = self.env.finalization_for(
            None,
            end_block,
            shnarf_data=ShnarfData(self.parent_shnarf, snark, state_root, submission.x, submission.y),
            l2_merkle_roots=tuple(build_l2_message_trees(message_hashes) if roots is None else roots),
            l2_messaging_blocks_offsets=encode_l2_messaging_blocks_offsets(start, sorted(set(message_blocks))),
            last_finalized_timestamp=self.timestamp,
            final_timestamp=self.timestamp + 10,
        )
        receipt = self.env.send(self.env.finalize_call(finalization))
        self.parent_shnarf = submission.shnarf
        self.timestamp += 10
        return receipt
