"""The debug tracers and eth_getProof on an in-process chain (no processes): every transaction type
of `standard_chain` replays and traces, the bounds hold, and bad input is -32602.

The comparison with anvil, step by step, is in tests/integration/test_debug_methods.py.
"""

from __future__ import annotations

import time

import pytest
import rlp
from eth_utils import keccak
from test_rpc_support import ADDRESSES, LOGGER, LocalBackend, address_hex, standard_chain
from trie import HexaryTrie

from linen.errors import ExecutionTimeout, InvalidParams, LimitExceeded, ResourceNotFound
from linen.execution.tracing.replay import trace_transaction
from linen.execution.tracing.struct_logger import StructLogger
from linen.rpc import debug, proofs

EMPTY_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    chain, info = standard_chain(tmp_path_factory.mktemp("chain") / "db")
    return LocalBackend(chain), info


def _hashes(info) -> list[str]:
    return ["0x" + tx.hash.hex() for block in (info["block1"], info["block2"]) for tx in block.transactions]


def test_every_transaction_traces_with_every_tracer(chain):
    backend, info = chain
    for block in (info["block1"], info["block2"]):
        for tx, receipt in zip(block.transactions, block.receipts, strict=True):
            tx_hash = "0x" + tx.hash.hex()
            structs = debug.debug_trace_transaction(backend, [tx_hash])
            assert structs["gas"] == receipt.gas_used and structs["failed"] == (receipt.status == 0)
            calls = debug.debug_trace_transaction(backend, [tx_hash, {"tracer": "callTracer"}])
            assert int(calls["gasUsed"], 16) == receipt.gas_used
            assert ("error" in calls) == (receipt.status == 0)
            pre = debug.debug_trace_transaction(backend, [tx_hash, {"tracer": "prestateTracer"}])
            assert "0x" + tx.sender.hex() in pre
            diff = debug.debug_trace_transaction(
                backend, [tx_hash, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}]
            )
            assert diff["post"]["0x" + tx.sender.hex()]["nonce"] == pre["0x" + tx.sender.hex()].get("nonce", 0) + 1


def test_set_code_transaction_shows_the_delegation(chain):
    backend, info = chain
    set_code = "0x" + info["block2"].transactions[0].hash.hex()
    diff = debug.debug_trace_transaction(
        backend, [set_code, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}]
    )
    assert diff["post"]["0x" + ADDRESSES[3].hex()]["code"] == "0xef0100" + LOGGER.hex()


def test_block_traces_list_every_transaction(chain):
    backend, info = chain
    block = info["block1"]
    traced = debug.debug_trace_block_by_number(backend, ["0x1", {"tracer": "callTracer"}])
    assert [entry["txHash"] for entry in traced] == ["0x" + tx.hash.hex() for tx in block.transactions]
    assert traced == debug.debug_trace_block_by_hash(backend, ["0x" + block.hash.hex(), {"tracer": "callTracer"}])


def test_struct_log_bounds(chain):
    backend, info = chain
    tx_hash = info["block1"].transactions[1].hash
    with pytest.raises(LimitExceeded, match="trace too large"):
        trace_transaction(backend.engine, tx_hash, StructLogger(max_steps=3))
    with pytest.raises(LimitExceeded):
        trace_transaction(backend.engine, tx_hash, StructLogger(max_bytes=200))
    limited = debug.debug_trace_transaction(backend, ["0x" + tx_hash.hex(), {"limit": 2}])
    assert len(limited["structLogs"]) == 2
    full = debug.debug_trace_transaction(backend, ["0x" + tx_hash.hex()])
    assert limited["structLogs"] == full["structLogs"][:2] and limited["gas"] == full["gas"]
    # a limit keeps the output small, so the size bound does not stop a long transaction
    small = StructLogger(limit=1, max_bytes=200)
    assert trace_transaction(backend.engine, tx_hash, small).gas_used == full["gas"] and len(small.logs) == 1
    bare = debug.debug_trace_transaction(backend, ["0x" + tx_hash.hex(), {"disableStack": True, "enableMemory": True}])
    assert all("stack" not in step for step in bare["structLogs"])
    assert any(step.get("memory") for step in bare["structLogs"])


