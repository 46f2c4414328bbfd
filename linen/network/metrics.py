"""Prometheus families of a proof coordinator, read from its state at each scrape.

What an operator of a prover network watches: how many workers are on and how many are suspended,
how many attempts wait for a worker and how many are held, and, since start, proofs by outcome,
leases given and lost, and the seconds workers spent (wasted attempts included, so the work a
fault rate costs shows). The coordinator keeps these in memory, so they restart from zero with it.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from linen.network.coordinator import ProofCoordinator
from linen.observe.metrics import Metrics

PROOF_OUTCOMES = ("accepted", "later", "refused")


class CoordinatorCollector:
    """A prometheus-client collector over `ProofCoordinator.status`."""

    def __init__(self, coordinator: ProofCoordinator) -> None:
        self.coordinator = coordinator

    def collect(self) -> Iterator[Metric]:
        status = self.coordinator.status([{}])
        counts = status["counts"]
        workers = GaugeMetricFamily("linen_prover_network_workers", "Workers that said hello, by state.",
                                    labels=["state"])
        workers.add_metric(["active"], status["workers"] - status["suspended"])
        workers.add_metric(["suspended"], status["suspended"])
        yield workers
        yield GaugeMetricFamily("linen_prover_network_offers", "Job attempts waiting for a worker.",
                                value=status["offers"])
        yield GaugeMetricFamily("linen_prover_network_leases", "Job attempts workers hold now.", value=status["leases"])
        proofs = CounterMetricFamily("linen_prover_network_proofs", "Proofs workers submitted, by outcome "
                                     "(accepted: first valid; later: valid, after the first; refused).",
                                     labels=["outcome"])
        for outcome in PROOF_OUTCOMES:
            proofs.add_metric([outcome], counts[outcome])
        yield proofs
        yield CounterMetricFamily("linen_prover_network_leases_given", "Leases given to workers.",
                                  value=counts["leases"])
        yield CounterMetricFamily("linen_prover_network_leases_expired", "Leases that ran out: no heartbeat in time, or never taken up.",
                                  value=counts["expired"])
        yield CounterMetricFamily("linen_prover_network_leases_dropped", "Leases ended because the worker hung up "
                                  "mid-heartbeat (its process died).", value=counts["dropped"])
        yield CounterMetricFamily("linen_prover_network_suspensions", "Workers suspended for an invalid proof.",
                                  value=counts["suspended"])
        yield CounterMetricFamily("linen_prover_network_work_seconds", "Seconds workers held leases, wasted "
                                  "attempts included.", value=counts["work_s"])


def coordinator_metrics(coordinator: ProofCoordinator) -> Metrics:
    """A `Metrics` whose /metrics carries the coordinator's families."""
    metrics = Metrics()
    metrics.registry.register(CoordinatorCollector(coordinator))  # type: ignore[arg-type]
    return metrics
