"""The proof scheduler with real bb proofs: a K=1 tree on two local worker processes, each proof
checked by `BbProofs.verify` (Linen's verifier), that check refusing forgeries, and a given-up
attempt's bb killed with it."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_a_real_tree_through_the_scheduler_and_what_bb_verify_refuses(tmp_path) -> None:
    from linen.network.executors import LocalExecutor
    from linen.network.jobs import MERGE, SEGMENT, JobStore, payload_job, tree_dag
    from linen.network.proofs import BbProofs
    from linen.network.scheduler import ProofScheduler, Speculation
    from linen.zk import srs
    from linen.zk.proof_tree import segment_project
    from linen.zk.segment_witness import BlockContext, Range, SegmentBuilder, join
    from tests.integration.test_zk_tree import CHAIN_ID, SRS_POINTS, _chain

    srs.ensure_dev_srs(tmp_path / "srs", SRS_POINTS)
    project = segment_project(1, tmp_path / "circuits")
    system = BbProofs(tmp_path, threads=1, segment_project=project)
    keys = system.keys()
    tree, _, _, block1, block2 = _chain()
    coinbase = bytes.fromhex("c0" * 20)
    b1 = BlockContext(1, 1_700_000_000, 7, coinbase, len(block1))
    b2 = BlockContext(2, 1_700_000_002, 7, coinbase, len(block2))
    vk_hashes = system.prover.vk_hashes
    builder = SegmentBuilder(tree, CHAIN_ID, 1)
    s1, in1 = builder.segment(b1, block1[:1], 0, 0, vk_hashes)
    s2, in2 = builder.segment(b1, block1[1:], 1, s1.tx_hash_end, vk_hashes)
    s3, in3 = builder.segment(b2, block2, 0, s2.tx_hash_end, vk_hashes)
    payloads: dict = {}
    leaves = [payload_job(SEGMENT, keys[SEGMENT], s.fields(), i, payloads) for s, i in ((s1, in1), (s2, in2), (s3, in3))]

    def joined(a: tuple, b: tuple) -> tuple:
        return tuple(join(Range.from_fields(list(a)), Range.from_fields(list(b))).fields())

    dag = tree_dag(leaves, payloads, keys[MERGE], 0, joined)
    store = JobStore(tmp_path / "store")
    executor = LocalExecutor(system.spec, workers=2)
    try:
        scheduler = ProofScheduler(store, system, executor, Speculation(factor=0))
        top = scheduler.prove(dag)
    finally:
        executor.close()
    assert Range.from_fields(list(dag.jobs[dag.top].statement)).final_root == s3.final_root
    assert scheduler.stats.refused == 0 and scheduler.stats.attempts == 5

    segment = leaves[0]
    proof = store.proof(segment.id)
    assert system.verify(segment, proof) is None
    flipped = list(proof.words)
    flipped[100] = "0x" + format(int(flipped[100], 16) ^ 1, "064x")
    assert system.verify(segment, dataclasses.replace(proof, words=tuple(flipped))) is not None
    other = leaves[1]
    assert system.verify(other, dataclasses.replace(proof, job=other.id)) is not None  # another statement
    merge = dag.jobs[dag.top]
    assert system.verify(merge, dataclasses.replace(proof, job=merge.id, key=merge.key)) is not None  # another vk
    assert system.verify(merge, top) is None

    # an attempt given up mid-proof takes its bb with it: the worker process is killed, and so is bb
    executor = LocalExecutor(system.spec, workers=1)
    try:
        running = executor.submit(segment, payloads[segment.inputs_hash], [], 9)
        deadline = time.monotonic() + 300
        while not _bb_processes(tmp_path):
            assert time.monotonic() < deadline and not running.done(), "bb never started"
            time.sleep(0.05)
        executor.cancel(running)
        deadline = time.monotonic() + 10
        while _bb_processes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _bb_processes(tmp_path), "bb outlived the attempt it was proving"
    finally:
        executor.close()


def _bb_processes(under: Path) -> list[int]:
    """Running bb processes working in `under` (their -c SRS directory is there); zombies excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state != "Z" and argv and Path(argv[0].decode(errors="replace")).name == "bb" \
                and any(str(under).encode() in a for a in argv):
            found.append(int(entry.name))
    return found
