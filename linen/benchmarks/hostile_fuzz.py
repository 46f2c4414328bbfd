"""Hostile JSON-RPC input for `linen bench hostile`: the method list, hypothesis strategies, envelopes.

The methods come from the node's own registry (`linen.rpc.methods.build_registry`, the state
manager's `linen.state_manager.rpc_methods`, `shomei_getTrieLogsByRange`) plus the WebSocket-only
`eth_subscribe` / `eth_unsubscribe`. Each method has a *shape* (the kind of each positional
parameter: address, block, call object, ...); the strategy for a method mixes shaped parameters with
hostile leaves, shaped parameters with one position swapped for anything, and arbitrary JSON.

Hypothesis is a test dependency: it is imported when the strategies are built, not at import time.
"""

from __future__ import annotations

import json
import os
from typing import Any

LOOP = "0x5b5f56"  # JUMPDEST PUSH0 JUMP: an infinite loop, bounded only by gas
EXECUTING = ("eth_call", "eth_estimateGas", "linea_estimateGas", "debug_traceCall", "eth_createAccessList")  # run the EVM: fuzzed last
WS_METHODS = ("eth_subscribe", "eth_unsubscribe")
LOOPS = (LOOP, "0x5b600056", "0X5b5f56")  # code that never ends by itself
# Sent all at once (one thread each): every one may run to the node's EVM timeout, so the fuzzer
# skips generated params that loop and these cover them, concurrently, which is the harder case.
LOOP_CALLS: list[tuple[str, list]] = [
    ("eth_call", [{"data": LOOP}, "latest"]),
    ("eth_call", [{"to": None, "data": LOOP, "gas": "0x2faf080"}, "latest"]),
    ("eth_estimateGas", [{"data": LOOP}, "latest"]),
    ("eth_estimateGas", [{"data": LOOP, "gas": "0xffffffffffffffff"}]),
    ("linea_estimateGas", [{"data": LOOP}]),
    ("debug_traceCall", [{"data": LOOP}, "latest", {}]),
    ("debug_traceCall", [{"data": LOOP}, "latest", {"tracer": "callTracer"}]),
    ("eth_createAccessList", [{"data": LOOP}, "latest"]),
]


