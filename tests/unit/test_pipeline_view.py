"""The pipeline's picture (`linen_pipelineStatus`, the dashboard, `linen status`) from a real
coordinator store: each stage's latest row and counts, a followed block's steps, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from rich.console import Console

from linen.coordinator.store import FINALIZED, PROVEN, SUBMITTED, AggregationRow, BlobRow, CoordinatorStore
from linen.errors import InvalidParams
from linen.observe.status import TIMELINE_SECONDS, PipelineView, pipeline_status_handler
from linen.observe.terminal import render


@dataclass
class Header:
    block_number: int
    timestamp: int


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    s = CoordinatorStore(tmp_path / "coordinator.sqlite")
    yield s
    s.close()


def view_with(store, clock, head=12):
    view = PipelineView(lambda: Header(head, int(clock.now) - 2),
                        lambda: {"status": "ok", "actors": {"coordinator.conflation": {
                            "status": "ok", "lastSuccess": clock.now - 1, "busySeconds": None, "lastError": None}}},
                        clock)
    view.attach(coordinator=SimpleNamespace(store=store), endpoints={"l2ChainId": 59139})
    return view


def blob(start, end, status=PROVEN, tx=None):
    return BlobRow(start, end, status, 0, 0, ((start, end),), "0x" + "11" * 32, "0x" + "22" * 32, f"c-{start}", tx)


def test_a_block_is_followed_from_sealed_to_finalized_on_l1(store):
    clock = Clock()
    view = view_with(store, clock)
    assert view.snapshot(5)["tracked"] == {"block": 5, "stage": "sealed", "steps": [{"step": "sealed", "range": [5, 5]}]}
    assert view.snapshot(13)["tracked"]["stage"] == "not sealed yet"
    store.add_batch(1, 6, "TIME_LIMIT", "1-6-getZkProof.json")
    assert view.snapshot(5)["tracked"]["stage"] == "in a batch"
    store.set_batch_status(1, PROVEN)
    store.add_blob(blob(1, 6))
    assert view.snapshot(5)["tracked"]["stage"] == "in a blob"
    store.set_blob_status(1, SUBMITTED, "0x" + "ab" * 32)
    store.add_aggregation(AggregationRow(1, 6, PROVEN, "TIME_LIMIT", 1, "agg-1-6", None))
    clock.now += 10
    tracked = view.snapshot(5)["tracked"]
    assert tracked["stage"] == "aggregation proven"
    assert [s["step"] for s in tracked["steps"]] == ["sealed", "in a batch", "execution proven", "in a blob",
                                                     "blob on L1", "in an aggregation", "aggregation proven"]
    store.set_aggregation_status(1, FINALIZED, "0x" + "cd" * 32)
    clock.now += 5
    picture = view.snapshot(5)
    assert picture["tracked"]["stage"] == "finalized on L1"
    assert picture["tracked"]["steps"][-1]["tx"] == "0x" + "cd" * 32
    assert picture["finalized"] == {"block": 6, "tx": "0x" + "cd" * 32, "age": 0.0}
    assert picture["aggregations"]["counts"] == {"finalized": 1}
    # a row's age counts from the picture that first saw its state (the one taken after the +10 s)
    assert picture["blobs"]["recent"][0] == {"range": [1, 6], "status": "submitted", "tx": "0x" + "ab" * 32,
                                             "age": 5.0}
    # every change of state is on the timeline, in the order it was seen
    events = [(e["kind"], e["status"]) for e in picture["timeline"]["events"]]
    assert events == [("batches", "requested"), ("batches", "proven"), ("blobs", "proven"),
                      ("blobs", "submitted"), ("aggregations", "proven"), ("aggregations", "finalized")]
    # and it forgets what is older than an hour
    clock.now += TIMELINE_SECONDS + 1
    assert view.snapshot()["timeline"]["events"] == []


def test_sealed_blocks_are_on_the_timeline(store):
    clock = Clock()
    view = view_with(store, clock)
    for number in (1, 2, 3):
        view.on_block(SimpleNamespace(header=SimpleNamespace(block_number=number), transactions=[b""] * number))
        clock.now += 1
    assert [b[1:] for b in view.snapshot()["timeline"]["blocks"]] == [[1, 1], [2, 2], [3, 3]]


def test_the_rpc_method_checks_its_parameter(store):
    handler = pipeline_status_handler(view_with(store, Clock()))
    assert handler(None, [])["head"]["number"] == 12
    assert handler(None, ["0x5"])["tracked"]["block"] == 5
    assert handler(None, [5])["tracked"]["block"] == 5
    for bad in (["five"], ["0x5", 1], [-1], [True], [{"block": 1}]):
        with pytest.raises(InvalidParams):
            handler(None, bad)


def test_linen_status_draws_the_picture(store):
    clock = Clock()
    view = view_with(store, clock)
    store.add_batch(1, 6, "TIME_LIMIT", "1-6-getZkProof.json")
    console = Console(record=True, width=120)
    console.print(render(view.snapshot(3)))
    text = console.export_text()
    assert "pipeline ok" in text and "L2 chain 59139" in text
    assert "#12" in text and "1–6" in text and "requested" in text
    assert "block 3: in a batch" in text
    assert "coordinator.conflation" in text
