"""Hostile and malformed input against a real node: each gets an EIP-1474 error and the node lives on."""

import json
import os

import pytest
import rlp
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linen.devaccounts import dev_accounts
from linen.execution.transactions import SECP256K1_N
from tests.helpers import NodeProcess, rpc, rpc_raw

pytestmark = pytest.mark.slow
CHAIN_ID = 59139
KEY = dev_accounts()[4].private_key
TO = "0x000000000000000000000000000000000000dEaD"


def sign(**fields):
    tx = {"chainId": CHAIN_ID, "nonce": 0, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21000,
          "to": TO, "value": 1}
    tx.update(fields)
    return "0x" + bytes(Account.sign_transaction(tx, KEY).raw_transaction).hex()


def high_s(raw_hex: str) -> str:
    raw = bytes.fromhex(raw_hex[2:])
    fields = rlp.decode(raw[1:])
    y, s = int.from_bytes(fields[9], "big"), int.from_bytes(fields[11], "big")
    fields[9] = b"" if y else b"\x01"
    fields[11] = (SECP256K1_N - s).to_bytes(32, "big")
    return "0x" + (raw[:1] + rlp.encode(fields)).hex()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    proc = NodeProcess(tmp_path_factory.mktemp("bad") / "node", block_period=0.2).start()
    yield proc
    proc.stop()


def send(node, raw):
    return rpc(node.url, "eth_sendRawTransaction", [raw])


CASES = [
    ("malformed hex", lambda: "0xzz12", -32602, "hex"),
    ("odd-length hex", lambda: "0x123", -32602, "odd"),
    ("malformed rlp", lambda: "0xf8ff0102", -32003, "rlp"),
    ("typed envelope garbage", lambda: "0x02c0", -32003, "rlp"),
    ("wrong chain id", lambda: sign(chainId=1), -32003, "chain id"),
    ("high-s signature", lambda: high_s(sign()), -32003, "high-s"),
    ("intrinsic gas too low", lambda: sign(gas=20000), -32003, "intrinsic gas too low"),
    ("gas above block limit", lambda: sign(gas=3_000_000_000), -32003, "exceeds block gas limit"),
    ("oversized transaction", lambda: sign(data=b"\x01" * (130 * 1024), gas=1_999_000_000), -32003, "oversized"),
    ("nonce gap beyond the pool limit", lambda: sign(nonce=1000), -32003, "nonce too high"),
    ("insufficient funds", lambda: sign(value=10**30), -32003, "insufficient funds"),
    ("blob transaction type", lambda: "0x03c0", -32003, "not supported"),
]


@pytest.mark.parametrize("name, make, code, words", CASES, ids=[c[0] for c in CASES])
def test_bad_transaction_is_refused_with_an_actionable_error(live, name, make, code, words):
    response = send(live, make())
    assert "error" in response, response
    assert response["error"]["code"] == code
    assert words in response["error"]["message"].lower()
    assert rpc(live.url, "eth_chainId")["result"] == hex(CHAIN_ID)


def test_nonce_too_low_after_inclusion(live):
    key = dev_accounts()[6].private_key
    first = "0x" + bytes(Account.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": 0, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21000,
         "to": TO, "value": 1}, key).raw_transaction).hex()
    tx_hash = send(live, first)["result"]
    live.wait_receipt(tx_hash)
    again = "0x" + bytes(Account.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": 0, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 2 * 10**6, "gas": 21000,
         "to": TO, "value": 2}, key).raw_transaction).hex()
    response = send(live, again)
    assert response["error"]["code"] == -32003 and "nonce too low" in response["error"]["message"]


def test_unknown_block_tag_and_method(live):
    response = rpc(live.url, "eth_getBalance", [TO, "lately"])
    assert response["error"]["code"] == -32602 and "lately" in response["error"]["message"]
    response = rpc(live.url, "eth_getBlockByNumber", ["newest", False])
    assert response["error"]["code"] == -32602
    response = rpc(live.url, "eth_doesNotExist", [])
    assert response["error"]["code"] == -32601


def test_oversized_batch_and_body(live):
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1001)]
    response = rpc_raw(live.url, json.dumps(batch).encode())
    error = response["error"] if isinstance(response, dict) else response[0]["error"]
    assert error["code"] == -32005
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": ["x" * (6 * 1024 * 1024)]})
    response = rpc_raw(live.url, huge.encode())
    assert response["error"]["code"] == -32005
    assert rpc(live.url, "eth_chainId")["result"] == hex(CHAIN_ID)


def test_parse_error_and_invalid_request(live):
    assert rpc_raw(live.url, b"{not json")["error"]["code"] == -32700
    assert rpc_raw(live.url, b'{"jsonrpc":"2.0","id":1}')["error"]["code"] == -32600
    assert rpc_raw(live.url, b"[]")["error"]["code"] == -32600


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(min_size=0, max_size=300))
def test_random_bytes_to_send_raw_transaction(live, payload):
    response = send(live, "0x" + payload.hex())
    assert "error" in response or "result" in response
    if "error" in response:
        assert response["error"]["code"] in (-32602, -32003)
        assert response["error"]["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
METHODS = ["eth_getBalance", "eth_call", "eth_getLogs", "eth_getBlockByNumber", "eth_sendRawTransaction",
           "eth_feeHistory", "eth_estimateGas", "eth_getTransactionReceipt", "eth_newFilter", "eth_getStorageAt"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(METHODS) | st.text(max_size=12), params=json_values, request_id=json_values)
def test_random_json_gets_a_json_rpc_answer(live, method, params, request_id):
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
    response = rpc_raw(live.url, body)
    assert response is None or isinstance(response, dict | list)
    if isinstance(response, dict):
        assert "result" in response or ("error" in response and isinstance(response["error"]["code"], int))
        if "error" in response:
            assert response["error"]["code"] != -32603, response  # no internal errors from bad input
    assert rpc(live.url, "eth_chainId")["result"] == hex(CHAIN_ID)


def test_node_survived_everything(live):
    assert live.proc.poll() is None
    assert os.path.exists(live.data_dir)
