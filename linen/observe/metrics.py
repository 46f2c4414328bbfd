"""Prometheus metrics of one process: its own registry, families named the way Prometheus asks.

Names follow Prometheus conventions (a `linen_` prefix, base units, `_total` for counters, which
prometheus-client appends) with what ethrex and Linea export as a guide. Counters are incremented
where things happen (a sealed block, a refused transaction, an L1 receipt, a finished proof);
gauges that describe a store (batches by state, postman messages by status) are refreshed when
scraped, by callbacks the services register. One `Metrics` per node: tests run several nodes in
one process, so nothing goes in prometheus-client's global registry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUILD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_PROVE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class Metrics:
    """Every family Linen exports; a service uses the ones that concern it (the rest stay at zero)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._refreshers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        # sequencer
        self.head_block = Gauge("linen_head_block", "Number of the chain's head block.", registry=r)
        self.blocks_sealed = Counter("linen_blocks_sealed", "Blocks sealed by the sequencer.", registry=r)
        self.transactions_included = Counter("linen_transactions_included", "Transactions included in sealed blocks.",
                                             registry=r)
        self.transactions_refused = Counter(
            "linen_transactions_refused", "Transactions refused, by where (submission or selection) and reason.",
            ["stage", "reason"], registry=r)
        self.txpool_transactions = Gauge("linen_txpool_transactions", "Transactions waiting in the pool.", registry=r)
        self.block_build_seconds = Histogram("linen_block_build_seconds", "Time to select, execute and seal a block.",
                                             buckets=_BUILD_BUCKETS, registry=r)
        # state manager
        self.state_manager_block = Gauge("linen_state_manager_block", "Last block the state manager applied.",
                                         registry=r)
        self.state_manager_lag = Gauge("linen_state_manager_lag_blocks", "Blocks the state manager is behind the head.",
                                       registry=r)
        # RPC
        self.rpc_requests = Counter("linen_rpc_requests", "JSON-RPC requests answered, by method and outcome "
                                    "(ok, or the error code).", ["method", "outcome"], registry=r)
        # coordinator
        self.batches = Gauge("linen_coordinator_batches", "Batches the coordinator records, by state.", ["state"],
                             registry=r)
        self.blobs = Gauge("linen_coordinator_blobs", "Blobs the coordinator records, by state.", ["state"], registry=r)
        self.aggregations = Gauge("linen_coordinator_aggregations", "Aggregations the coordinator records, by state.",
                                  ["state"], registry=r)
        self.l1_submissions = Counter("linen_l1_submissions", "Transactions the coordinator had mined on L1, by kind.",
                                      ["kind"], registry=r)
        self.l1_gas = Counter("linen_l1_gas_used", "Gas used on L1 by the coordinator's transactions, by kind.",
                              ["kind"], registry=r)
        self.finalized_block = Gauge("linen_l2_finalized_block", "Last L2 block finalized on L1.", registry=r)
        self.l1_messages_anchored = Gauge("linen_l1_messages_anchored",
                                          "Number of the last L1→L2 message anchored on L2.", registry=r)
        # prover
        self.proof_requests = Counter("linen_proof_requests", "Proof requests processed, by kind and outcome.",
                                      ["kind", "outcome"], registry=r)
        self.prove_seconds = Histogram("linen_prove_seconds", "Time to prove one request, by kind.", ["kind"],
                                       buckets=_PROVE_BUCKETS, registry=r)
        # postman
        self.postman_messages = Gauge("linen_postman_messages", "Bridge messages the postman tracks, by direction "
                                      "and status.", ["direction", "status"], registry=r)

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        """`refresh()` runs before each scrape (it sets gauges from a store); a failure is logged, not raised."""
        with self._lock:
            self._refreshers.append(refresh)

    def exposition(self) -> bytes:
        """The text format (call it off the event loop: refreshers may read SQLite)."""
        with self._lock:
            refreshers = list(self._refreshers)
        for refresh in refreshers:
            try:
                refresh()
            except Exception as exc:  # a closed store during shutdown, an L1 hiccup: keep the scrape
                log.debug("metrics refresh %s failed: %s", getattr(refresh, "__qualname__", refresh), exc)
        return generate_latest(self.registry)


def set_by_state(gauge: Gauge, counts: dict[str, int], states: tuple[str, ...], *labels: str) -> None:
    """Every state's gauge (after `labels`, the state is the last label), zero for the ones with no rows,
    so a family always shows every state."""
    for state in states:
        gauge.labels(*labels, state).set(counts.get(state, 0))
