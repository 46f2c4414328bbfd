"""The coordinator: from sealed L2 blocks to proof requests, and from proofs to L1 (DESIGN.md data flow).

Five actors (`actors()`), each a unit of work that can be redone, each on its own thread so that
a slow L1 in one never holds up another (`tick()` runs them all once, in order, for tests):

1. conflation: fetch new blocks from the node, cut batches and blobs (`conflation.Conflator`);
2. requests: once the state manager has the blocks, write each batch's execution request and each
   blob's compression request (file names per spec §4; existing files are reused), then record the row;
3. proofs: notice responses, feed consecutive proven blobs to the aggregation calculator and write
   aggregation requests;
4. L1: submit blobs (`submitter.BlobSubmitter`) and finalize proven aggregations
   (`submitter.Finalizer`), then tell the state manager which block L1 has finalized;
0. anchoring (when `l2-key` is set, every `anchoring-polling-interval`): carry L1→L2 message hashes
   to the L2 message service (`anchoring.MessageAnchorer`). It comes first because it depends on no
   other step, and an anchoring mined sooner is conflated, proven and finalized sooner.

Restart: conflation resumes after the last blob recorded (batches past it are forgotten and
conflated again; their request names are the same if their boundaries are), aggregation after the
last aggregation recorded. L1 is the judge of what was submitted: a blob whose shnarf L1 knows or an
aggregation at or below `currentL2BlockNumber` is never sent again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from linen.actors import Actor
from linen.coordinator.aggregation import Aggregation, Aggregator, ProvenBlob
from linen.coordinator.anchoring import AnchoringMismatch, MessageAnchorer
from linen.coordinator.blob_request import SNARK_HASHER, build_compression_request
from linen.coordinator.conflation import Batch, Blob, Conflator
from linen.coordinator.execution_request import ExecutionRequestUnavailable, build_execution_request
from linen.coordinator.l1_client import RollupClient
from linen.coordinator.l2_reader import BlockNotReady, fetch_conflation_block, read_parent_state
from linen.coordinator.settings import CoordinatorSettings
from linen.coordinator.store import PROVEN, REQUESTED, STATES, AggregationRow, BlobRow, CoordinatorStore
from linen.coordinator.submitter import BlobSubmitter, Finalizer
from linen.errors import OperationalError
from linen.l1.artifacts import compile_contracts
from linen.observe.metrics import Metrics, set_by_state
from linen.primitives.hexcodec import to_data
from linen.protocol.blob import BlobCompressor, linen_dictionary
from linen.prover import files
from linen.prover.files import ProofKind
from linen.rpc.auth import read_secret
from linen.rpc.client import RpcClient
from linen.state.hashers import get_hasher

log = logging.getLogger(__name__)



@dataclass
class _BlobChain:
    """The previous blob's shnarf and data hash, which the next blob's request continues from."""

    shnarf: bytes
    data_hash: bytes = bytes(32)


@dataclass
class CoordinatorHealth:
    last_tick: float = 0.0
    last_error: str | None = None
    conflated_up_to: int = 0


class Coordinator:
    def __init__(self, settings: CoordinatorSettings, rollup: RollupClient | None = None,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        secret = read_secret(settings.jwt_secret) if settings.jwt_secret is not None else None
        # Both are asked for writes too (trace files, the finalized block): through their authenticated endpoints.
        self.node = (RpcClient(settings.node_auth_rpc, secret=secret) if settings.node_auth_rpc
                     else RpcClient(settings.node_rpc))
        self.state_manager = (RpcClient(settings.state_manager_auth_rpc, secret=secret)
                              if settings.state_manager_auth_rpc else RpcClient(settings.state_manager_rpc))
        self.rollup = rollup or RollupClient(
            settings.l1_rpc, settings.rollup, settings.l1_key, settings.data_dir / "artifacts", settings.l1_confirmations,
            replacement_policy=settings.l1_replacement,
        )
        self.rollup.metrics = self.metrics
        self.store = CoordinatorStore(settings.data_dir / "coordinator.sqlite")
        self.root = settings.prover_root
        files.make_folders(self.root)
        self.health = CoordinatorHealth()
        self._pending_batches: list[Batch] = []
        self._pending_blobs: list[Blob] = []
        self._resume()
        self.submitter = BlobSubmitter(self.rollup, self.store, self.root, settings.target_blobs_per_transaction,
                                       settings.submission_delay_s)
        self.finalizer = Finalizer(self.rollup, self.store, self.root, self.state_manager, self.node)
        self.anchorer = self._anchorer() if settings.l2_key else None
        self.metrics.on_scrape(self._refresh_metrics)

    def _refresh_metrics(self) -> None:
        for gauge, table in ((self.metrics.batches, "batches"), (self.metrics.blobs, "blobs"),
                             (self.metrics.aggregations, "aggregations")):
            set_by_state(gauge, self.store.counts(table), STATES)
        if self.anchorer is not None:
            self.metrics.l1_messages_anchored.set(self.anchorer.health.anchored_up_to)

    def _anchorer(self) -> MessageAnchorer:
        abis = [a.abi for a in compile_contracts(self.settings.data_dir / "artifacts").values()]
        return MessageAnchorer.connect(self.settings.l1_rpc, self.settings.node_rpc, self.settings.rollup,
                                       self.settings.l2_message_service, self.settings.l2_key,
                                       self.settings.anchoring, abis)

    # -- restart ------------------------------------------------------------------------------------
    def _resume(self) -> None:
        last_finalized = self.rollup.current_l2_block_number()
        last_blob = self.store.last_blob()
        if last_blob is not None:
            next_block = last_blob.end + 1
            self._chain = _BlobChain(bytes.fromhex(last_blob.expected_shnarf[2:]), bytes.fromhex(last_blob.data_hash[2:]))
        else:
            next_block = last_finalized + 1
            self._chain = _BlobChain(self.rollup.current_finalized_shnarf())
        self.store.delete_batches_after(next_block - 1)
        compressor = BlobCompressor(linen_dictionary(), get_hasher(SNARK_HASHER), size_limit=self.settings.blob_size_limit)
        self.conflator = Conflator(self.settings.conflation, compressor, next_block)
        aggregations = self.store.aggregations()
        self.aggregator = Aggregator(
            self.settings.aggregation, aggregations[-1].end + 1 if aggregations else last_finalized + 1
        )
        self.health.conflated_up_to = next_block - 1
        log.info("coordinator resumes: conflation from block %d, aggregation from block %d (L1 finalized %d)",
                 next_block, self.aggregator.next_block, last_finalized)

    # -- the actors ---------------------------------------------------------------------------------
    def actors(self) -> list[Actor]:
        """The coordinator's loops, each its own actor, so an L1 wait in one never holds up another:
        anchoring, conflation (with request writing), proofs (responses noticed, aggregation requests
        written), blob submission and finalization (both wait on L1 receipts)."""
        interval = self.settings.polling_interval_s
        actors = [
            Actor("coordinator.conflation", lambda: self._steps(self.conflate, self.write_requests), interval),
            Actor("coordinator.proofs", self.collect_proofs, interval),
            Actor("coordinator.blob-submission", self.submitter.tick, interval),
            Actor("coordinator.finalization", self.finalizer.tick, interval),
        ]
        if self.anchorer is not None:
            actors.insert(0, Actor("coordinator.anchoring", self.anchorer.tick, self.settings.anchoring.polling_interval_s))
        return actors

    def tick(self, now: float | None = None) -> None:
        """Every step once, in order, on the caller's thread (tests, and tools that step the pipeline)."""
        now = time.time() if now is None else now
        steps = (self.anchor, self.conflate, self.write_requests, self.collect_proofs, self.submitter.tick,
                 self.finalizer.tick)
        for step in steps:
            try:
                step()
            except OperationalError as exc:
                self.health.last_error = f"{step.__name__}: {exc}"
                level = logging.ERROR if isinstance(exc, AnchoringMismatch) else logging.WARNING
                log.log(level, "coordinator %s: %s (retrying next tick)", step.__name__, exc)
        self.health.last_tick = now

    @staticmethod
    def _steps(*steps: Callable[[], object]) -> None:
        """Run every step even if one fails, then raise the first failure."""
        failure: Exception | None = None
        for step in steps:
            try:
                step()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        self.store.close()

    # -- 0. anchoring --------------------------------------------------------------------------------
    def anchor(self) -> None:
        now = time.time()
        if self.anchorer is not None and self.anchorer.due(now):
            self.anchorer.tick(now)

    # -- 1. conflation ------------------------------------------------------------------------------
    def conflate(self) -> None:
        head = int(self.node.call("eth_blockNumber"), 16)
        last = min(head, self.conflator.next_block + self.settings.fetch_blocks_limit - 1)
        for number in range(self.conflator.next_block, last + 1):
            try:
                block = fetch_conflation_block(self.node, number)
            except BlockNotReady:
                break
            out = self.conflator.add(block)
            self._pending_batches += out.batches
            self._pending_blobs += out.blobs
        self.health.conflated_up_to = self.conflator.next_block - 1
        latest = self.node.call("eth_getBlockByNumber", "latest", False)
        out = self.conflator.check_time(time.time(), int(latest["number"], 16), int(latest["timestamp"], 16))
        self._pending_batches += out.batches
        self._pending_blobs += out.blobs

    # -- 2. requests --------------------------------------------------------------------------------
    def write_requests(self) -> None:
        state_head = int(self.state_manager.call("rollup_getZkEVMBlockNumber"), 16)
        while self._pending_batches and self._pending_batches[0].end <= state_head:
            self._write_execution_request(self._pending_batches.pop(0))
        while self._pending_blobs and self._pending_blobs[0].end <= state_head:
            blob = self._pending_blobs[0]
            recorded = {row.start for row in self.store.batches()}
            if any(batch.start not in recorded for batch in blob.batches):
                break  # its batches' requests come first
            self._write_compression_request(blob)
            self._pending_blobs.pop(0)

    def _write_execution_request(self, batch: Batch) -> None:
        name = files.execution_request_name(batch.start, batch.end)
        if not files.request_exists(self.root, ProofKind.EXECUTION, name) and not self._response_exists(
            ProofKind.EXECUTION, name
        ):
            try:
                request = build_execution_request(
                    self.node, self.state_manager, batch.start, batch.end, self.settings.traces_dir,
                    l2_message_service=self.settings.l2_message_service,
                )
            except ExecutionRequestUnavailable:
                self._pending_batches.insert(0, batch)
                raise
            files.write_request(self.root, ProofKind.EXECUTION, name, request)
        self.store.add_batch(batch.start, batch.end, batch.trigger.name, name)
        log.info("batch %d-%d (%s): execution request written", batch.start, batch.end, batch.trigger.name)

    def _zk_root(self, number: int) -> bytes:
        answer = self.state_manager.call("linen_getZkStateRoot", hex(number))
        return bytes.fromhex(answer["zkStateRootHash"][2:])

    def _write_compression_request(self, blob: Blob) -> None:
        built = build_compression_request(
            blob, self._zk_root(blob.start - 1), self._zk_root(blob.end), self._chain.shnarf, self._chain.data_hash
        )
        name = files.compression_request_name(blob.start, blob.end, built.expected_shnarf)
        response = files.compression_response_name(blob.start, blob.end, built.expected_shnarf)
        if not files.request_exists(self.root, ProofKind.COMPRESSION, name) and not self._response_exists(
            ProofKind.COMPRESSION, response
        ):
            files.write_request(self.root, ProofKind.COMPRESSION, name, built.body)
        self.store.add_blob(BlobRow(
            blob.start, blob.end, REQUESTED, blob.start_timestamp, blob.end_timestamp,
            tuple((b.start, b.end) for b in blob.batches), to_data(built.expected_shnarf), to_data(built.data_hash), name, None,
        ))
        self._chain = _BlobChain(built.expected_shnarf, built.data_hash)
        log.info("blob %d-%d (%d batches, %d bytes packed): compression request written, shnarf %s",
                 blob.start, blob.end, len(blob.batches), len(blob.sealed.packed), to_data(built.expected_shnarf)[:18])

    def _response_exists(self, kind: ProofKind, response_name: str) -> bool:
        return files.response_path(self.root, kind, response_name).exists()

    # -- 3. proofs and aggregation ------------------------------------------------------------------
    def collect_proofs(self) -> None:
        for batch in self.store.batches(REQUESTED):
            if self._response_exists(ProofKind.EXECUTION, batch.request_name):
                self.store.set_batch_status(batch.start, PROVEN)
        for blob in self.store.blobs(REQUESTED):
            response = files.compression_response_name(blob.start, blob.end, blob.expected_shnarf)
            if self._response_exists(ProofKind.COMPRESSION, response):
                self.store.set_blob_status(blob.start, PROVEN)
        proven_batches = {row.start for row in self.store.batches() if row.status != REQUESTED}
        for blob in self.store.blobs():
            if blob.start < self.aggregator.next_block:
                continue
            if blob.start != self.aggregator.next_block or blob.status == REQUESTED:
                break
            if any(start not in proven_batches for start, _ in blob.batches):
                break
            for aggregation in self.aggregator.add(ProvenBlob(blob.start, blob.end, blob.start_timestamp,
                                                              blob.end_timestamp, len(blob.batches))):
                self._write_aggregation_request(aggregation)
        for aggregation in self.aggregator.check_time(time.time()):
            self._write_aggregation_request(aggregation)
        for row in self.store.aggregations(REQUESTED):
            if self._response_exists(ProofKind.AGGREGATION, row.request_name):
                self.store.set_aggregation_status(row.start, PROVEN)

    def _write_aggregation_request(self, aggregation: Aggregation) -> None:
        blobs = [row for row in self.store.blobs() if aggregation.start <= row.start and row.end <= aggregation.end]
        compression = [files.compression_response_name(b.start, b.end, b.expected_shnarf) for b in blobs]
        execution = [files.execution_request_name(s, e) for b in blobs for s, e in b.batches]
        name = files.aggregation_name(aggregation.start, aggregation.end, compression, execution)
        parent = read_parent_state(self.node, self.settings.l2_message_service, aggregation.start - 1)
        request = {
            "executionProofs": execution,
            "compressionProofs": compression,
            "invalidityProofs": [],
            "parentAggregationLastBlockTimestamp": parent.timestamp,
            "parentAggregationLastL1RollingHashMessageNumber": parent.l1_message_number,
            "parentAggregationLastL1RollingHash": to_data(parent.l1_rolling_hash),
            "parentAggregationLastFtxNumber": 0,
            "parentAggregationLastFtxRollingHash": to_data(bytes(32)),
        }
        if not files.request_exists(self.root, ProofKind.AGGREGATION, name) and not self._response_exists(
            ProofKind.AGGREGATION, name
        ):
            files.write_request(self.root, ProofKind.AGGREGATION, name, request)
        self.store.add_aggregation(AggregationRow(aggregation.start, aggregation.end, REQUESTED,
                                                  aggregation.trigger.value, len(blobs), name, None))
        log.info("aggregation %d-%d (%s, %d blobs): request written", aggregation.start, aggregation.end,
                 aggregation.trigger.value, len(blobs))
