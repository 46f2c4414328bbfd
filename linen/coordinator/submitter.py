"""Sending to L1: blobs in type-3 transactions, then finalizeBlocks once an aggregation is proven.

Blob submission (Linea's BlobSubmissionCoordinator): blobs go out in order, from the first one past
L1's finalized block; a blob whose shnarf L1 already knows is marked submitted, never resent; the
first blob to send must belong to a proven aggregation, so nothing reaches L1 that cannot be
finalized; one transaction carries at most `target` blobs and never crosses an aggregation's end.

Finalization (AggregationFinalizationCoordinator): at most one per tick, the proven aggregation that
starts right after L1's finalized block, once its last blob's shnarf is on L1. Afterwards the state
manager is told the finalized block (`rollup_forkChoiceUpdated`).
"""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path

from linen.coordinator.l1_client import RollupClient
from linen.coordinator.store import FINALIZED, PROVEN, SUBMITTED, AggregationRow, BlobRow, CoordinatorStore
from linen.errors import OperationalError
from linen.l1.finalization import FinalizationData, ShnarfData
from linen.protocol.blob.packing import pad_blob
from linen.prover import files
from linen.prover.files import ProofKind
from linen.rpc.client import RpcClient

log = logging.getLogger(__name__)


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def compression_response(root: Path, blob: BlobRow) -> dict:
    name = files.compression_response_name(blob.start, blob.end, blob.expected_shnarf)
    return files.read_json(files.response_path(root, ProofKind.COMPRESSION, name))


class BlobSubmitter:
    def __init__(self, rollup: RollupClient, store: CoordinatorStore, root: Path, target: int, delay_s: float) -> None:
        self.rollup = rollup
        self.store = store
        self.root = root
        self.target = target
        self.delay_s = delay_s

    def tick(self) -> None:
        finalized = self.rollup.current_l2_block_number()
        waiting = [b for b in self.store.blobs() if b.status != SUBMITTED and b.end > finalized]
        # skip everything up to the highest blob L1 already has (a restart after a send)
        for index in range(len(waiting) - 1, -1, -1):
            if self.rollup.shnarf_exists(_b(waiting[index].expected_shnarf)):
                for blob in waiting[: index + 1]:
                    self.store.set_blob_status(blob.start, SUBMITTED)
                waiting = waiting[index + 1:]
                break
        if not waiting:
            return
        first = waiting[0]
        aggregation = next((a for a in self.store.aggregations() if a.start <= first.start <= a.end
                            and a.status in (PROVEN, FINALIZED)), None)
        if aggregation is None:
            return  # nothing goes to L1 before it can be finalized
        chunk = [b for b in waiting if b.end <= aggregation.end][: self.target]
        if chunk[-1].end != aggregation.end and len(chunk) < self.target:
            return  # a trailing partial chunk waits (Linea defers it too)
        if time.time() - chunk[-1].end_timestamp < self.delay_s:
            return
        self._send(chunk)

    def _send(self, chunk: list[BlobRow]) -> None:
        responses = [compression_response(self.root, b) for b in chunk]
        submissions = [
            (int(r["expectedY"], 16), _b(r["commitment"]), _b(r["kzgProofContract"]), _b(r["finalStateRootHash"]),
             _b(r["snarkHash"]))
            for r in responses
        ]
        blobs = [pad_blob(base64.b64decode(r["compressedData"])) for r in responses]
        hashes = [_b(r["dataHash"]) for r in responses]
        tx = self.rollup.submit_blobs(submissions, _b(responses[0]["prevShnarf"]), _b(responses[-1]["expectedShnarf"]),
                                      blobs, hashes)
        for blob in chunk:
            self.store.set_blob_status(blob.start, SUBMITTED, tx)
        log.info("submitted blobs %d-%d (%d blobs) in %s", chunk[0].start, chunk[-1].end, len(chunk), tx)


def proofs_by_type(response: dict) -> dict[int, bytes]:
    """proof type → proof of an aggregation response (`proofs`, or the single aggregated proof)."""
    listed = response.get("proofs") or [{"verifierIndex": response["aggregatedVerifierIndex"],
                                         "proof": response["aggregatedProof"]}]
    return {int(p["verifierIndex"]): _b(p["proof"]) for p in listed}


