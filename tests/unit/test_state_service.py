"""The state manager service: block order, atomic blocks on LMDB (abort and kill -9), and its RPC methods."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from linen.errors import InvalidInput, InvalidParams, LimitExceeded, ResourceNotFound
from linen.state.hashers import get_hasher
from linen.state.proofs import InclusionProof, NonInclusionProof, proof_from_json, verify_proof
from linen.state.tree import empty_root
from linen.state.trielog import CorruptTrieLog, decode_trielog
from linen.state.world import MemoryForest, ZkWorldState
from linen.state_manager import rpc_methods
from linen.state_manager.service import BlockGap, NotFinalized, StateManager

HASHER_NAME = "poseidon2-bn254"
REPO = Path(__file__).resolve().parents[2]

# Deterministic blocks, shared with the child process of the kill test.
GENERATOR = textwrap.dedent(
    """
    from linen.primitives.diffs import AccountDiff
    from linen.state.encoding import EMPTY_KECCAK_CODE_HASH as E
    from linen.state.trielog import build_trielog

    def block(number):
        '''(hash, trielog) of block `number`: account n%3 gets balance n+1 and slot 0 = slot n+1 = n+1.'''
        address = bytes([1 + number % 3]) * 20
        existed = number >= 3
        prior = number - 2 if existed else 0
        storage = {0: (prior, number + 1), number + 1: (0, number + 1)}
        diff = {address: AccountDiff(existed, True, (0, 0), (prior, number + 1), (E, E), storage)}
        block_hash = number.to_bytes(32, "big")
        return block_hash, build_trielog(block_hash, number, diff, {})
    """
)
namespace: dict = {}
exec(GENERATOR, namespace)  # noqa: S102 - test-only generator shared with the child process
block = namespace["block"]


def test_generator_is_consistent():
    # prior slot values must be what the block before that account's previous block wrote
    world = ZkWorldState(get_hasher(HASHER_NAME), MemoryForest())


    for n in range(7):
        world.apply_trielog(decode_trielog(block(n)[1]))


def make_manager(tmp_path: Path, **kwargs) -> StateManager:
    return StateManager(tmp_path / "sm", HASHER_NAME, **kwargs)


def test_strict_order_duplicates_gaps_and_bad_input(tmp_path):
    manager = make_manager(tmp_path)
    assert manager.head is None and manager.zk_root(-1) == empty_root(HASHER_NAME)
    with pytest.raises(BlockGap, match="expects block 0"):
        manager.import_trielog(1, *block(1))
    assert manager.import_trielog(0, *block(0)) is True
    assert manager.import_trielog(0, *block(0)) is False  # duplicate of the last one: ignored
    with pytest.raises(BlockGap, match="expects block 1 next"):
        manager.import_trielog(2, *block(2))
    with pytest.raises(CorruptTrieLog):
        manager.import_trielog(1, block(1)[0], b"\xc3\x01\x02")
    with pytest.raises(CorruptTrieLog, match="names block"):
        manager.import_trielog(1, block(1)[0], block(2)[1])
    with pytest.raises(InvalidParams, match="another hash"):
        manager.import_trielog(0, b"\x09" * 32, block(0)[1].replace(block(0)[0], b"\x09" * 32))
    assert manager.import_trielog(1, *block(1))
    root1 = manager.zk_root(1)
    manager.close()
    reopened = make_manager(tmp_path)  # a restart resumes at the last block
    assert reopened.head == 1 and reopened.zk_root(1) == root1
    assert reopened.import_trielog(2, *block(2))
    with pytest.raises(ResourceNotFound):
        reopened.zk_root(9)
    reopened.close()


def test_aborted_block_leaves_the_last_complete_block(tmp_path, monkeypatch):
    manager = make_manager(tmp_path)
    for n in range(3):
        manager.import_trielog(n, *block(n))
    root = manager.zk_root(2)

    original = manager.world._apply_account

    def crash_after_first_write(plan):
        original(plan)
        raise OSError("simulated crash in the middle of a block")

    monkeypatch.setattr(manager.world, "_apply_account", crash_after_first_write)
    with pytest.raises(OSError):
        manager.import_trielog(3, *block(3))
    monkeypatch.undo()
    assert manager.head == 2 and manager.world.root == root
    manager.close()
    reopened = make_manager(tmp_path)
    assert reopened.head == 2 and reopened.world.root == root
    assert reopened.import_trielog(3, *block(3))
    reopened.close()


CHILD = GENERATOR + textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from linen.state_manager.service import StateManager

    manager = StateManager(Path(sys.argv[1]), "poseidon2-bn254")
    n = 0 if manager.head is None else manager.head + 1
    while True:
        manager.import_trielog(n, *block(n))
        print(n, flush=True)
        n += 1
    """
)


