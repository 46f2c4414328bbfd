"""`[sequencer] provable = "transfers"`: a zk chain takes only what the circuits prove, with the reason.

The rule itself (linen/protocol/provable.py) is checked on decoded transactions; the sequencer's use
of it on a real in-process node, at submission and at selection (a transaction that reached the pool
by another way is excluded for good, never sealed).
"""

from __future__ import annotations

import pytest
from eth_account import Account

from linen.errors import ConfigError, TransactionRefused
from linen.execution.transactions import decode_transaction
from linen.protocol.provable import TX_NOT_PROVABLE, why_not_provable_fields, why_not_provable_recipient
from tests.unit.chainkit import CHAIN_ID, make_node, signers

CREATE2_FACTORY = bytes.fromhex("4e59b44847b379578588920ca78fbf26c0b4956c")  # a genesis account with code
GWEI = 10**9


@pytest.fixture
def accounts():
    return signers()


def legacy(signer, **fields) -> bytes:  # type: ignore[no-untyped-def]
    tx = {"nonce": signer.nonce, "gasPrice": GWEI, "gas": 21_000, "value": 1, "data": b"", **fields}
    signer.nonce += 1
    return bytes(Account.sign_transaction(tx, signer.key).raw_transaction)


def type1(signer, **fields) -> bytes:  # type: ignore[no-untyped-def]
    tx = {"type": 1, "chainId": CHAIN_ID, "nonce": signer.nonce, "gasPrice": GWEI, "gas": 21_000, "value": 1,
          "data": b"", "accessList": [], **fields}
    signer.nonce += 1
    return bytes(Account.sign_transaction(tx, signer.key).raw_transaction)


def test_the_fields_rule_names_what_is_outside_the_class(accounts):
    a, b = accounts[0], accounts[1]
    decode = lambda raw: decode_transaction(raw, CHAIN_ID, allow_unprotected=True)  # noqa: E731
    fine = [a.sign(to=b.raw_address, value=5), legacy(a, to=b.raw_address, chainId=CHAIN_ID),
            type1(a, to=b.raw_address)]
    for raw in fine:
        assert why_not_provable_fields(decode(raw), CHAIN_ID) is None
    cases = {
        "a contract creation": a.sign(to=None, data=b"\x60\x00", gas=60_000),
        "calldata": a.sign(to=b.raw_address, data=b"\x01", gas=30_000),
        "a non-empty access list": a.sign(to=b.raw_address, gas=30_000,
                                          accessList=[{"address": "0x" + "22" * 20, "storageKeys": []}]),
        "without EIP-155": legacy(a, to=b.raw_address),
        "a value of 128 bits": a.sign(to=b.raw_address, value=2**128),
        "64 bits or more": a.sign(to=b.raw_address, gas=2**64),
        "its own sender": a.sign(to=a.raw_address),
        "precompiles": a.sign(to=b"\x00" * 19 + b"\x01"),
    }
    for expected, raw in cases.items():
        reason = why_not_provable_fields(decode(raw), CHAIN_ID)
        assert reason is not None and expected in reason, (expected, reason)
    plain = decode(a.sign(to=b.raw_address))
    assert why_not_provable_recipient(plain, b"\x33" * 20, b"") is None
    assert "coinbase" in why_not_provable_recipient(plain, plain.sender, b"")
    assert "coinbase" in why_not_provable_recipient(plain, b.raw_address, b"")
    assert "code" in why_not_provable_recipient(plain, b"\x33" * 20, b"\xef\x01\x00" + b"\x44" * 20)


def test_a_transfers_only_node_refuses_at_submission_and_seals_plain_transfers(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__provable="transfers")
    a, b = accounts[0], accounts[1]
    coinbase = node.producer.fee_recipient
    refused = {
        "contract creation": a.sign(to=None, data=b"\x60\x00", gas=60_000),
        "calldata": a.sign(to=b.raw_address, data=b"\x01", gas=30_000),
        "precompile": a.sign(to=b"\x00" * 19 + b"\x04"),
        "coinbase": a.sign(to=coinbase),
        "code": a.sign(to=CREATE2_FACTORY),
    }
    for expected, raw in refused.items():
        a.nonce -= 1  # a refused transaction does not use its nonce
        with pytest.raises(TransactionRefused) as info:
            node.submit_raw_transaction(raw)
        assert info.value.reason == TX_NOT_PROVABLE and expected in str(info.value), (expected, str(info.value))
        assert "sequencer.provable" in str(info.value)

    sent = [node.submit_raw_transaction(a.sign(to=b.raw_address, value=7)),
            node.submit_raw_transaction(legacy(accounts[2], to=b.raw_address, chainId=CHAIN_ID)),
            node.submit_raw_transaction(accounts[3].sign(to=b"\x55" * 20, value=1))]  # a new account
    block = node.producer.produce_block()
    assert sorted(t.hash for t in block.transactions) == sorted(sent)
    assert [r.gas_used for r in block.receipts] == [21_000] * 3


def test_selection_excludes_what_reached_the_pool_another_way(tmp_path, accounts):
    node = make_node(tmp_path / "n", sequencer__provable="transfers")
    a, b = accounts[0], accounts[1]
    to_contract = decode_transaction(a.sign(to=CREATE2_FACTORY), CHAIN_ID)
    node.pool.add(to_contract)  # as if it had been admitted before the rule was switched on
    transfer = node.submit_raw_transaction(b.sign(to=a.raw_address))
    block = node.producer.produce_block()
    assert [t.hash for t in block.transactions] == [transfer]
    excluded = node.exclusions.get(to_contract.hash)
    assert excluded is not None and excluded.reason == TX_NOT_PROVABLE
    assert node.pool.get(to_contract.hash) is None


def test_provable_setting_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="sequencer.provable"):
        make_node(tmp_path / "n", sequencer__provable="some")