def may_loop(params: object) -> bool:
    """Whether generated params carry looping code (the EXECUTING methods then run to the EVM timeout)."""
    try:
        text = json.dumps(params, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        return False
    return any(code in text for code in LOOPS)
TAGS = ["latest", "earliest", "pending", "safe", "finalized"]

SHAPES: dict[str, tuple[str, ...]] = {
    "eth_getBalance": ("address", "block"),
    "eth_getCode": ("address", "block"),
    "eth_getStorageAt": ("address", "quantity", "block"),
    "eth_getTransactionCount": ("address", "block"),
    "eth_call": ("call", "block", "overrides"),
    "eth_estimateGas": ("call", "block", "overrides"),
    "linea_estimateGas": ("call",),
    "eth_sendRawTransaction": ("data",),
    "web3_sha3": ("data",),
    "eth_getBlockByNumber": ("block", "bool"),
    "eth_getBlockByHash": ("hash", "bool"),
    "eth_getBlockTransactionCountByNumber": ("block",),
    "eth_getBlockTransactionCountByHash": ("hash",),
    "eth_getUncleCountByBlockNumber": ("block",),
    "eth_getUncleCountByBlockHash": ("hash",),
    "eth_getUncleByBlockNumberAndIndex": ("block", "quantity"),
    "eth_getUncleByBlockHashAndIndex": ("hash", "quantity"),
    "eth_getTransactionByHash": ("hash",),
    "eth_getTransactionByBlockHashAndIndex": ("hash", "quantity"),
    "eth_getTransactionByBlockNumberAndIndex": ("block", "quantity"),
    "eth_getTransactionReceipt": ("hash",),
    "eth_getBlockReceipts": ("block",),
    "debug_getRawBlock": ("block",),
    "debug_getRawHeader": ("block",),
    "eth_feeHistory": ("quantity", "block", "percentiles"),
    "eth_getLogs": ("filter",),
    "eth_newFilter": ("filter",),
    "eth_newBlockFilter": (),
    "eth_newPendingTransactionFilter": ("bool",),
    "eth_getFilterChanges": ("filter_id",),
    "eth_getFilterLogs": ("filter_id",),
    "eth_uninstallFilter": ("filter_id",),
    "linea_getBlockTracesCountersV2": ("linea_block",),
    "linea_getConflatedTracesCountersV2": ("linea_range",),
    "linea_generateConflatedTracesToFileV2": ("linea_range",),
    "linea_getTransactionExclusionStatusV1": ("hash",),
    "rollup_getZkEVMStateMerkleProofV0": ("state_range",),
    "linea_getProof": ("address", "slots", "block"),
    "rollup_forkChoiceUpdated": ("fork_choice",),
    "state_sendRawTrieLog": ("trielog",),
    "linen_getZkStateRoot": ("block",),
    "shomei_getTrieLogsByRange": ("quantity", "quantity"),
    "debug_traceTransaction": ("hash", "trace_config"),
    "debug_traceCall": ("call", "block", "trace_config"),
    "debug_traceBlockByNumber": ("block", "trace_config"),
    "debug_traceBlockByHash": ("hash", "trace_config"),
    "eth_createAccessList": ("call", "block"),
    "eth_getProof": ("address", "slots", "block"),
    "eth_subscribe": ("sub_kind", "filter"),
    "eth_unsubscribe": ("filter_id",),
}


def method_names() -> list[str]:
    """Every HTTP method the node registers (whether the state manager is on or not), sorted."""
    from linen.rpc.filters import FilterManager
    from linen.rpc.methods import build_registry
    from linen.state_manager import rpc_methods

    names = set(build_registry(FilterManager(None)))  # type: ignore[arg-type]  # only the names are used
    names |= set(rpc_methods.METHODS) | {"shomei_getTrieLogsByRange"}
    return sorted(names)


def fuzz_order(names: list[str]) -> list[str]:
    """The methods that run the EVM go last: a node they freeze still gets the rest measured first."""
    return [n for n in names if n not in EXECUTING] + [n for n in names if n in EXECUTING]


class Known:
    """Values from the live chain, so that shaped parameters sometimes name real things."""

    def __init__(self) -> None:
        self.addresses: list[str] = ["0x" + "00" * 20, "0x" + "00" * 19 + "01", "0x" + "00" * 18 + "0100"]
        self.hashes: list[str] = ["0x" + "00" * 32]
        self.filter_ids: list[str] = ["0x0", "0x1"]


def strategies(known: Known) -> dict[str, Any]:
    """One hypothesis strategy per parameter kind (`SHAPES` values), plus "any"."""
    from hypothesis import strategies as st

    def hex_of(size_min: int, size_max: int) -> Any:
        return st.binary(min_size=size_min, max_size=size_max).map(lambda b: "0x" + b.hex())

    huge = st.sampled_from([0, 1, -1, 2**53, 2**63, 2**64, 2**64 - 1, 2**255, 2**256, 2**256 - 1, -(2**63), 10**100])
    numbers = st.one_of(huge, st.integers(), st.floats(allow_nan=True, allow_infinity=True))
    quantity = st.one_of(
        st.sampled_from(["0x", "0x-1", "-0x1", "0x00", "0x01", "0X1", "0x 1", " 0x1", "1", "-1", "0xg", "0x1.5",
                         "1e400", "", "0x" + "f" * 64, "0x1" + "0" * 64, "0x" + "f" * 1000, "0x" + "0" * 5000 + "1",
                         "0xffffffffffffffff", "0x10000000000000000", "0x7fffffffffffffff", "latest", "\u0000"]),
        st.integers(min_value=-(2**300), max_value=2**300).map(hex),
        st.integers(min_value=0, max_value=2**64).map(hex),
        numbers,
        st.text(max_size=12),
    )
    data = st.one_of(
        hex_of(0, 64),
        st.sampled_from([LOOP, "0x123", "0xzz", "5b5f56", "0x", "0x00", "0X5b5f56", "0x63ffffffff5f52",
                         "0x" + "5b" * 24_576, "0x" + "00" * 49_153, "0x" + "ff" * 140_000]),
        st.integers(min_value=0, max_value=300_000).map(lambda n: "0x" + "ab" * n),
        numbers,
        st.text(max_size=20),
    )
    address = st.one_of(
        hex_of(20, 20),
        st.sampled_from(known.addresses),
        st.sampled_from(["0x" + "00" * 19 + f"{i:02x}" for i in range(1, 0x12)] + ["0x" + "00" * 18 + "0100"]),
        hex_of(0, 19), hex_of(21, 40),
        st.sampled_from(["0x" + "aB" * 20, "0xZZ" + "00" * 19, "0x" + "0" * 39, "0x" + "0" * 41, "", "0x"]),
        numbers, st.none(),
    )
    hash32 = st.one_of(
        hex_of(32, 32), st.sampled_from(known.hashes), hex_of(0, 31), hex_of(33, 64),
        st.sampled_from(["0x" + "0" * 63, "0x" + "0" * 65, "0x" + "g" * 64, "0x" + "f" * 64]), numbers, st.none(),
    )
    block = st.one_of(
        st.sampled_from(TAGS + ["LATEST", "Latest", "pending ", "genesis", "head", "0x0", "0x1", "earliest\u0000"]),
        quantity,
        st.fixed_dictionaries({}, optional={"blockNumber": quantity, "blockHash": hash32,
                                            "requireCanonical": st.one_of(st.booleans(), numbers)}),
        hash32,
        st.none(),
    )
    boolean = st.one_of(st.booleans(), st.none(), numbers, st.text(max_size=5))
    gas = st.one_of(st.sampled_from(["0x0", "0x1", "0x5208", "0x16e3600", "0x2faf080", "0x2faf081", "0x77359400",
                                     "0xffffffffffffffff", "0x" + "f" * 64, "0x-1"]), quantity)
    fee = st.one_of(st.sampled_from(["0x0", "0x7", "0x3b9aca00", "0x" + "f" * 64, "0x" + "f" * 65]), quantity)
    access_list = st.one_of(
        st.lists(st.fixed_dictionaries({"address": address, "storageKeys": st.lists(hash32, max_size=4)}), max_size=4),
        st.integers(500, 2000).map(lambda n: [{"address": "0x" + "11" * 20, "storageKeys": ["0x" + "00" * 32] * 10}] * n),
        numbers, st.text(max_size=5),
    )
    call = st.fixed_dictionaries({}, optional={
        "from": address, "to": st.one_of(address, st.none()), "gas": gas, "gasPrice": fee, "maxFeePerGas": fee,
        "maxPriorityFeePerGas": fee, "value": st.one_of(fee, quantity), "data": data, "input": data,
        "nonce": quantity, "accessList": access_list, "type": st.one_of(quantity, st.sampled_from(["0x3", "0x4"])),
        "chainId": quantity, "blobVersionedHashes": st.lists(hash32, max_size=3),
        "authorizationList": st.lists(st.dictionaries(st.sampled_from(["chainId", "address", "nonce", "yParity", "r",
                                                                        "s"]), quantity), max_size=3),
    })
    looping_call = st.fixed_dictionaries({"data": st.sampled_from([LOOP, "0x5b600056"])}, optional={
        "to": st.one_of(st.none(), st.just("0x" + "00" * 19 + "de")), "gas": gas, "from": address})
    account_override = st.fixed_dictionaries({}, optional={
        "balance": quantity, "nonce": quantity, "code": data,
        "state": st.dictionaries(hash32.filter(lambda h: isinstance(h, str)), hash32, max_size=3),
        "stateDiff": st.dictionaries(hash32.filter(lambda h: isinstance(h, str)), hash32, max_size=3),
        "movePrecompileToAddress": address,
    })
    overrides = st.one_of(st.none(), st.dictionaries(address.filter(lambda a: isinstance(a, str)), account_override,
                                                     max_size=3), numbers)
    topic = st.one_of(hash32, st.none(), st.lists(st.one_of(hash32, st.none()), max_size=5))
    log_filter = st.fixed_dictionaries({}, optional={
        "fromBlock": block, "toBlock": block, "blockHash": hash32,
        "address": st.one_of(address, st.lists(address, max_size=5),
                             st.integers(5_000, 20_000).map(lambda n: ["0x" + "22" * 20] * n)),
        "topics": st.one_of(st.lists(topic, max_size=6), numbers, st.just([[["0x" + "00" * 32]]])),
    })
    filter_id = st.one_of(st.sampled_from(known.filter_ids), quantity, hex_of(16, 16), st.none())
    percentiles = st.one_of(
        st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-200, 200)), max_size=120),
        st.just(list(range(101))), st.just([50, 10]), numbers,
    )
    linea_number = st.one_of(quantity, st.integers(-(2**70), 2**70), st.sampled_from(["0", "9" * 30, "1" * 400]))
    any_json = _any_json(st)
    return {
        "address": address, "block": block, "quantity": quantity, "data": data, "hash": hash32, "bool": boolean,
        "call": st.one_of(call, call, looping_call), "overrides": overrides, "filter": log_filter,
        "filter_id": filter_id, "percentiles": percentiles,
        "linea_block": st.fixed_dictionaries({"blockNumber": linea_number}),
        "linea_range": st.fixed_dictionaries({"startBlockNumber": linea_number, "endBlockNumber": linea_number},
                                             optional={"extra": any_json}),
        "state_range": st.fixed_dictionaries({"startBlockNumber": linea_number, "endBlockNumber": linea_number,
                                              "zkStateManagerVersion": st.one_of(st.text(max_size=8),
                                                                                 st.just("test"), numbers)}),
        "fork_choice": st.fixed_dictionaries({"finalizedBlockNumber": linea_number, "finalizedBlockHash": hash32}),
        "trielog": st.fixed_dictionaries({"blockNumber": linea_number, "blockHash": hash32, "trieLog": data},
                                         optional={"syncing": boolean}),
        "slots": st.one_of(st.lists(st.one_of(hash32, quantity), max_size=8),
                           st.integers(1000, 1100).map(lambda n: ["0x01"] * n), numbers),
        "sub_kind": st.one_of(st.sampled_from(["newHeads", "logs", "newPendingTransactions", "syncing", "", "NEWHEADS"]),
                              st.text(max_size=10), numbers),
        "trace_config": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
            "tracer": st.one_of(st.sampled_from(["callTracer", "prestateTracer", "4byteTracer", "{}", ""]),
                                st.text(max_size=10), numbers),
            "tracerConfig": st.one_of(st.fixed_dictionaries({}, optional={"onlyTopCall": boolean, "withLog": boolean,
                                                                          "diffMode": boolean}), any_json),
            "disableStack": boolean, "disableStorage": boolean, "enableMemory": boolean, "enableReturnData": boolean,
            "limit": quantity, "timeout": st.one_of(st.sampled_from(["1s", "0s", "-1s", "1000h", "x"]), numbers),
            "stateOverrides": overrides})),
        "any": any_json,
    }