@pytest.mark.slow  # kills a child process
def test_kill_9_in_the_middle_of_blocks(tmp_path):
    data_dir = tmp_path / "sm"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir)], stdout=subprocess.PIPE, cwd=REPO, text=True)
    try:
        for _ in range(4):
            assert child.stdout.readline().strip()
        time.sleep(0.037)  # inside a block (each takes ~0.1 s of hashing)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    manager = StateManager(data_dir, HASHER_NAME)
    head = manager.head
    assert head is not None and head >= 3
    world = ZkWorldState(get_hasher(HASHER_NAME), MemoryForest())


    for n in range(head + 1):
        world.apply_trielog(decode_trielog(block(n)[1]))
    assert manager.world.root == manager.zk_root(head) == world.root
    assert manager.import_trielog(head + 1, *block(head + 1))
    manager.close()


class ListSource:
    def __init__(self) -> None:
        self.calls = []

    def get_trie_logs(self, start, end):
        self.calls.append((start, end))
        return [(n, *block(n)) for n in range(start, min(end, 5) + 1)]

    def block_link(self, number):
        """The node's view of its blocks 0..5: what a pushed trielog is checked against."""
        if number > 5:
            return None
        return block(number)[0], block(number - 1)[0] if number else b"\x00" * 32


def test_pull_fills_gaps_and_finalized_only_mode(tmp_path):
    source = ListSource()
    manager = make_manager(tmp_path, source=source, finalized_only=True, fetch_batch=2)
    assert manager.sync() == 0  # nothing finalized yet
    rpc_methods.fork_choice_updated(manager, [{"finalizedBlockNumber": "0x2", "finalizedBlockHash": "0x" + "00" * 32}])
    assert manager.head == 2
    with pytest.raises(NotFinalized):
        manager.import_trielog(3, *block(3))
    assert rpc_methods.send_raw_trielog(
        manager, [{"blockNumber": "0x4", "blockHash": "0x" + block(4)[0].hex(), "trieLog": "0x" + block(4)[1].hex()}]
    ) == ["deferred"]
    manager.set_finalized(5)
    assert manager.head == 5
    manager.close()
    pushed = StateManager(tmp_path / "other", HASHER_NAME)  # no source: a gap in pushes is an error
    with pytest.raises(BlockGap):
        pushed.receive_trielog(1, *block(1))
    assert pushed.receive_trielog(0, *block(0)) == "imported"
    assert pushed.receive_trielog(1, *block(1)) == "imported"
    pushed.close()


