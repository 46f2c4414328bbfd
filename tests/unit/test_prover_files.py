"""Prover file names and folders (spec §4), checked against real Linea mainnet file names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linen.prover.files import (
    ProofKind,
    aggregation_hash,
    aggregation_name,
    compression_request_name,
    compression_response_name,
    execution_request_name,
    execution_response_name,
    kind_folders,
    locked_name,
    make_folders,
    parse_request_name,
    parse_response_name,
    request_exists,
    response_path,
    split_locked_name,
    strip_failures,
    write_request,
    write_response,
)

BLOBS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "linea" / "blobs-mainnet"
needs_vectors = pytest.mark.skipif(
    not BLOBS.is_dir(), reason=f"Linea vectors not found at {BLOBS} (a clone without the shared folder beside it)"
)

SHNARF = bytes.fromhex("9cabe9ab75043f19d070f29b438f07e5d58ee08aaa7e20e028d92dcba9f9f2cf")


def _compression_files() -> list[Path]:
    return sorted(BLOBS.glob("*-getZkBlobCompressionProof.json")) if BLOBS.is_dir() else []


@needs_vectors
def test_compression_request_names_have_linea_mainnet_shape():
    """Same layout, hex case and (absent) 0x as Linea's files; the range is the blob's own.

    The hash in these older mainnet names is not the file's expectedShnarf (nor any other field of
    it), so only the shape is compared; spec §4 names the expected shnarf, which Linen uses.
    """
    files = _compression_files()
    assert len(files) == 21
    for path in files:
        blob = json.loads(path.read_text())
        start = blob["conflationOrder"]["startingBlockNumber"]
        end = blob["conflationOrder"]["upperBoundaries"][-1]
        parsed = parse_request_name(path.name)
        assert parsed is not None
        assert (parsed.kind, parsed.start, parsed.end) == (ProofKind.COMPRESSION, start, end)
        assert len(parsed.hash) == 64 and parsed.hash == parsed.hash.lower()
        assert compression_request_name(start, end, "0x" + parsed.hash) == path.name
        assert compression_request_name(start, end, bytes.fromhex(parsed.hash)) == path.name
        assert parsed.name == parsed.base == path.name
        assert parsed.response_name == compression_response_name(start, end, "0x" + parsed.hash)
        assert parse_response_name(parsed.response_name, ProofKind.COMPRESSION) is not None
        assert compression_request_name(start, end, blob["expectedShnarf"]).startswith(f"{start}-{end}-bcv0.0-ccv0.0-")


@needs_vectors
def test_mainnet_aggregation_name_parses():
    parsed = parse_request_name("17865638-17865747-getZkAggregatedProof.json")
    assert parsed is not None and (BLOBS / "17865638-17865747-getZkAggregatedProof.json").is_file()
    assert (parsed.kind, parsed.start, parsed.end, parsed.hash) == (ProofKind.AGGREGATION, 17865638, 17865747, None)
    assert parsed.response_name == "17865638-17865747-getZkAggregatedProof.json"


def test_name_shapes():
    assert execution_request_name(5, 9) == execution_response_name(5, 9) == "5-9-getZkProof.json"
    assert compression_request_name(1, 2, "0x" + SHNARF.hex().upper()) == (
        f"1-2-bcv0.0-ccv0.0-{SHNARF.hex()}-getZkBlobCompressionProof.json"
    )
    assert compression_response_name(1, 2, SHNARF) == f"1-2-{SHNARF.hex()}-getZkBlobCompressionProof.json"
    with pytest.raises(ValueError):
        execution_request_name(9, 5)
    with pytest.raises(ValueError):
        compression_request_name(1, 2, "0xzz")


def test_aggregation_name_hashes_compression_names_first():
    compressions = [compression_response_name(1, 4, SHNARF), compression_response_name(5, 6, bytes(32))]
    executions = [execution_response_name(1, 2), execution_response_name(3, 6)]
    joined = ", ".join(compressions + executions)
    digest = hashlib.sha256(joined.encode()).hexdigest()
    assert aggregation_hash(compressions, executions) == digest
    assert aggregation_hash(executions, compressions) != digest
    name = aggregation_name(1, 6, compressions, executions)
    assert name == f"1-6-{digest}-getZkAggregatedProof.json"
    parsed = parse_request_name(name)
    assert parsed is not None and parsed.kind is ProofKind.AGGREGATION and parsed.hash == digest
    assert parsed.response_name == name
    assert parse_response_name(name) == parsed


def test_execution_suffixes_and_old_names():
    parsed = parse_request_name("10-20-getZkProof.json.large.failure.code_137")
    assert parsed is not None and parsed.large and parsed.failure_codes == (137,)
    assert parsed.base == "10-20-getZkProof.json"
    assert parsed.response_name == "10-20-getZkProof.json"
    assert parsed.with_(failure_codes=()).name == "10-20-getZkProof.json.large"
    old = parse_request_name("10-20-etv0.2.3-stv1.2.3-getZkProof.json")
    assert old is not None and old.kind is ProofKind.EXECUTION and old.response_name == "10-20-getZkProof.json"
    many = parse_request_name("3-4-getZkProof.json.failure.code_79.failure.code_14")
    assert many is not None and many.failure_codes == (79, 14) and not many.large
    assert strip_failures(many.name) == "3-4-getZkProof.json"


@pytest.mark.parametrize(
    "name",
    [
        "10-20-getZkProof.json.inprogress.prover-a",  # locked by a controller
        "10-20-getZkProof.json..inprogress_coordinator_writing",  # still being written
        "tmp-response-file.prover-a.json",
        ".10-20-getZkProof.json.123.tmp",
        "20-10-getZkProof.json",  # start after end
        f"1-2-{SHNARF.hex()}-getZkBlobCompressionProof.json.large",  # only execution has a large mode
        "1-2-getZkProof.json.failure.code_",
        "../1-2-getZkProof.json",
        "1-2-getZkProof.json.success",
    ],
)
def test_names_a_controller_must_not_take(name):
    assert parse_request_name(name) is None


def test_lock_names():
    assert locked_name("1-2-getZkProof.json", "prover-a") == "1-2-getZkProof.json.inprogress.prover-a"
    assert split_locked_name("1-2-getZkProof.json.inprogress.prover-a.b") == ("1-2-getZkProof.json", "prover-a.b")
    assert split_locked_name("1-2-getZkProof.json") is None


def test_sort_key_orders_by_end_then_kind():
    names = [
        aggregation_name(1, 10, [], []),
        compression_request_name(1, 10, SHNARF),
        execution_request_name(5, 10),
        execution_request_name(11, 11),
        execution_request_name(1, 4),
    ]
    ordered = sorted(names, key=lambda n: parse_request_name(n).sort_key)
    assert [parse_request_name(n).kind.value for n in ordered] == [
        "execution",
        "execution",
        "compression",
        "aggregation",
        "execution",
    ]
    assert parse_request_name(ordered[0]).end == 4 and parse_request_name(ordered[-1]).end == 11


def test_folders_and_request_exists(tmp_path):
    folders = make_folders(tmp_path)
    assert set(folders) == set(ProofKind)
    exec_folders = kind_folders(tmp_path, "execution")
    assert exec_folders.requests == tmp_path / "prover-execution" / "requests"
    assert exec_folders.done == tmp_path / "prover-execution" / "requests-done"
    name = execution_request_name(1, 2)
    assert not request_exists(tmp_path, ProofKind.EXECUTION, name)
    path = write_request(tmp_path, ProofKind.EXECUTION, name, {"blocksData": []})
    assert path == exec_folders.requests / name and json.loads(path.read_text()) == {"blocksData": []}
    assert sorted(p.name for p in exec_folders.requests.iterdir()) == [name]  # no temporary left behind
    assert request_exists(tmp_path, ProofKind.EXECUTION, name)
    path.rename(path.with_name(locked_name(name, "prover-x")))
    assert request_exists(tmp_path, ProofKind.EXECUTION, name)
    path.with_name(locked_name(name, "prover-x")).rename(path.with_name(locked_name(name, "someone")))
    assert not request_exists(tmp_path, ProofKind.EXECUTION, name)  # the spec pattern wants `.inprogress.prover…`
    assert not request_exists(tmp_path, ProofKind.COMPRESSION, name)
    assert response_path(tmp_path, "execution", name) == tmp_path / "prover-execution" / "responses" / name
    written = write_response(response_path(tmp_path, "execution", name), {"proof": "0x"})
    assert json.loads(written.read_text()) == {"proof": "0x"}
    assert [p.name for p in written.parent.iterdir()] == [name]


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 10**9),
    length=st.integers(0, 10**4),
    shnarf=st.binary(min_size=32, max_size=32),
    kind=st.sampled_from(list(ProofKind)),
    large=st.booleans(),
    failures=st.lists(st.integers(0, 2000), max_size=3),
)
def test_request_names_round_trip(start, length, shnarf, kind, large, failures):
    end = start + length
    if kind is ProofKind.EXECUTION:
        base = execution_request_name(start, end)
    elif kind is ProofKind.COMPRESSION:
        base, large = compression_request_name(start, end, shnarf), False
    else:
        base, large = aggregation_name(start, end, [shnarf.hex()], []), False
    name = base + (".large" if large else "") + "".join(f".failure.code_{code}" for code in failures)
    parsed = parse_request_name(name)
    assert parsed is not None
    assert (parsed.kind, parsed.start, parsed.end, parsed.large) == (kind, start, end, large)
    assert parsed.failure_codes == tuple(failures) and parsed.base == base and parsed.name == name
    assert parse_request_name(name, kind) == parsed
    assert parse_request_name(locked_name(name, "prover-1")) is None
    assert parse_response_name(parsed.response_name, kind) is not None
    if kind is ProofKind.COMPRESSION:
        assert parsed.hash == shnarf.hex()
        assert parsed.response_name == compression_response_name(start, end, shnarf)