# -- systematic: every hostile leaf in every parameter slot and object field ------------------------
HOSTILE_LEAVES: list[Any] = [
    None, True, -1, 0, 1.5, 2**63, 2**64, 2**256, "", "0x", "0x-1", "-0x1", "0x 1", "0x" + "f" * 65,
    "0x" + "0" * 5000 + "1", "18446744073709551616", "9" * 400, "latest", "\u0000", "0xzz", [], {}, [[[[]]]],
    {"blockNumber": "0x1"}, ["0x" + "00" * 20] * 1000,
]


def _defaults(known: Known) -> dict[str, Any]:
    """A valid value of each parameter kind, to fill the slots a case does not attack."""
    return {
        "address": known.addresses[3] if len(known.addresses) > 3 else known.addresses[0],
        "block": "latest", "quantity": "0x0", "data": "0x", "hash": known.hashes[-1], "bool": False,
        "call": {"to": "0x" + "00" * 19 + "de", "value": "0x1"}, "overrides": {}, "filter": {"fromBlock": "earliest"},
        "filter_id": known.filter_ids[-1], "percentiles": [25, 75], "linea_block": {"blockNumber": "0x1"},
        "linea_range": {"startBlockNumber": "0x1", "endBlockNumber": "0x1"},
        "state_range": {"startBlockNumber": "0x1", "endBlockNumber": "0x1", "zkStateManagerVersion": "test"},
        "fork_choice": {"finalizedBlockNumber": "0x1", "finalizedBlockHash": known.hashes[-1]},
        "trielog": {"blockNumber": "0x1", "blockHash": known.hashes[-1], "trieLog": "0x", "syncing": False},
        "slots": ["0x0"], "sub_kind": "newHeads", "trace_config": {"tracer": "callTracer"},
    }