class Finalizer:
    def __init__(self, rollup: RollupClient, store: CoordinatorStore, root: Path, state_manager: RpcClient,
                 node: RpcClient) -> None:
        self.rollup = rollup
        self.store = store
        self.root = root
        self.state_manager = state_manager
        self.node = node

    def tick(self) -> None:
        finalized = self.rollup.current_l2_block_number()
        for row in self.store.aggregations():
            if row.end <= finalized and row.status != FINALIZED:
                self.store.set_aggregation_status(row.start, FINALIZED)  # L1 says so (e.g. sent before a crash)
        candidate = next((a for a in self.store.aggregations(PROVEN) if a.start == finalized + 1), None)
        if candidate is not None:
            self._finalize(candidate)
        finalized = self.rollup.current_l2_block_number()
        metrics = getattr(self.rollup, "metrics", None)
        if metrics is not None:
            metrics.finalized_block.set(finalized)
        self._tell_state_manager(finalized)

    def _finalize(self, row: AggregationRow) -> None:
        response = files.read_json(files.response_path(self.root, ProofKind.AGGREGATION, row.request_name))
        if not self.rollup.shnarf_exists(_b(response["finalShnarf"])):
            return  # its blobs are not all on L1 yet
        last_blob = next(b for b in self.store.blobs() if b.end == row.end)
        blob = compression_response(self.root, last_blob)
        data = FinalizationData(
            parent_state_root=_b(response["parentStateRootHash"]),
            end_block_number=int(response["finalBlockNumber"]),
            shnarf_data=ShnarfData(_b(blob["prevShnarf"]), _b(blob["snarkHash"]), _b(blob["finalStateRootHash"]),
                                   _b(blob["expectedX"]), _b(blob["expectedY"])),
            last_finalized_timestamp=int(response["parentAggregationLastBlockTimestamp"]),
            final_timestamp=int(response["finalTimestamp"]),
            last_finalized_l1_rolling_hash=_b(response["lastFinalizedL1RollingHash"]),
            l1_rolling_hash=_b(response["l1RollingHash"]),
            last_finalized_l1_rolling_hash_message_number=int(response["lastFinalizedL1RollingHashMessageNumber"]),
            l1_rolling_hash_message_number=int(response["l1RollingHashMessageNumber"]),
            l2_merkle_trees_depth=int(response["l2MerkleTreesDepth"]),
            l2_merkle_roots=tuple(_b(r) for r in response["l2MerkleRoots"]),
            l2_messaging_blocks_offsets=_b(response["l2MessagingBlocksOffsets"]),
        )
        tx = self._send_finalization(response, data)
        self.store.set_aggregation_status(row.start, FINALIZED, tx)
        log.info("finalized blocks %d-%d on L1 in %s", row.start, row.end, tx)

    def _send_finalization(self, response: dict, data: FinalizationData) -> str:
        """finalizeBlocks with the strongest proof, or with exactly the proof types L1 requires."""
        required = self.rollup.required_proof_types()
        if not required:
            return self.rollup.finalize_blocks(_b(response["aggregatedProof"]),
                                               int(response["aggregatedVerifierIndex"]), data)
        proofs = proofs_by_type(response)
        missing = [t for t in required if t not in proofs]
        if missing:
            raise OperationalError(f"aggregation {response.get('finalBlockNumber')}: L1 requires proof types "
                                   f"{required}, the prover made {sorted(proofs)} (missing {missing})")
        if len(required) == 1:
            return self.rollup.finalize_blocks(proofs[required[0]], required[0], data)
        return self.rollup.finalize_blocks_with_proofs({t: proofs[t] for t in required}, data)

    def _tell_state_manager(self, finalized: int) -> None:
        if finalized <= 0:
            return
        block = self.node.call("eth_getBlockByNumber", hex(finalized), False)
        if block is not None:
            self.state_manager.call(
                "rollup_forkChoiceUpdated", {"finalizedBlockNumber": hex(finalized), "finalizedBlockHash": block["hash"]}
            )
