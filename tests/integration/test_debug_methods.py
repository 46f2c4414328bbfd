"""debug_trace*, eth_createAccessList and eth_getProof on a real Linen node, checked against anvil.

One Linen node and one anvil (with step tracing) per module run the same signed transactions (see
`debug_support`); each tracer's output for each transaction must equal anvil's, except the fields
documented in docs/debug-methods.md: the coinbase (Linen's fee recipient, anvil's zero address)
and the balances fees move (different base fees), and the callTracer's top-level `gas` (geth's
transaction gas limit; anvil gives the gas left after intrinsic gas).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import rlp
from eth_utils import keccak
from trie import HexaryTrie

from linen.tools import node_modules, tool_path
from tests.helpers import ROOT, compile_contracts, rpc
from tests.integration.debug_support import calldata, run_workload, start_chains

pytestmark = pytest.mark.slow

STEP_FIELDS = ("pc", "op", "gas", "gasCost", "depth", "stack")
ANVIL_COINBASE = "0x" + "00" * 20


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    chains = start_chains(tmp_path_factory.mktemp("debug"))
    try:
        run_workload(chains)
        yield chains
    finally:
        chains.node.stop()
        chains.anvil.stop()


def _trace_both(chains, tx_hash, config):
    return chains.both("debug_traceTransaction", tx_hash, config)


def _linen_coinbase(chains) -> str:
    return chains.call(chains.node.url, "eth_getBlockByNumber", "0x1", False)["miner"]


def test_struct_logs_equal_anvils(chains):
    for name, tx_hash in chains.hashes.items():
        ours, theirs = _trace_both(chains, tx_hash, {})
        assert {k: ours[k] for k in ("gas", "failed", "returnValue")} == {
            k: theirs[k] for k in ("gas", "failed", "returnValue")
        }, name
        assert len(ours["structLogs"]) == len(theirs["structLogs"]), name
        for index, (step, expected) in enumerate(zip(ours["structLogs"], theirs["structLogs"], strict=True)):
            assert {k: step.get(k) for k in STEP_FIELDS} == {k: expected.get(k) for k in STEP_FIELDS}, (name, index)
            # geth counts an authorization's refund (12500 for an existing account) from the first step; anvil not
            authorization_refund = 12_500 if name == "set_code" else 0
            assert step.get("refund", 0) == expected.get("refund", 0) + authorization_refund, (name, index)
            if step["op"] in ("SLOAD", "SSTORE"):  # geth writes storage words without 0x; anvil with
                assert step["storage"] == {k[2:]: v[2:] for k, v in expected["storage"].items()}, (name, index)
    nested = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["nested"], {})
    ops = {step["op"] for step in nested["structLogs"]}
    assert {"CREATE", "CALL", "STATICCALL", "DELEGATECALL", "REVERT", "SSTORE", "LOG1"} <= ops
    assert max(step["depth"] for step in nested["structLogs"]) == 2
    clear = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["clear"], {})
    assert any(step.get("refund") for step in clear["structLogs"])  # clearing a slot refunds
    assert chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["fail"], {})["failed"] is True
    oog = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["out_of_gas"], {})
    assert oog["failed"] is True and oog["structLogs"][-1]["op"] == "SSTORE"


def test_struct_log_memory_and_return_data_equal_anvils(chains):
    config = {"enableMemory": True, "enableReturnData": True, "disableStack": True}
    ours, theirs = _trace_both(chains, chains.hashes["nested"], config)
    assert len(ours["structLogs"]) == len(theirs["structLogs"])
    for step, expected in zip(ours["structLogs"], theirs["structLogs"], strict=True):
        assert "stack" not in step
        assert step["memory"] == [word[2:] for word in expected["memory"]]  # geth: no 0x on memory words
        assert step["returnData"] == expected["returnData"]


def _without_top_gas(frame: dict) -> dict:
    return {k: v for k, v in frame.items() if k != "gas"}


@pytest.mark.parametrize(
    "config",
    [
        {"tracer": "callTracer"},
        {"tracer": "callTracer", "tracerConfig": {"withLog": True}},
        {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}},
    ],
    ids=["calls", "withLog", "onlyTopCall"],
)
def test_call_tracer_equals_anvils(chains, config):
    for name, tx_hash in chains.hashes.items():
        ours, theirs = _trace_both(chains, tx_hash, config)
        if config.get("tracerConfig", {}).get("onlyTopCall") and "calls" in theirs:
            # anvil keeps a SELFDESTRUCT frame under the top call with onlyTopCall; geth (and Linen) do not
            assert [call["type"] for call in theirs.pop("calls")] == ["SELFDESTRUCT"], name
        assert _without_top_gas(ours) == _without_top_gas(theirs), name
        tx = chains.call(chains.node.url, "eth_getTransactionByHash", tx_hash)
        assert ours["gas"] == tx["gas"]  # geth: the top frame's gas is the transaction's gas limit


def test_call_tree_has_every_frame_kind(chains):
    tree = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["nested"], {"tracer": "callTracer"})
    kinds = [call["type"] for call in tree["calls"]]
    assert kinds == ["CREATE", "CALL", "STATICCALL", "DELEGATECALL", "STATICCALL", "STATICCALL"]
    inner = tree["calls"][4]
    assert inner["error"] == "execution reverted" and inner["revertReason"] == "inner reason"
    assert tree["calls"][5]["to"] == "0x" + "00" * 19 + "02"  # sha256 precompile
    fail = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["fail"], {"tracer": "callTracer"})
    assert fail["error"] == "execution reverted" and fail["revertReason"] == "top-level reason"
    custom = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["custom"], {"tracer": "callTracer"})
    assert custom["output"].startswith("0x" + keccak(text="Custom(uint256,address)")[:4].hex())
    assert "revertReason" not in custom
    for name, error in (
        ("out_of_gas", "out of gas"),
        ("create_reverts", "execution reverted"),
        ("invalid_opcode", "invalid opcode: INVALID"),
    ):
        frame = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes[name], {"tracer": "callTracer"})
        assert frame["error"] == error, name


def _normalise_prestate(result: dict, coinbase: str, sender: str) -> dict:
    """Same coinbase name on both chains, and no balances of the two accounts fees move."""
    diff = set(result) == {"pre", "post"}
    out = []
    for part in [result["pre"], result["post"]] if diff else [result]:
        part = {("COINBASE" if address == coinbase else address): dict(account) for address, account in part.items()}
        for address in ("COINBASE", sender):
            if address in part:
                part[address].pop("balance", None)
        out.append(part)
    return {"pre": out[0], "post": out[1]} if diff else out[0]


@pytest.mark.parametrize(
    "tracer_config",
    [{}, {"diffMode": True}, {"disableCode": True, "disableStorage": True}, {"diffMode": True, "disableCode": True}],
    ids=["prestate", "diffMode", "noCodeNoStorage", "diffModeNoCode"],
)
def test_prestate_tracer_equals_anvils(chains, tracer_config):
    diff_mode = tracer_config.get("diffMode", False)
    config = {"tracer": "prestateTracer", "tracerConfig": tracer_config}
    coinbase = _linen_coinbase(chains)
    for name, tx_hash in chains.hashes.items():
        ours, theirs = _trace_both(chains, tx_hash, config)
        assert _normalise_prestate(ours, coinbase, chains.sender) == _normalise_prestate(
            theirs, ANVIL_COINBASE, chains.sender
        ), name
    store = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["store"], config)
    slot = "0x" + keccak((1).to_bytes(32, "big") + (1).to_bytes(32, "big")).hex()
    if tracer_config.get("disableStorage"):
        assert "storage" not in store[chains.target]
    elif diff_mode:
        assert store["post"][chains.target]["storage"] == {slot: "0x" + "00" * 31 + "05"}
    else:
        assert store[chains.target]["storage"] == {slot: "0x" + "00" * 32}


def test_trace_block_by_number_and_hash(chains):
    receipt = chains.call(chains.node.url, "eth_getTransactionReceipt", chains.hashes["transfer"])
    config = {"tracer": "callTracer"}
    by_number = chains.call(chains.node.url, "debug_traceBlockByNumber", receipt["blockNumber"], config)
    by_hash = chains.call(chains.node.url, "debug_traceBlockByHash", receipt["blockHash"], config)
    assert by_number == by_hash
    block = chains.call(chains.node.url, "eth_getBlockByHash", receipt["blockHash"], False)
    assert [entry["txHash"] for entry in by_number] == block["transactions"]
    for entry in by_number:
        single = chains.call(chains.node.url, "debug_traceTransaction", entry["txHash"], config)
        assert entry["result"] == single
    structs = chains.call(chains.node.url, "debug_traceBlockByNumber", receipt["blockNumber"], {})
    assert [len(e["result"]["structLogs"]) for e in structs] == [
        len(chains.call(chains.node.url, "debug_traceTransaction", h, {})["structLogs"]) for h in block["transactions"]
    ]


def _call(chains, signature, types=None, values=None, **extra):
    return {"from": chains.sender, "to": chains.target, "data": calldata(signature, types, values), **extra}


@pytest.mark.parametrize("tracer", [None, "callTracer", "prestateTracer"])
def test_trace_call_equals_anvils(chains, tracer):
    config = {} if tracer is None else {"tracer": tracer}
    coinbase = _linen_coinbase(chains)
    for request in (
        _call(chains, "nested(uint256)", ["uint256"], [7], gas="0x100000"),
        _call(chains, "custom()", gas="0x100000"),
        _call(chains, "probe(address)", ["address"], [chains.target], gas="0x100000"),
    ):
        ours, theirs = chains.both("debug_traceCall", request, "latest", config)
        if tracer is None:
            assert [{k: s.get(k) for k in STEP_FIELDS} for s in ours["structLogs"]] == [
                {k: s.get(k) for k in STEP_FIELDS} for s in theirs["structLogs"]
            ]
            assert ours["returnValue"] == theirs["returnValue"] and ours["failed"] == theirs["failed"]
        elif tracer == "callTracer":
            assert _without_top_gas(ours) == _without_top_gas(theirs)
        else:
            assert _normalise_prestate(ours, coinbase, chains.sender) == _normalise_prestate(
                theirs, ANVIL_COINBASE, chains.sender
            )


def test_trace_call_and_access_list_of_a_creation(chains):
    code = compile_contracts("TraceTarget")["TraceTarget"]["bytecode"]
    request = {"from": chains.sender, "data": code, "gas": "0x300000"}
    ours, theirs = chains.both("debug_traceCall", request, "latest", {"tracer": "callTracer"})
    assert ours["type"] == "CREATE" and _without_top_gas(ours) == _without_top_gas(theirs)
    ours, theirs = chains.both("debug_traceCall", request, "latest", {})
    assert [{k: s.get(k) for k in STEP_FIELDS} for s in ours["structLogs"]] == [
        {k: s.get(k) for k in STEP_FIELDS} for s in theirs["structLogs"]
    ]
    ours, theirs = chains.both("eth_createAccessList", request, "latest")
    assert _as_sets(ours) == _as_sets(theirs)
    # a list given in the request is kept and extended, as geth and anvil do
    seeded = _call(
        chains, "counter()", accessList=[{"address": "0x" + "00" * 19 + "aa", "storageKeys": ["0x" + "00" * 31 + "01"]}]
    )
    ours, theirs = chains.both("eth_createAccessList", seeded, "latest")
    assert _as_sets(ours) == _as_sets(theirs) and len(ours["accessList"]) == 2


def test_opcode_names_equal_anvils(chains):
    """Prague's newer instructions and the renamed ones (0x20 KECCAK256, 0x44 DIFFICULTY), on code put in by an override."""
    code = "0x44505f5f20505f5f5c505f5f5d5f5f5f5e4a50495046504800"
    where = "0x" + "ab" * 20
    request = {"from": chains.sender, "to": where, "gas": "0x100000"}
    ours, theirs = chains.both("debug_traceCall", request, "latest", {"stateOverrides": {where: {"code": code}}})
    assert [s["op"] for s in ours["structLogs"]] == [s["op"] for s in theirs["structLogs"]]
    assert [s["gasCost"] for s in ours["structLogs"]] == [s["gasCost"] for s in theirs["structLogs"]]


