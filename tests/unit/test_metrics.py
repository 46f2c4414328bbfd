"""Metrics: one registry per process, refreshed at scrape time, in Prometheus' text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from linen.errors import InvalidTransaction, TransactionRefused
from linen.observe.metrics import Metrics, set_by_state
from linen.sequencer.rules import refusal_reason


def families(text: bytes) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


def test_two_metrics_objects_do_not_share_values_and_refreshers_run_at_each_scrape():
    a, b = Metrics(), Metrics()
    a.blocks_sealed.inc(3)
    seen = []
    a.on_scrape(lambda: (seen.append(1), a.head_block.set(len(seen))))
    parsed_a, parsed_b = families(a.exposition()), families(b.exposition())
    assert parsed_a["linen_blocks_sealed"].samples[0].value == 3
    assert parsed_b["linen_blocks_sealed"].samples[0].value == 0
    assert parsed_a["linen_head_block"].samples[0].value == 1
    assert families(a.exposition())["linen_head_block"].samples[0].value == 2


def test_a_failing_refresher_does_not_break_the_scrape():
    m = Metrics()

    def broken():
        raise RuntimeError("store closed")

    m.on_scrape(broken)
    m.on_scrape(lambda: m.finalized_block.set(7))
    assert families(m.exposition())["linen_l2_finalized_block"].samples[0].value == 7


def test_states_with_no_rows_are_shown_as_zero():
    m = Metrics()
    set_by_state(m.blobs, {"proven": 2}, ("requested", "proven", "submitted"))
    set_by_state(m.postman_messages, {"SENT": 1}, ("SENT", "CLAIMED_SUCCESS"), "L1_TO_L2")
    parsed = families(m.exposition())
    blobs = {s.labels["state"]: s.value for s in parsed["linen_coordinator_blobs"].samples}
    assert blobs == {"requested": 0, "proven": 2, "submitted": 0}
    postman = {(s.labels["direction"], s.labels["status"]): s.value for s in parsed["linen_postman_messages"].samples}
    assert postman == {("L1_TO_L2", "SENT"): 1, ("L1_TO_L2", "CLAIMED_SUCCESS"): 0}


def test_refusal_reasons_are_short_and_bounded():
    assert refusal_reason(TransactionRefused("TX_NOT_PROVABLE", "has calldata")) == "TX_NOT_PROVABLE"
    assert refusal_reason(InvalidTransaction("nonce too low: next nonce 7, tx nonce 3")) == "nonce too low"
    a = refusal_reason(InvalidTransaction("insufficient funds for gas * price + value: balance 1, cost 2"))
    assert a == "insufficient funds for gas * price + value"
    assert refusal_reason(InvalidTransaction("exceeds block gas limit 30000000")) == "exceeds block gas limit"
    assert refusal_reason(InvalidTransaction("max fee 0x10 below 12 base fee")) == "max fee below base fee"
