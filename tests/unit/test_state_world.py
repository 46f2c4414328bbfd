"""Trielogs (round trip, corrupt input) and the zk world state against a plain-dict model.

The world-state properties hash for real (Poseidon2, pure Python, ~30 inserts/s), so blocks are
small and example counts low; the trielog properties hash nothing and run many examples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linen.primitives.diffs import AccountDiff
from linen.state.encoding import EMPTY_KECCAK_CODE_HASH
from linen.state.hashers import get_hasher
from linen.state.lmdb_store import LmdbStateStore
from linen.state.proofs import InclusionProof, NonInclusionProof, verify_proof
from linen.state.traces import DELETION_TRACE, INSERTION_TRACE, READ_TRACE, READ_ZERO_TRACE, UPDATE_TRACE
from linen.state.tree import empty_root
from linen.state.trielog import (
    AccountChange,
    CodeChange,
    CorruptTrieLog,
    SlotChange,
    TrieLog,
    TrieLogAccount,
    TrieLogEntry,
    build_trielog,
    decode_trielog,
    encode_trielog,
    genesis_trielog,
)
from linen.state.world import MemoryForest, TrieLogMismatch, ZkWorldState

HASHER = get_hasher("poseidon2-bn254")
CODES = [b"", b"\x60\x01\x60\x00\x55", b"\x00" * 40]
CODE_BY_HASH = {keccak(c): c for c in CODES}
ADDRESSES = [bytes([i]) * 20 for i in (1, 2, 3, 4)]
SLOTS = [0, 1, 2**255 + 7]

# -- trielog codec -------------------------------------------------------------------------------

words = st.binary(min_size=32, max_size=32)
tl_accounts = st.none() | st.builds(
    TrieLogAccount, st.integers(0, 2**64 - 1), st.integers(0, 2**256 - 1), words, st.none() | words
)
slot_changes = st.builds(
    SlotChange, words, st.none() | st.integers(1, 2**256 - 1), st.none() | st.integers(1, 2**256 - 1), st.booleans()
)


@st.composite
def trielogs(draw):
    entries = []
    for address in sorted(draw(st.sets(st.binary(min_size=20, max_size=20), max_size=4))):
        code = draw(st.none() | st.builds(CodeChange, st.binary(max_size=40), st.binary(max_size=40), st.booleans()))
        account = draw(st.none() | st.builds(AccountChange, tl_accounts, tl_accounts, st.booleans()))
        if code is not None and account is not None and account.updated is not None:
            updated = TrieLogAccount(account.updated.nonce, account.updated.balance, keccak(code.new))
            account = AccountChange(account.prior, updated, account.cleared)
        slots = draw(st.lists(slot_changes, max_size=3, unique_by=lambda s: s.slot))
        entries.append(TrieLogEntry(address, code, account, tuple(sorted(slots, key=lambda s: keccak(s.slot)))))
    return TrieLog(draw(words), draw(st.integers(0, 2**63 - 1)), tuple(entries))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(trielogs())
def test_trielog_round_trip(trielog):
    assert decode_trielog(encode_trielog(trielog)) == trielog


@settings(max_examples=300, deadline=None, derandomize=True)
@given(trielogs(), st.data())
def test_corrupt_trielog_is_refused_cleanly(trielog, data):
    raw = bytearray(encode_trielog(trielog))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[at] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del raw[at:]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        decode_trielog(bytes(raw))
    except CorruptTrieLog as exc:
        assert str(exc).startswith("trielog")


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x80", b"\xc0", b"\xc1\x80", b"\xff" * 10, b"\xc1" * 5000 + b"\x80", bytes(200)],
)
def test_garbage_trielogs(raw):
    with pytest.raises(CorruptTrieLog):
        decode_trielog(raw)


def test_unsorted_entries_and_bad_slot_hash_are_refused():
    entry = TrieLogEntry(ADDRESSES[1], None, None, ())
    good = encode_trielog(TrieLog(bytes(32), 1, (entry,)))
    import rlp

    items = rlp.decode(good)
    items.append([ADDRESSES[0], b"", b"", b""])  # out of order
    with pytest.raises(CorruptTrieLog, match="sorted"):
        decode_trielog(rlp.encode(items))
    bad_slot = [[ADDRESSES[0], b"", b"", [[bytes(32), b"\x01", b"\x02", b"", b"\x05"]]]]
    with pytest.raises(CorruptTrieLog, match="keccak"):
        decode_trielog(rlp.encode([bytes(32), b"\x01", *bad_slot]))


# -- world state against a model ------------------------------------------------------------------


@st.composite
def block_changes(draw, model):
    """A block's StateDiff drawn against the model, and the model after it."""
    diff = {}
    after = {a: {**v, "storage": dict(v["storage"])} for a, v in model.items()}
    for address in draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=2, unique=True)):
        old = model.get(address)
        exists_after = draw(st.booleans()) if old is not None else draw(st.sampled_from([True, True, False]))
        wiped = old is not None and exists_after and draw(st.integers(0, 4)) == 0
        prior = old or {"nonce": 0, "balance": 0, "code": b"", "storage": {}}
        if not exists_after:
            after.pop(address, None)
            new = {"nonce": 0, "balance": 0, "code": b"", "storage": {}}
            storage = {}
        else:
            read_only = old is not None and draw(st.booleans())
            new = {
                "nonce": prior["nonce"] if read_only else draw(st.integers(0, 3)),
                "balance": prior["balance"] if read_only else draw(st.integers(0, 10**20)),
                "code": prior["code"] if (old is not None and not wiped) else draw(st.sampled_from(CODES)),
                "storage": {} if wiped else dict(prior["storage"]),
            }
            storage = {}
            for slot in draw(st.lists(st.sampled_from(SLOTS), max_size=2, unique=True)):
                value = prior["storage"].get(slot, 0) if read_only else draw(st.integers(0, 3))
                storage[slot] = (prior["storage"].get(slot, 0), value)
                if value:
                    new["storage"][slot] = value
                else:
                    new["storage"].pop(slot, None)
            after[address] = new
        diff[address] = AccountDiff(
            old is not None,
            exists_after,
            (prior["nonce"], new["nonce"]),
            (prior["balance"], new["balance"]),
            (keccak(prior["code"]), keccak(new["code"]) if exists_after else EMPTY_KECCAK_CODE_HASH),
            storage,
            wiped,
        )
    return diff, after