def systematic_cases(method: str, known: Known) -> list[list]:
    """Params for `method` with one slot, or one field of an object slot, set to each of HOSTILE_LEAVES."""
    shape = SHAPES.get(method, ())
    defaults = _defaults(known)
    base = [defaults[k] for k in shape]
    cases: list[list] = []
    for index, kind in enumerate(shape):
        for leaf in HOSTILE_LEAVES:
            cases.append(base[:index] + [leaf] + base[index + 1:])
        if isinstance(base[index], dict):
            fields = list(base[index]) + (["gas", "from", "data", "maxFeePerGas"] if kind == "call" else [])
            for field in fields:
                for leaf in HOSTILE_LEAVES:
                    cases.append(base[:index] + [{**base[index], field: leaf}] + base[index + 1:])
    if not shape:
        cases += [[leaf] for leaf in HOSTILE_LEAVES[:6]]
    return cases


def _any_json(st: Any) -> Any:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                       st.text(max_size=30), st.sampled_from(["0x", "0x-1", LOOP, "latest", "0x" + "f" * 100]))
    tree = st.recursive(leaves, lambda kids: st.one_of(st.lists(kids, max_size=5),
                                                       st.dictionaries(st.text(max_size=10), kids, max_size=5)),
                        max_leaves=25)
    deep = st.integers(min_value=50, max_value=900).map(_nested)  # json.dumps stops at ~1000 levels
    wide = st.integers(min_value=1_000, max_value=100_000).map(lambda n: [0] * n)
    return st.one_of(tree, tree, tree, deep, wide)


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def params_strategy(method: str, kinds: dict[str, Any]) -> Any:
    """Params for `method`: shaped with hostile leaves, shaped with one slot swapped, or anything at all."""
    from hypothesis import strategies as st

    shape = SHAPES.get(method, ())
    shaped = st.tuples(*(kinds[k] for k in shape)).map(list) if shape else st.just([])

    @st.composite
    def mutated(draw: Any) -> list:
        params = draw(shaped)
        choice = draw(st.integers(0, 3))
        if choice == 0 and params:
            params[draw(st.integers(0, len(params) - 1))] = draw(kinds["any"])
        elif choice == 1:
            params = params[: draw(st.integers(0, len(params)))]  # too few
        elif choice == 2:
            params = params + draw(st.lists(kinds["any"], min_size=1, max_size=3))  # too many
        return params

    not_a_list = st.one_of(st.none(), st.dictionaries(st.text(max_size=5), kinds["any"], max_size=3),
                           st.text(max_size=10), st.integers())
    return st.one_of(shaped, shaped, shaped, mutated(), st.lists(kinds["any"], max_size=6), not_a_list)


