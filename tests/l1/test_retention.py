"""Retention: a controller removes finished request and response files older than `[prover] retention`
once L1 has finalized their blocks, and keeps everything an unfinalized aggregation may need."""

from __future__ import annotations

import os
import time

from linen.prover import files
from linen.prover.controller import Controller
from linen.prover.files import ProofKind
from linen.prover.retention import finalized_on_l1, sweep
from linen.prover.settings import ControllerSettings
from tests.l1.support import RollupEnv

WEEK = 7 * 24 * 3600.0


def touch(path, age_s: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_finished_files_go_once_finalized_and_old(tmp_path, l1, l1_w3, artifacts, l1_snapshot):
    env = RollupEnv.deploy(l1_w3, artifacts)
    prepared = env.prepare(1)
    env.submit_blobs(prepared)
    read_finalized = finalized_on_l1(l1.url, env.rollup.address)
    assert read_finalized() == 0
    env.send(env.finalize_call(env.finalization_for(prepared[0], 6)))
    assert read_finalized() == 6 == env.rollup.functions.currentL2BlockNumber().call()

    root = tmp_path / "prover"
    ex, agg = files.kind_folders(root, ProofKind.EXECUTION), files.kind_folders(root, ProofKind.AGGREGATION)
    old_done = touch(ex.done / "1-3-getZkProof.json.success", WEEK + 60)
    old_response = touch(ex.responses / "1-3-getZkProof.json", WEEK + 60)
    old_aggregation = touch(agg.responses / "1-6-abc-getZkAggregatedProof.json", WEEK + 60)
    young = touch(ex.responses / "4-6-getZkProof.json", 3600)  # finalized, but younger than the retention
    unfinalized = touch(ex.responses / "7-9-getZkProof.json", WEEK + 60)  # an aggregation may still need it
    pending = touch(ex.requests / "1-2-getZkProof.json", WEEK + 60)  # never proven: never removed
    stranger = touch(ex.responses / "notes.txt", WEEK + 60)

    controller = Controller(ControllerSettings(requests_root=root, local_id="prover-retention",
                                               l1_rpc=l1.url, rollup=env.rollup.address))
    removed = controller.apply_retention()
    assert sorted(removed) == sorted([old_done, old_response, old_aggregation])
    for kept in (young, unfinalized, pending, stranger):
        assert kept.exists(), kept
    assert controller.apply_retention() == []  # at most once a minute
    # with L1 unreachable nothing goes (and nothing raises)
    offline = Controller(ControllerSettings(requests_root=root, local_id="prover-offline",
                                            l1_rpc="http://127.0.0.1:9", rollup=env.rollup.address))
    assert offline.apply_retention() == []
    assert young.exists() and unfinalized.exists()
    # an idle controller's tick is what runs it
    idle_root = tmp_path / "idle"
    expired = touch(files.kind_folders(idle_root, ProofKind.EXECUTION).responses / "2-2-getZkProof.json", WEEK + 1)
    idle = Controller(ControllerSettings(requests_root=idle_root, local_id="prover-idle", l1_rpc=l1.url,
                                         rollup=env.rollup.address))
    assert idle.run_once() is False
    assert not expired.exists()


def test_sweep_keeps_what_is_young_or_unfinalized(tmp_path):
    folders = files.kind_folders(tmp_path, ProofKind.COMPRESSION).make()
    a = touch(folders.responses / "1-10-bcv0.0-ccv0.0-aa-getZkBlobCompressionProof.json", 100)
    b = touch(folders.responses / "11-20-bcv0.0-ccv0.0-bb-getZkBlobCompressionProof.json", 100)
    assert sweep([folders], retention_s=50, finalized_block=10) == [a]
    assert sweep([folders], retention_s=500, finalized_block=20) == []
    assert b.exists()