def test_timeout_stops_an_endless_call(chain):
    backend, _ = chain
    loop = "0x" + "ab" * 20
    request = {"from": address_hex(ADDRESSES[0]), "to": loop, "gas": hex(50_000_000)}
    config = {"tracer": "callTracer", "timeout": "200ms", "stateOverrides": {loop: {"code": "0x5b5f56"}}}
    started = time.monotonic()
    with pytest.raises(ExecutionTimeout):
        debug.debug_trace_call(backend, [request, "latest", config])
    assert time.monotonic() - started < 5


def _check_proof(result: dict, state_root: bytes, address: bytes, slots: list[int]) -> None:
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in result["accountProof"]]
    encoded = HexaryTrie.get_from_proof(state_root, keccak(address), nodes)
    if encoded:
        assert rlp.decode(encoded)[2] == bytes.fromhex(result["storageHash"][2:])
    else:
        assert result["storageHash"] == "0x" + EMPTY_ROOT.hex() and result["balance"] == "0x0"
    root = bytes.fromhex(result["storageHash"][2:])
    for slot, entry in zip(slots, result["storageProof"], strict=True):
        nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in entry["proof"]]
        value = HexaryTrie.get_from_proof(root, keccak(slot.to_bytes(32, "big")), nodes) if nodes else b""
        assert (rlp.decode(value, sedes=rlp.sedes.big_endian_int) if value else 0) == int(entry["value"], 16)


def test_get_proof_for_every_block(chain):
    backend, _ = chain
    for number in range(3):
        header = backend.store.header_by_number(number)
        for address, slots in ((LOGGER, [0, 1]), (ADDRESSES[0], [5]), (b"\x12" * 20, [0])):
            result = proofs.eth_get_proof(backend, [address_hex(address), [hex(s) for s in slots], hex(number)])
            _check_proof(result, header.state_root, address, slots)
    logger = proofs.eth_get_proof(backend, [address_hex(LOGGER), ["0x0"], "0x0"])
    assert logger["storageProof"][0]["value"] == hex(41)


@pytest.mark.parametrize(
    "method, params",
    [
        (debug.debug_trace_transaction, ["0x12"]),
        (debug.debug_trace_transaction, ["0x" + "00" * 32, {"tracer": "jsTracer"}]),
        (debug.debug_trace_transaction, ["0x" + "00" * 32, {"timeout": "soon"}]),
        (debug.debug_trace_transaction, ["0x" + "00" * 32, {"limit": -1}]),
        (debug.debug_trace_transaction, ["0x" + "00" * 32, {"unknown": 1}]),
        (debug.debug_trace_transaction, ["0x" + "00" * 32, {"tracer": "prestateTracer", "tracerConfig": {"x": 1}}]),
        (debug.debug_trace_call, [{"from": "0x1"}, "latest"]),
        (debug.debug_trace_call, [{}, "latest", {"blockOverrides": {"number": "0x1"}}]),
        (debug.debug_trace_call, [{}, "latest", {"stateOverrides": []}]),
        (debug.debug_trace_block_by_number, ["0x0"]),
        (debug.debug_trace_block_by_hash, ["0x12"]),
        (debug.eth_create_access_list, [{"to": "0x12"}]),
        (proofs.eth_get_proof, ["0x" + "00" * 20, ["0x" + "11" * 33]]),
        (proofs.eth_get_proof, ["0x" + "00" * 20, "0x0"]),
        (proofs.eth_get_proof, ["0x" + "00" * 20, [7]]),
    ],
)
def test_bad_input_is_invalid_params(chain, method, params):
    backend, _ = chain
    with pytest.raises(InvalidParams):
        method(backend, params)


def test_unknown_transaction_and_block(chain):
    backend, _ = chain
    with pytest.raises(ResourceNotFound):
        debug.debug_trace_transaction(backend, ["0x" + "ab" * 32])
    with pytest.raises(ResourceNotFound):
        debug.debug_trace_block_by_number(backend, ["0x99"])
    with pytest.raises(ResourceNotFound):
        debug.debug_trace_block_by_hash(backend, ["0x" + "ab" * 32])