def check_world_equals_model(world: ZkWorldState, model: dict) -> None:
    root = world.root
    for address in ADDRESSES:
        account, expected = world.account(address), model.get(address)
        proof = world.account_proof(address)
        assert verify_proof(root, proof, HASHER)
        if expected is None:
            assert account is None and isinstance(proof, NonInclusionProof)
            continue
        assert isinstance(proof, InclusionProof)
        assert (account.nonce, account.balance, account.keccak_code_hash, account.code_size) == (
            expected["nonce"],
            expected["balance"],
            keccak(expected["code"]),
            len(expected["code"]),
        )
        for slot in SLOTS:
            key = slot.to_bytes(32, "big")
            assert world.storage(address, key) == expected["storage"].get(slot, 0)
            assert verify_proof(account.storage_root, world.storage_proof(address, key), HASHER)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_world_state_matches_model(data):
    world = ZkWorldState(HASHER, MemoryForest())
    model: dict = {}
    assert world.root == empty_root(HASHER.name)
    for number in range(data.draw(st.integers(1, 3))):
        diff, model = data.draw(block_changes(model))
        trielog = decode_trielog(build_trielog(bytes([number]) * 32, number, diff, CODE_BY_HASH))
        parent = world.root
        applied = world.apply_trielog(trielog)
        assert applied.parent_root == parent and applied.root == world.root
        for trace in applied.traces:
            assert trace.location in (b"", *ADDRESSES)
    check_world_equals_model(world, model)


def test_trace_kinds_order_and_locations():
    world = ZkWorldState(HASHER, MemoryForest())
    a, b = ADDRESSES[0], ADDRESSES[1]
    code = CODES[1]
    diff = {
        a: AccountDiff(False, True, (0, 1), (0, 5), (EMPTY_KECCAK_CODE_HASH, EMPTY_KECCAK_CODE_HASH)),
        b: AccountDiff(False, True, (0, 1), (0, 0), (EMPTY_KECCAK_CODE_HASH, keccak(code)), {1: (0, 9)}),
    }
    first = world.apply_trielog(decode_trielog(build_trielog(b"\x01" * 32, 1, diff, CODE_BY_HASH)))
    assert sorted(t.type for t in first.traces) == [INSERTION_TRACE] * 3
    storage = [t for t in first.traces if t.location == b]
    assert len(storage) == 1 and first.traces.index(storage[0]) == [t.key for t in first.traces].index(b) - 1
    diff = {
        a: AccountDiff(True, True, (1, 1), (5, 5), (EMPTY_KECCAK_CODE_HASH, EMPTY_KECCAK_CODE_HASH)),
        b: AccountDiff(True, True, (1, 1), (0, 0), (keccak(code), keccak(code)), {1: (9, 0), 2: (0, 0)}),
    }
    second = world.apply_trielog(decode_trielog(build_trielog(b"\x02" * 32, 2, diff, CODE_BY_HASH)))
    kinds = {(t.location, t.type) for t in second.traces}
    assert kinds == {(b"", READ_TRACE), (b, READ_ZERO_TRACE), (b, DELETION_TRACE), (b"", UPDATE_TRACE)}
    assert world.account(b).storage_root != empty_root(HASHER.name)  # deletions never free a leaf slot
    json_traces = second.traces_json()
    assert {t["location"] for t in json_traces} == {"0x", "0x" + b.hex()}
    # the account deleted: its storage goes with it
    diff = {b: AccountDiff(True, False, (1, 0), (0, 0), (keccak(code), EMPTY_KECCAK_CODE_HASH))}
    third = world.apply_trielog(decode_trielog(build_trielog(b"\x03" * 32, 3, diff, CODE_BY_HASH)))
    assert [t.type for t in third.traces] == [DELETION_TRACE]
    assert world.account(b) is None and world.storage(b, (1).to_bytes(32, "big")) == 0