def test_trace_call_with_state_overrides(chains):
    request = _call(chains, "data(uint256)", ["uint256"], [9], gas="0x100000")
    slot = "0x" + keccak((9).to_bytes(32, "big") + (1).to_bytes(32, "big")).hex()
    config = {"tracer": "callTracer", "stateOverrides": {chains.target: {"stateDiff": {slot: "0x" + "00" * 31 + "2a"}}}}
    ours, theirs = chains.both("debug_traceCall", request, "latest", config)
    assert ours["output"] == "0x" + "00" * 31 + "2a"
    assert _without_top_gas(ours) == _without_top_gas(theirs)


def _as_sets(result: dict) -> dict:
    return {
        "accessList": {(e["address"].lower(), tuple(sorted(e["storageKeys"]))) for e in result["accessList"]},
        "gasUsed": result["gasUsed"],
        "error": result.get("error"),
    }


def test_create_access_list_equals_anvils(chains):
    requests = [
        _call(chains, "nested(uint256)", ["uint256"], [9]),
        _call(chains, "store(uint256,uint256)", ["uint256", "uint256"], [2, 3]),
        _call(chains, "probe(address)", ["address"], ["0x000000000000000000000000000000000000c0de"]),
        _call(chains, "fail()"),
        {"from": chains.sender, "to": "0x000000000000000000000000000000000000c0de", "value": "0x1"},
    ]
    for request in requests[:3] + requests[4:]:
        ours, theirs = chains.both("eth_createAccessList", request, "latest")
        assert _as_sets(ours) == _as_sets(theirs), request
    nested = chains.call(chains.node.url, "eth_createAccessList", requests[0], "latest")
    addresses = {entry["address"] for entry in nested["accessList"]}
    assert chains.target in addresses and chains.sender not in addresses
    assert "0x" + "00" * 19 + "02" not in addresses  # precompiles are warm anyway
    # A reverting call: geth answers the list with an `error` field (as here); anvil answers an error instead.
    failed = chains.call(chains.node.url, "eth_createAccessList", requests[3], "latest")
    assert failed["error"] == "execution reverted"
    slot = "0x" + keccak((1).to_bytes(32, "big") + (1).to_bytes(32, "big")).hex()
    assert failed["accessList"] == [{"address": chains.target, "storageKeys": [slot]}]
    assert chains.linen("eth_createAccessList", requests[3], "latest")["result"] == failed
    assert rpc_error(chains.anvil.url, "eth_createAccessList", requests[3], "latest")["code"] == 3


