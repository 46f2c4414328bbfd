"""The attack benchmark's building blocks, without a node: answer classification, the bad-transaction table."""

from __future__ import annotations

import json
import os

import pytest

from linen.benchmarks import hostile, hostile_rpc
from linen.benchmarks.hostile_auth_attacks import forged_headers
from linen.benchmarks.hostile_fuzz import EXECUTING, SHAPES, envelopes, fuzz_order, method_names
from linen.benchmarks.hostile_txs import CASES, Ctx, Key
from linen.devaccounts import dev_accounts
from linen.errors import InvalidTransaction
from linen.execution.transactions import decode_transaction

CHAIN_ID = 59139


@pytest.mark.parametrize(("body", "outcome"), [
    (b'{"jsonrpc":"2.0","id":1,"result":"0x1"}', hostile_rpc.HANDLED),
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}', hostile_rpc.HANDLED),
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32003,"message":"nonce too low"}}', hostile_rpc.HANDLED),
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted"}}', hostile_rpc.HANDLED),
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"internal error"}}', hostile_rpc.INTERNAL),
    (b'{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"?"}}', hostile_rpc.OTHER),
    (b'[{"id":1,"result":1},{"id":2,"error":{"code":-32603,"message":"x"}}]', hostile_rpc.INTERNAL),
    (b'[{"id":1,"result":1},{"id":2,"error":{"code":-32601,"message":"x"}}]', hostile_rpc.HANDLED),
    (b"", hostile_rpc.NO_ANSWER),
    (b"<html>", hostile_rpc.MALFORMED),
    (b'{"jsonrpc":"2.0","id":1}', hostile_rpc.MALFORMED),
])
def test_classify(body, outcome):
    assert hostile_rpc.classify(body)[0] == outcome


def test_notifications_may_get_no_answer():
    assert hostile_rpc.classify(b"", expect_answer=False)[0] == hostile_rpc.HANDLED


def _ctx() -> Ctx:
    accounts = dev_accounts()
    key = Key.from_hex(accounts[8].private_key)
    return Ctx(CHAIN_ID, key, key, key, Key(os.urandom(32)), lambda raw: {"result": "0x" + "11" * 32},
               lambda address: 3, lambda tx_hash, timeout: None)


def test_every_bad_transaction_builds_and_names_are_unique():
    assert len(CASES) >= 68
    assert len({name for name, _, _ in CASES}) == len(CASES)
    ctx = _ctx()
    for name, expect, build in CASES:
        assert expect in ("refuse", "accept", "any"), name
        json.dumps(build(ctx))  # a JSON-ready eth_sendRawTransaction parameter


def test_well_formed_cases_decode_and_malformed_ones_do_not():
    """The cases meant to pass stateless checks do; a sample of the stateless refusals fail them."""
    ctx = _ctx()
    built = {name: build(ctx) for name, _, build in CASES}
    for name in ("replacement with a 10% bump", "access list of 300 addresses x 4 keys", "900 authorizations",
                 "initcode of 49,152 bytes (the EIP-3860 limit)", "creation whose initcode loops, gas 24M"):
        decode_transaction(bytes.fromhex(built[name][2:]), CHAIN_ID)
    for name in ("high-s signature", "r = 0", "wrong chain id (1)", "trailing byte after a valid tx",
                 "blob tx (type 3)", "gas below intrinsic (20,999)", "initcode of 49,153 bytes (over EIP-3860)"):
        with pytest.raises(InvalidTransaction):
            decode_transaction(bytes.fromhex(built[name][2:]), CHAIN_ID)


def test_method_list_comes_from_the_registry():
    names = method_names()
    for name in ("eth_call", "eth_estimateGas", "eth_getLogs", "eth_newFilter", "linea_estimateGas",
                 "rollup_getZkEVMStateMerkleProofV0", "shomei_getTrieLogsByRange"):
        assert name in names
    order = fuzz_order(names)
    assert sorted(order) == names
    assert all(order.index(e) > order.index("eth_getBalance") for e in EXECUTING if e in names)
    missing = [n for n in names if n not in SHAPES and n not in ("eth_blockNumber", "eth_chainId")]
    assert len(missing) < len(names)  # most methods have a shape; the rest get arbitrary params


def test_envelopes_are_named_once():
    names = [name for name, _ in envelopes()]
    assert len(names) == len(set(names)) and len(names) >= 30


def test_strict_fails_on_crashes_lost_receipts_and_internal_errors_only():
    summary = {"crashes": 0, "lost_receipts": 0, "internal_errors": 0, "timeouts": 3}
    assert hostile.strict_failures({"summary": summary}) == []
    bad = dict(summary, crashes=1, internal_errors=2)
    assert hostile.strict_failures({"summary": bad}) == ["1 crash(es)", "2 internal error(s)"]
    assert hostile.strict_failures({"summary": summary, "error": "x"}) == ["the node did not start"]


def test_forged_tokens_all_differ_from_the_valid_one():
    good = {"Authorization": "Bearer aGVhZA.cGF5bG9hZA.c2lnbmF0dXJl"}
    forged = forged_headers(good)
    assert len(forged) == 7
    assert all(header != good for header in forged.values())