def test_rpc_methods(tmp_path):
    manager = make_manager(tmp_path, max_proof_range=3)
    call = rpc_methods.METHODS
    assert call["rollup_getZkEVMBlockNumber"](manager, []) == "0x0"
    for n in range(4):
        manager.import_trielog(n, *block(n))
    assert call["rollup_getZkEVMBlockNumber"](manager, []) == "0x3"
    result = call["rollup_getZkEVMStateMerkleProofV0"](
        manager, [{"startBlockNumber": "1", "endBlockNumber": "0x3", "zkStateManagerVersion": manager.version}]
    )
    assert result["zkParentStateRootHash"] == "0x" + manager.zk_root(0).hex()
    assert result["zkEndStateRootHash"] == "0x" + manager.zk_root(3).hex()
    assert len(result["zkStateMerkleProof"]) == 3 and all(result["zkStateMerkleProof"])
    first = call["rollup_getZkEVMStateMerkleProofV0"](
        manager, [{"startBlockNumber": 0, "endBlockNumber": 0, "zkStateManagerVersion": "test"}]
    )
    assert first["zkParentStateRootHash"] == "0x" + empty_root(HASHER_NAME).hex()
    assert {t["type"] for t in first["zkStateMerkleProof"][0]} == {2}
    bad = [
        ([{"startBlockNumber": 0, "endBlockNumber": 1, "zkStateManagerVersion": "9.9"}], "UNSUPPORTED_VERSION"),
        ([{"startBlockNumber": 2, "endBlockNumber": 9, "zkStateManagerVersion": "test"}], "exceeds"),
        ([{"startBlockNumber": 3, "endBlockNumber": 4, "zkStateManagerVersion": "test"}], "BLOCK_MISSING_IN_CHAIN"),
        ([{"startBlockNumber": 3, "endBlockNumber": 1, "zkStateManagerVersion": "test"}], "below"),
        ([{"startBlockNumber": "x", "endBlockNumber": 1, "zkStateManagerVersion": "test"}], "startBlockNumber"),
        ([{"startBlockNumber": "0x" + "f" * 80, "endBlockNumber": 1, "zkStateManagerVersion": "test"}], "256 bits"),
        ([], "one object"),
    ]
    for params, message in bad:
        with pytest.raises(InvalidInput, match=message):
            call["rollup_getZkEVMStateMerkleProofV0"](manager, params)
    with pytest.raises(LimitExceeded):
        call["rollup_getZkEVMStateMerkleProofV0"](
            manager, [{"startBlockNumber": 0, "endBlockNumber": 10**6, "zkStateManagerVersion": "test"}]
        )

    hasher = get_hasher(HASHER_NAME)
    root = manager.zk_root(3)
    present = "0x" + (b"\x01" * 20).hex()
    proof = call["linea_getProof"](manager, [present, ["0x0", "0x1", "0x" + "ab" * 32], "latest"])
    account_proof = proof_from_json(proof["accountProof"])
    assert isinstance(account_proof, InclusionProof) and verify_proof(root, account_proof, hasher)
    storage_root = account_proof.proof.value[64:96]
    kinds = [type(proof_from_json(p)) for p in proof["storageProofs"]]
    assert kinds == [InclusionProof, InclusionProof, NonInclusionProof]
    assert all(verify_proof(storage_root, proof_from_json(p), hasher) for p in proof["storageProofs"])
    absent = call["linea_getProof"](manager, ["0x" + "77" * 20, ["0x1"], "0x3"])
    assert absent["storageProofs"] == []
    assert verify_proof(root, proof_from_json(absent["accountProof"]), hasher)
    for params, error in [
        (["0x1234", [], "latest"], InvalidParams),
        ([present, ["0x" + "1" * 65], "latest"], InvalidParams),
        ([present, ["zz"], "latest"], InvalidParams),
        ([present, "0x1", "latest"], InvalidParams),
        ([present, [], "0x1"], ResourceNotFound),
        ([present, []], InvalidParams),
    ]:
        with pytest.raises(error):
            call["linea_getProof"](manager, params)

    assert call["linen_getZkStateRoot"](manager, ["0x2"])["zkStateRootHash"] == "0x" + manager.zk_root(2).hex()
    with pytest.raises(ResourceNotFound):
        call["linen_getZkStateRoot"](manager, ["0x9"])
    with pytest.raises(InvalidParams):
        call["state_sendRawTrieLog"](manager, [{"blockNumber": "0x4", "blockHash": "0x00", "trieLog": "0x"}])
    with pytest.raises(CorruptTrieLog):
        call["state_sendRawTrieLog"](
            manager, [{"blockNumber": "0x4", "blockHash": "0x" + "00" * 32, "trieLog": "0xdeadbeef"}]
        )
    # the manager keeps working after all of that
    bound = rpc_methods.bind(manager)
    assert bound["state_sendRawTrieLog"](
        None, [{"blockNumber": 4, "blockHash": "0x" + block(4)[0].hex(), "trieLog": "0x" + block(4)[1].hex()}]
    ) == ["imported"]
    assert bound["rollup_getZkEVMBlockNumber"](None, []) == "0x4"
    manager.close()


def test_hasher_is_fixed_per_data_dir(tmp_path):
    make_manager(tmp_path).close()
    with pytest.raises(InvalidInput.__base__):
        StateManager(tmp_path / "sm", "mimc-bls12-377")


