import pytest
import rlp
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from linen.errors import InvalidTransaction
from linen.execution.transactions import SECP256K1_N, decode_transaction

KEY = "0x" + "11" * 32
CHAIN = 59139


def signed(**fields):
    tx = {"chainId": CHAIN, "nonce": 0, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1, "gas": 21000,
          "to": "0x" + "22" * 20, "value": 1}
    tx.update(fields)
    if "gasPrice" in tx:
        del tx["maxFeePerGas"], tx["maxPriorityFeePerGas"]
    return bytes(Account.sign_transaction(tx, KEY).raw_transaction)


def test_all_supported_types_decode_with_sender():
    address = Account.from_key(KEY).address.lower()
    legacy = signed(gasPrice=10**9)
    access_list = signed(gasPrice=10**9, accessList=[], type=1)
    for raw, kind in [(signed(), 2), (legacy, 0), (access_list, 1)]:
        ptx = decode_transaction(raw, CHAIN)
        assert ptx.type == kind and "0x" + ptx.sender.hex() == address and ptx.nonce == 0


def test_unprotected_legacy_and_high_s_are_refused():
    raw = bytes(Account.sign_transaction(
        {"nonce": 0, "gasPrice": 10**9, "gas": 21000, "to": "0x" + "22" * 20, "value": 1}, KEY).raw_transaction)
    with pytest.raises(InvalidTransaction, match="replay-protected"):
        decode_transaction(raw, CHAIN)
    raw = signed()
    fields = rlp.decode(raw[1:])
    fields[9] = b"" if fields[9] else b"\x01"
    fields[11] = (SECP256K1_N - int.from_bytes(fields[11], "big")).to_bytes(32, "big")
    with pytest.raises(InvalidTransaction, match="high-s"):
        decode_transaction(raw[:1] + rlp.encode(fields), CHAIN)


def test_tip_above_fee_cap_is_refused():
    with pytest.raises(InvalidTransaction, match="priority fee"):
        decode_transaction(signed(maxFeePerGas=10, maxPriorityFeePerGas=11), CHAIN)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_invalid_transaction(payload):
    try:
        decode_transaction(payload, CHAIN)
    except InvalidTransaction as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=4), st.lists(st.binary(max_size=40), max_size=14))
def test_random_rlp_lists_in_typed_envelopes_only_raise_invalid_transaction(kind, items):
    payload = (bytes([kind]) if kind else b"") + rlp.encode(items)
    try:
        decode_transaction(payload, CHAIN)
    except InvalidTransaction as exc:
        assert str(exc)
