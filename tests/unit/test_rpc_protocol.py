"""The JSON-RPC envelope over real HTTP: parse errors, invalid requests, batches, limits, notifications.

Also a property test: whatever JSON (or bytes) a client sends, the server answers well-formed
JSON-RPC and keeps serving.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_rpc_support import LocalBackend, ServerThread, standard_chain

from linen.rpc.backend import RpcLimits
from linen.rpc.dispatch import Dispatcher
from linen.rpc.filters import FilterManager
from linen.rpc.methods import build_registry

LIMITS = RpcLimits(max_batch_size=5, max_request_bytes=64 * 1024, max_logs_block_range=100, max_filters=50)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    chain, _ = standard_chain(tmp_path_factory.mktemp("protocol") / "db")
    server = ServerThread(LocalBackend(chain, limits=LIMITS))
    yield server
    server.close()


def req(method, params=None, id_=1):
    out = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        out["params"] = params
    return out


def test_single_request(node):
    assert node.request("eth_chainId") == {"jsonrpc": "2.0", "id": 1, "result": "0x539"}
    assert node.call("net_version") == "1337"
    assert node.call("web3_clientVersion") == "linen/test"
    assert node.call("web3_sha3", "0x") == "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert node.call("net_listening") is True
    assert node.call("eth_syncing") is False
    assert node.call("eth_accounts") == []
    assert node.call("eth_mining") is True
    assert node.call("eth_hashrate") == "0x0"


def test_parse_error(node):
    response = node.post(None, raw=b'{"jsonrpc": "2.0", "method": ')
    body = response.json()
    assert body["id"] is None and body["error"]["code"] == -32700
    assert node.post(None, raw=b"\xff\xfe").json()["error"]["code"] == -32700


@pytest.mark.parametrize(
    "payload",
    [
        1,
        "eth_chainId",
        None,
        {"jsonrpc": "1.0", "method": "eth_chainId", "id": 1},
        {"method": "eth_chainId", "id": 1},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": 7, "id": 1},
        {"jsonrpc": "2.0", "method": ["eth_chainId"], "id": 1},  # unhashable: once a TypeError (-32603)
        {"jsonrpc": "2.0", "method": {"a": 1}, "id": 1},
        {"jsonrpc": "2.0", "method": "", "id": 1},
        {"jsonrpc": "2.0", "method": "eth_chainId", "id": [1]},
        {"jsonrpc": "2.0", "method": "eth_chainId", "id": True},
        {"jsonrpc": "2.0", "method": "eth_chainId", "id": 1, "params": "0x1"},
    ],
)
def test_invalid_request(node, payload):
    body = node.post(payload).json()
    assert body["error"]["code"] == -32600, body
    assert set(body) == {"jsonrpc", "id", "error"}


def test_object_params_are_refused(node):
    assert node.post(req("eth_getBalance", {"address": "0x00"})).json()["error"]["code"] == -32602


def test_unknown_method(node):
    error = node.error("eth_foo")
    assert (error.code, error.message) == (-32601, "the method eth_foo does not exist/is not available")


def test_subscribe_over_http_is_refused_clearly(node):
    error = node.error("eth_subscribe", "newHeads")
    assert error.code == -32601 and "notifications not supported over HTTP" in error.message


def test_wrong_arity(node):
    assert node.error("eth_getBalance").message == "missing value for required argument 0"
    assert node.error("eth_chainId", 1).message == "too many arguments, want at most 0"
    assert node.error("eth_getBalance", "0x" + "00" * 20, "latest", 3).code == -32602


def test_batch(node):
    batch = [req("eth_chainId", id_=1), req("eth_nope", id_=2), {"jsonrpc": "2.0", "method": "eth_chainId"}, 5]
    body = node.post(batch).json()
    assert isinstance(body, list) and len(body) == 3  # the notification gets no answer
    by_id = {item["id"]: item for item in body}
    assert by_id[1]["result"] == "0x539"
    assert by_id[2]["error"]["code"] == -32601
    assert by_id[None]["error"]["code"] == -32600


def test_empty_batch(node):
    body = node.post([]).json()
    assert isinstance(body, dict) and body["error"]["code"] == -32600 and body["id"] is None


def test_batch_over_limit(node):
    body = node.post([req("eth_chainId", id_=i) for i in range(LIMITS.max_batch_size + 1)]).json()
    assert isinstance(body, dict) and body["error"]["code"] == -32005
    assert "exceeds the limit of 5" in body["error"]["message"]
    assert len(node.post([req("eth_chainId", id_=i) for i in range(LIMITS.max_batch_size)]).json()) == 5


def test_body_over_limit(node):
    big = json.dumps(req("web3_sha3", ["0x" + "00" * LIMITS.max_request_bytes])).encode()
    response = node.post(None, raw=big)
    assert response.json()["error"]["code"] == -32005
    assert "exceeds the limit" in response.json()["error"]["message"]
    assert node.call("eth_chainId") == "0x539"  # and the server is still fine


def test_notifications_get_no_answer(node):
    response = node.post({"jsonrpc": "2.0", "method": "eth_chainId"})
    assert response.status_code == 200 and response.content == b""
    assert node.post({"jsonrpc": "2.0", "method": "no_such_method", "params": []}).content == b""
    assert node.post([{"jsonrpc": "2.0", "method": "eth_chainId"}]).content == b""


def test_id_is_echoed(node):
    for id_ in ("abc", 0, -5, 1.5, None):
        assert node.post(req("eth_chainId", id_=id_)).json()["id"] == id_


def test_health_info_and_cors(node):
    assert node.session.get(node.url + "/health", timeout=5).json() == {"status": "ok"}
    assert node.session.get(node.url, timeout=5).status_code == 200
    preflight = node.session.options(node.url, timeout=5)
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert node.post(req("eth_chainId")).headers["Access-Control-Allow-Origin"] == "*"


def test_internal_errors_are_answered_and_logged(tmp_path, caplog):
    """A handler bug becomes -32603 "internal error" with a logged traceback, not a crash."""
    chain, _ = standard_chain(tmp_path / "db")
    backend = LocalBackend(chain)
    registry = build_registry(FilterManager(backend))

    def broken(backend, params):
        raise KeyError("boom")

    registry["debug_broken"] = broken
    registry["debug_unserializable"] = lambda backend, params: object()
    dispatcher = Dispatcher(backend, registry)
    reply = json.loads(asyncio.run(dispatcher.handle(json.dumps(req("debug_broken")).encode())))
    assert reply["error"] == {"code": -32603, "message": "internal error"}
    assert "boom" in caplog.text
    batch = [req("debug_unserializable", id_=1), req("eth_chainId", id_=2)]
    reply = json.loads(asyncio.run(dispatcher.handle(json.dumps(batch).encode())))
    assert reply[0]["error"]["code"] == -32603 and reply[1]["result"] == "0x539"
    chain.kv.close()


# -- property: any JSON in, well-formed JSON-RPC out ---------------------------------------------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["latest", "pending", "0x", "0x0", "0x1", "0xzz", "0x" + "ab" * 20, "0x" + "cd" * 32]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
METHOD_NAMES = sorted(build_registry(FilterManager(None)).keys()) + ["eth_subscribe", "nope"]  # type: ignore[arg-type]
requests_like = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "method": st.sampled_from(METHOD_NAMES)},
    optional={
        "id": st.integers(0, 1000) | st.text(max_size=5) | st.none(),
        "params": st.lists(json_values, max_size=4),
    },
)


def _well_formed(item):
    assert isinstance(item, dict) and item.get("jsonrpc") == "2.0" and "id" in item
    assert ("result" in item) != ("error" in item)
    if "error" in item:
        assert isinstance(item["error"]["code"], int) and isinstance(item["error"]["message"], str)
        assert item["error"]["code"] != -32603, item  # hostile input must never look like a node fault


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=json_values | requests_like | st.lists(requests_like | json_values, min_size=1, max_size=4))
def test_any_json_gets_a_well_formed_answer(node, payload):
    response = node.post(None, raw=json.dumps(payload).encode())
    assert response.status_code == 200
    if response.content:
        body = response.json()
        for item in body if isinstance(body, list) else [body]:
            _well_formed(item)
    assert node.call("eth_chainId") == "0x539"


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_a_well_formed_answer(node, raw):
    response = node.post(None, raw=raw)
    assert response.status_code == 200
    if response.content:
        body = response.json()
        for item in body if isinstance(body, list) else [body]:
            _well_formed(item)