def _verify_proof(proof: dict, state_root: bytes, address: str, slots: list[int]) -> None:
    nodes = [bytes.fromhex(n[2:]) for n in proof["accountProof"]]
    encoded = HexaryTrie.get_from_proof(state_root, keccak(bytes.fromhex(address[2:])), [rlp.decode(n) for n in nodes])
    if encoded:
        nonce, balance, storage_root, code_hash = rlp.decode(encoded)
        assert int.from_bytes(nonce, "big") == int(proof["nonce"], 16)
        assert int.from_bytes(balance, "big") == int(proof["balance"], 16)
        assert "0x" + storage_root.hex() == proof["storageHash"] and "0x" + code_hash.hex() == proof["codeHash"]
    else:
        assert proof["balance"] == "0x0" and proof["nonce"] == "0x0"
        assert proof["storageHash"] == "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
    storage_root = bytes.fromhex(proof["storageHash"][2:])
    for slot, entry in zip(slots, proof["storageProof"], strict=True):
        assert int(entry["key"], 16) == slot
        nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in entry["proof"]]
        value = HexaryTrie.get_from_proof(storage_root, keccak(slot.to_bytes(32, "big")), nodes) if nodes else b""
        assert (rlp.decode(value, sedes=rlp.sedes.big_endian_int) if value else 0) == int(entry["value"], 16)