def test_mismatched_trielog_is_refused_and_state_kept():
    world = ZkWorldState(HASHER, MemoryForest())
    a = ADDRESSES[0]
    diff = {a: AccountDiff(False, True, (0, 1), (0, 5), (EMPTY_KECCAK_CODE_HASH,) * 2, {1: (0, 3)})}
    world.apply_trielog(decode_trielog(build_trielog(b"\x01" * 32, 1, diff, CODE_BY_HASH)))
    root = world.root
    cases = [
        {a: AccountDiff(False, True, (0, 1), (0, 5), (EMPTY_KECCAK_CODE_HASH,) * 2)},  # says a is new
        {a: AccountDiff(True, True, (7, 8), (5, 5), (EMPTY_KECCAK_CODE_HASH,) * 2)},  # wrong prior nonce
        {a: AccountDiff(True, True, (1, 1), (5, 5), (EMPTY_KECCAK_CODE_HASH,) * 2, {1: (4, 5)})},  # wrong slot
        {ADDRESSES[1]: AccountDiff(True, True, (0, 0), (1, 1), (EMPTY_KECCAK_CODE_HASH,) * 2)},  # unknown account
    ]
    for diff in cases:
        with pytest.raises(TrieLogMismatch):
            world.apply_trielog(decode_trielog(build_trielog(b"\x02" * 32, 2, diff, CODE_BY_HASH)))
        assert world.root == root


def test_lmdb_forest_gives_the_same_roots_and_traces():
    memory = ZkWorldState(HASHER, MemoryForest())
    with tempfile.TemporaryDirectory() as tmp:
        store = LmdbStateStore(Path(tmp))
        disk = ZkWorldState(HASHER, store)
        alloc_trielog = genesis_trielog(bytes(32), {ADDRESSES[0]: _Alloc(5, 1, CODES[1], {3: 4, 5: 0})})
        blocks = [
            alloc_trielog,
            build_trielog(
                b"\x01" * 32,
                1,
                {ADDRESSES[0]: AccountDiff(True, True, (1, 1), (5, 5), (keccak(CODES[1]),) * 2, {3: (4, 0)}, True)},
                CODE_BY_HASH,
            ),
        ]
        for raw in blocks:
            trielog = decode_trielog(raw)
            expected = memory.apply_trielog(trielog)
            with store.batch():
                got = disk.apply_trielog(trielog)
            assert got.root == expected.root and got.traces_json() == expected.traces_json()
        assert disk.storage(ADDRESSES[0], (3).to_bytes(32, "big")) == 0
        assert disk.account(ADDRESSES[0]).storage_root == empty_root(HASHER.name)
        store.close()


class _Alloc:
    def __init__(self, balance: int, nonce: int, code: bytes, storage: dict[int, int]) -> None:
        self.balance, self.nonce, self.code, self.storage = balance, nonce, code, storage


def test_an_account_touched_but_absent_before_and_after_is_proven_absent():
    """EIP-161 removes a touched empty account: no write, but the prover re-executes the touch, so READ_ZERO."""
    world = ZkWorldState(HASHER, MemoryForest())
    a, ghost = ADDRESSES[0], ADDRESSES[2]
    diff = {
        a: AccountDiff(False, True, (0, 1), (0, 5), (EMPTY_KECCAK_CODE_HASH, EMPTY_KECCAK_CODE_HASH)),
        ghost: AccountDiff(False, False, (0, 0), (0, 0), (EMPTY_KECCAK_CODE_HASH, EMPTY_KECCAK_CODE_HASH),
                           storage_wiped=True),
    }
    block = world.apply_trielog(decode_trielog(build_trielog(b"\x01" * 32, 1, diff, CODE_BY_HASH)))
    ghost_traces = [t for t in block.traces if t.key == ghost]
    assert [t.type for t in ghost_traces] == [READ_ZERO_TRACE]
    assert world.account(ghost) is None


def test_lmdb_reads_from_another_thread_see_the_last_committed_state(tmp_path):
    """A reader thread never uses the writer's open transaction: it sees the last complete block."""
    import threading

    store = LmdbStateStore(tmp_path / "zk")
    with store.batch():
        store.put("meta", b"k", b"committed")
    seen = []
    with store.batch():
        store.put("meta", b"k", b"in progress")
        reader = threading.Thread(target=lambda: seen.append(store.get("meta", b"k")))
        reader.start()
        reader.join()
        assert store.get("meta", b"k") == b"in progress"  # the writer sees its own writes
    assert seen == [b"committed"]
    store.close()