def request_body(method: str, params: Any, request_id: Any = 1) -> bytes:
    """The JSON-RPC request; NaN and Infinity go out as their (invalid JSON) literals on purpose."""
    payload: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not ...:
        payload["params"] = params
    return json.dumps(payload, allow_nan=True).encode("utf-8", errors="surrogatepass")


# -- hostile envelopes -----------------------------------------------------------------------------
# (name, body or None for a special transport case, what a correct answer is: "json" = a JSON-RPC
# answer, "empty" = nothing (notifications), "http" = any HTTP answer)
def envelopes() -> list[tuple[str, dict[str, Any]]]:
    block_number = {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []}
    mib = 1024 * 1024

    def batch(n: int, item: dict | None = None) -> bytes:
        item = item or block_number
        return json.dumps([dict(item, id=i) for i in range(n)]).encode()

    heavy = {"jsonrpc": "2.0", "method": "eth_getBlockByNumber", "params": ["latest", True]}
    new_filter = {"jsonrpc": "2.0", "method": "eth_newFilter", "params": [{"fromBlock": "earliest"}]}
    logs = {"jsonrpc": "2.0", "method": "eth_getLogs", "params": [{"fromBlock": "earliest", "toBlock": "latest"}]}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("batch of 1000 eth_blockNumber", {"body": batch(1000), "expect": "json"}),
        ("batch of 1001 (over the limit)", {"body": batch(1001), "expect": "json"}),
        ("batch of 1000 eth_getBlockByNumber(latest, true)", {"body": batch(1000, heavy), "expect": "json"}),
        ("batch of 1000 eth_getLogs over the whole chain", {"body": batch(1000, logs), "expect": "json"}),
        ("batch of 1000 notifications", {"body": json.dumps([block_number] * 1000).encode(), "expect": "empty"}),
        ("batch of 1000 empty objects", {"body": json.dumps([{}] * 1000).encode(), "expect": "json"}),
        ("batch of 1000 nested batches", {"body": json.dumps([[dict(block_number, id=1)]] * 1000).encode(),
                                          "expect": "json"}),
        ("empty batch", {"body": b"[]", "expect": "json"}),
        ("empty body", {"body": b"", "expect": "json"}),
        ("not JSON", {"body": b"hello, node", "expect": "json"}),
        ("truncated JSON", {"body": b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"', "expect": "json"}),
        ("NaN literal", {"body": b'{"jsonrpc":"2.0","id":NaN,"method":"eth_blockNumber"}', "expect": "json"}),
        ("invalid UTF-8", {"body": b'{"jsonrpc":"2.0","id":1,"method":"eth_\xff\xfe"}', "expect": "json"}),
        ("BOM before JSON", {"body": b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}',
                             "expect": "json"}),
        ("JSON 100,000 levels deep", {"body": b"[" * 100_000 + b"]" * 100_000, "expect": "json"}),
        ("5 MB body (a string param)", {"body": request_body("eth_getBalance", ["0x" + "0" * (5 * mib), "latest"]),
                                        "expect": "json"}),
        ("5 MB body of zeros", {"body": b"0" * (5 * mib), "expect": "json"}),
        ("6 MB body (over the limit)", {"body": b" " * (6 * mib), "expect": "json"}),
        ("6 MB body, chunked (no Content-Length)", {"body": b" " * (6 * mib), "chunked": True, "expect": "json"}),
        ("id is an object", {"body": request_body("eth_blockNumber", [], {"a": 1}), "expect": "json"}),
        ("id is an array", {"body": request_body("eth_blockNumber", [], [1, 2]), "expect": "json"}),
        ("id is a boolean", {"body": request_body("eth_blockNumber", [], True), "expect": "json"}),
        ("id is 1e400", {"body": b'{"jsonrpc":"2.0","id":1e400,"method":"eth_blockNumber"}', "expect": "json"}),
        ("id is 2**70", {"body": request_body("eth_blockNumber", [], 2**70), "expect": "json"}),
        ("id is a 100 KB string", {"body": request_body("eth_blockNumber", [], "x" * 100_000), "expect": "json"}),
        ("jsonrpc missing", {"body": b'{"id":1,"method":"eth_blockNumber"}', "expect": "json"}),
        ("jsonrpc 1.0", {"body": b'{"jsonrpc":"1.0","id":1,"method":"eth_blockNumber"}', "expect": "json"}),
        ("method is a number", {"body": b'{"jsonrpc":"2.0","id":1,"method":5}', "expect": "json"}),
        ("method is 100 KB", {"body": request_body("x" * 100_000, []), "expect": "json"}),
        ("method unknown", {"body": request_body("eth_doesNotExist", []), "expect": "json"}),
        ("method __init__", {"body": request_body("__init__", []), "expect": "json"}),
        ("params is an object", {"body": request_body("eth_getBalance", {"address": "0x" + "00" * 20}),
                                 "expect": "json"}),
        ("params is a string", {"body": request_body("eth_blockNumber", "latest"), "expect": "json"}),
        ("duplicate keys", {"body": b'{"jsonrpc":"2.0","id":1,"id":2,"method":"eth_blockNumber",'
                                    b'"method":"eth_chainId"}', "expect": "json"}),
        ("a JSON string", {"body": b'"eth_blockNumber"', "expect": "json"}),
        ("a JSON number", {"body": b"123", "expect": "json"}),
        ("JSON null", {"body": b"null", "expect": "json"}),
        ("gzip header on plain JSON", {"body": request_body("eth_blockNumber", []),
                                       "headers": {"Content-Encoding": "gzip"}, "expect": "http"}),
        ("text/plain content type", {"body": request_body("eth_blockNumber", []),
                                     "headers": {"Content-Type": "text/plain"}, "expect": "json"}),
        ("GET /", {"verb": "GET", "body": b"", "expect": "http"}),
        ("PUT /", {"verb": "PUT", "body": request_body("eth_blockNumber", []), "expect": "http"}),
        ("POST /nowhere", {"path": "/nowhere", "body": request_body("eth_blockNumber", []), "expect": "http"}),
        ("Content-Length larger than the body, then close", {"partial": True, "expect": "http"}),
        ("random 64 KiB", {"body": os.urandom(65_536), "expect": "json"}),
        ("3 batches of 1000 eth_newFilter (past the filter limit)", {"body": batch(1000, new_filter), "repeat": 3,
                                                                      "expect": "json"}),
        ("300 idle connections held open 2 s", {"idle_connections": 300, "expect": "http"}),
        ("50 connections each sending 1 byte a second (slowloris)", {"slowloris": 50, "expect": "http"}),
    ]
    return cases


WS_RAW = [  # raw WebSocket frames (text unless bytes), each should get a JSON-RPC answer or a close
    ("not JSON", "hello"),
    ("binary garbage", os.urandom(512)),
    ("batch of 1000 eth_subscribe newHeads",
     json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_subscribe", "params": ["newHeads"]} for i in range(1000)])),
    ("eth_subscribe over the filter limit (200 at once)",
     json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_subscribe", "params": ["logs", {}]} for i in range(200)])),
    ("6 MB text frame", " " * (6 * 1024 * 1024)),
    ("11 MB text frame (over twice the limit)", " " * (11 * 1024 * 1024)),
]