def test_get_proof_verifies_against_the_state_root(chains):
    data_slot = int.from_bytes(keccak((1).to_bytes(32, "big") + (1).to_bytes(32, "big")), "big")
    store_block = chains.call(chains.node.url, "eth_getTransactionReceipt", chains.hashes["store"])["blockNumber"]
    absent_account = "0x00000000000000000000000000000000deadbeef"
    for block in ("latest", "0x0", store_block):
        state_root = bytes.fromhex(chains.call(chains.node.url, "eth_getBlockByNumber", block, False)["stateRoot"][2:])
        for address, slots in (
            (chains.target, [0, 2, 3, data_slot, 12345]),
            (chains.sender, [0]),
            (absent_account, [1]),
            ("0x000000000000000000000000000000000000c0de", []),
        ):
            proof = chains.call(chains.node.url, "eth_getProof", address, [hex(s) for s in slots], block)
            _verify_proof(proof, state_root, address, slots)
    latest = chains.call(chains.node.url, "eth_getProof", chains.target, ["0x3"], "latest")
    assert latest["storageProof"][0]["value"] != "0x0"  # slot 3: the TraceLib address
    assert latest["balance"] == chains.both("eth_getBalance", chains.target, "latest")[0]
    # The same account fields and slot values as anvil (the state roots differ: Linen's coinbase and the
    # fee balances do). anvil's storageHash is not comparable: it keeps the slot `clear` zeroed in its
    # trie, so here the storage root is checked against a trie built from the live slots instead.
    keys = ["0x" + "00" * 32, "0x" + "00" * 31 + "02", "0x" + "00" * 31 + "03"]  # anvil wants 32-byte keys
    ours, theirs = chains.both("eth_getProof", chains.target, keys, "latest")
    for key in ("balance", "codeHash", "nonce"):
        assert ours[key] == theirs[key], key
    assert [(e["key"], e["value"]) for e in ours["storageProof"]] == [
        (e["key"], e["value"]) for e in theirs["storageProof"]
    ]
    live = HexaryTrie({})
    for entry in ours["storageProof"]:  # slots 0, 2, 3 are the only non-zero ones after the workload
        live[keccak(bytes.fromhex(entry["key"][2:]))] = rlp.encode(int(entry["value"], 16))
    assert ours["storageHash"] == "0x" + live.root_hash.hex()