def test_json_rpc_source_pulls_from_a_node(tmp_path):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from linen.state_manager.service import JsonRpcTrieLogSource

    class Node(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            start, end = (int(p, 16) for p in request["params"])
            result = [
                {"blockNumber": hex(n), "blockHash": "0x" + block(n)[0].hex(), "trieLog": "0x" + block(n)[1].hex()}
                for n in range(start, min(end, 2) + 1)
            ]
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = JsonRpcTrieLogSource(f"http://127.0.0.1:{server.server_address[1]}")
        manager = make_manager(tmp_path, source=source)
        assert manager.sync() == 3 and manager.head == 2
        manager.close()
        unreachable = make_manager(tmp_path / "x", source=JsonRpcTrieLogSource("http://127.0.0.1:9", timeout=1))
        with pytest.raises(Exception, match="cannot fetch trielogs"):
            unreachable.sync()
        assert unreachable.head is None
        unreachable.close()
    finally:
        server.shutdown()


def test_pushes_are_queued_while_the_applying_loop_runs(tmp_path):
    """With `pull_forever` running, a push answers "queued" at once and the worker applies it in order."""
    import asyncio
    import threading

    manager = make_manager(tmp_path)
    applying = threading.Event()
    original = manager.world.apply_trielog

    def slow_apply(trielog):  # hold the apply lock long enough to show the RPC answer does not wait for it
        applying.set()
        time.sleep(0.3)
        return original(trielog)

    manager.world.apply_trielog = slow_apply

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(manager.pull_forever(60.0, stop))
        await asyncio.sleep(0.05)
        assert manager.accept_trielog(0, *block(0)) == "queued"
        await asyncio.to_thread(applying.wait, 5)
        started = time.perf_counter()
        # block 2 before block 1: both queued, neither lost, applied in order by the worker
        assert manager.accept_trielog(2, *block(2)) == "queued"
        assert manager.accept_trielog(1, *block(1)) == "queued"
        assert time.perf_counter() - started < 0.2  # answered while block 0 is still being applied
        with pytest.raises(CorruptTrieLog):
            manager.accept_trielog(3, block(3)[0], b"\x01garbage")
        deadline = time.perf_counter() + 10
        while manager.head != 2 and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(scenario())
    assert manager.head == 2
    manager.close()


def test_a_slow_node_does_not_hold_up_pushed_trielogs(tmp_path):
    """The node answers late while it builds a block; pushed trielogs must not wait behind that fetch."""
    import asyncio

    class SlowSource(ListSource):
        def get_trie_logs(self, start, end):
            self.started = True
            time.sleep(2.0)
            return super().get_trie_logs(start, end)

    source = SlowSource()
    source.started = False
    manager = make_manager(tmp_path, source=source)

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(manager.pull_forever(60.0, stop))
        while not source.started:  # the first fetch is in flight and will take 2 s
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        for number in (0, 1):
            assert manager.accept_trielog(number, *block(number)) == "queued"
        while manager.head != 1 and time.perf_counter() - started < 5:
            await asyncio.sleep(0.01)
        pushed_applied_after = time.perf_counter() - started
        deadline = time.perf_counter() + 10
        while manager.head != 5 and time.perf_counter() < deadline:  # then the fetch brings blocks 2..5
            await asyncio.sleep(0.05)
        stop.set()
        await task
        return pushed_applied_after

    pushed_applied_after = asyncio.run(scenario())
    assert pushed_applied_after < 1.0, f"pushes waited {pushed_applied_after:.2f} s behind the fetch"
    assert manager.head == 5
    reference = ZkWorldState(get_hasher(HASHER_NAME), MemoryForest())
    for n in range(6):
        reference.apply_trielog(decode_trielog(block(n)[1]))
    assert manager.zk_root(5) == reference.root
    manager.close()


def test_a_pushed_trielog_that_does_not_match_the_nodes_block_is_dropped(tmp_path):
    """Hole 3 of issue 13: a forged push for head+1 was applied before the block existed, for good."""
    from linen.state_manager.service import UnverifiedTrieLog

    manager = make_manager(tmp_path, source=ListSource())
    manager.import_trielog(0, *block(0))
    from dataclasses import replace

    from linen.state.trielog import encode_trielog

    forged_hash = b"\x42" * 32  # block 1's changes under a made-up hash
    forged = encode_trielog(replace(decode_trielog(block(1)[1]), block_hash=forged_hash))
    with pytest.raises(UnverifiedTrieLog, match="the node's is"):
        manager.receive_trielog(1, forged_hash, forged)
    assert manager.head == 0
    # a push past the node's head: kept while the gap is pulled (the node's own 1..5), then dropped unapplied
    assert manager.receive_trielog(6, *block(6)) == "deferred"
    assert manager.head == 5 and manager.block_hash(1) == block(1)[0]
    assert manager.block_hash(6) is None