def test_bad_input_is_invalid_params(chains):
    bad = [
        ("debug_traceTransaction", ["0x1234"]),
        ("debug_traceTransaction", [chains.hashes["store"], {"tracer": "4byteTracer"}]),
        (
            "debug_traceTransaction",
            [chains.hashes["store"], {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": 1}}],
        ),
        ("debug_traceTransaction", [chains.hashes["store"], {"disableStack": "yes"}]),
        ("debug_traceTransaction", [chains.hashes["store"], "callTracer"]),
        ("debug_traceCall", [{"to": "0x12"}, "latest"]),
        ("debug_traceBlockByNumber", ["0x0"]),
        ("eth_getProof", [chains.target, "0x0", "latest"]),
        ("eth_getProof", [chains.target, ["0x" + "11" * 33], "latest"]),
        ("eth_getProof", ["0x12", [], "latest"]),
        ("eth_createAccessList", [{"from": "nope"}]),
    ]
    for method, params in bad:
        response = chains.linen(method, *params)
        assert response.get("error", {}).get("code") == -32602, (method, params, response)
    missing = chains.linen("debug_traceTransaction", "0x" + "ab" * 32)
    assert missing["error"]["code"] == -32001
    limited = chains.call(chains.node.url, "debug_traceTransaction", chains.hashes["nested"], {"limit": 5})
    assert len(limited["structLogs"]) == 5


def rpc_error(url: str, method: str, *params: object) -> dict:
    response = rpc(url, method, list(params), timeout=60)
    assert "error" in response, response
    return response["error"]


def _cast(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(tool_path("cast")), *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_cast_run_replays_a_transaction(chains):
    out = _cast("run", chains.hashes["nested"], "--rpc-url", chains.node.url)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:] + chains.node.log()
    assert "[delegatecall]" in out.stdout and "inner reason" in out.stdout and "sha256" in out.stdout
    assert "Transaction successfully executed" in out.stdout
    assert chains.target[2:].lower() in out.stdout.lower()


def test_cast_access_list_and_proof(chains):
    data = calldata("store(uint256,uint256)", ["uint256", "uint256"], [4, 4])
    out = _cast("access-list", chains.target, data, "--from", chains.sender, "--rpc-url", chains.node.url, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    slot = "0x" + keccak((4).to_bytes(32, "big") + (1).to_bytes(32, "big")).hex()
    assert result["access_list"] if "access_list" in result else result["accessList"]
    assert slot in out.stdout
    proof = _cast("proof", chains.target, "0", "3", "--rpc-url", chains.node.url)
    assert proof.returncode == 0, proof.stderr
    parsed = json.loads(proof.stdout)
    assert len(parsed["storageProof"]) == 2 and parsed["accountProof"]


def test_viem_reads_proofs_and_access_lists(chains):
    env = dict(os.environ, NODE_PATH=str(node_modules()))
    data = calldata("store(uint256,uint256)", ["uint256", "uint256"], [6, 6])
    slot = "0x" + "00" * 31 + "03"
    out = subprocess.run(
        [
            "node",
            str(ROOT / "tests" / "clients" / "viem_debug_check.js"),
            chains.node.url,
            chains.target,
            slot,
            chains.sender,
            data,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    proof = chains.call(chains.node.url, "eth_getProof", chains.target, [slot], "latest")
    assert result["storageHash"] == proof["storageHash"] and result["nonce"] == int(proof["nonce"], 16)
    assert result["storageValue"] == str(int(proof["storageProof"][0]["value"], 16))
    assert result["accountProofLength"] == len(proof["accountProof"])
    assert [entry["address"].lower() for entry in result["accessList"]] == [chains.target]
