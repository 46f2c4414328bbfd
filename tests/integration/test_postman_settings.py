"""The postman's pure parts: the claim decision, its settings, and its store (no chain needed)."""

from __future__ import annotations

import pytest

from linen.bridge.logs import SentMessage
from linen.devaccounts import dev_account
from linen.errors import ConfigError
from linen.postman.claiming import decide
from linen.postman.settings import load_postman_settings
from linen.postman.store import CLAIMED_SUCCESS, L1_TO_L2, PENDING, SENT, PostmanStore

KEY = dev_account(9).private_key
REQUIRED = {
    "l1-rpc": "http://127.0.0.1:1",
    "l2-rpc": "http://127.0.0.1:2",
    "rollup": "0x" + "11" * 20,
    "l2-message-service": "0x" + "22" * 20,
    "l1-key": KEY,
    "l2-key": KEY,
}
LIMITS = dict(margin=0.5, max_sponsored_gas=100_000, max_claim_gas=1_000_000)


@pytest.mark.parametrize(("fee", "gas", "sponsored", "expected"), [
    (3000, 1000, False, None),  # 1000 gas x 2 wei x 1.5 = 3000: exactly enough
    (2999, 1000, False, "FEE_UNDERPRICED"),
    (0, 1000, False, "ZERO_FEE"),
    (0, 1000, True, None),
    (0, 100_001, True, "ZERO_FEE"),  # sponsoring stops at its gas allowance
    (10**18, 1_000_001, True, "NON_EXECUTABLE"),
])
def test_claim_decision(fee, gas, sponsored, expected):
    status, reason = decide(fee, gas, 2, sponsored=sponsored, **LIMITS)
    assert status == expected and reason


def test_settings_from_file_environment_and_flags(tmp_path, monkeypatch):
    config = tmp_path / "postman.toml"
    sponsored_hash = "0x" + "ab" * 32
    config.write_text("[postman]\n" + "".join(f'{k} = "{v}"\n' for k, v in REQUIRED.items())
                      + f'profit-margin = 0.3\nsponsored-messages = "{sponsored_hash}"\nmax-fee-per-gas-cap = 5\n')
    monkeypatch.setenv("LINEN_POSTMAN_L2_CONFIRMATIONS", "4")
    settings = load_postman_settings(config, {"rpc-port": 9999, "profit-margin": None})
    assert (settings.profit_margin, settings.l2_confirmations, settings.rpc_port) == (0.3, 4, 9999)
    assert settings.replacement.max_fee_per_gas_cap == 5
    assert settings.sponsoring.covers("L2_TO_L1", bytes.fromhex("ab" * 32), "0x" + "01" * 20, "0x" + "02" * 20)
    assert not settings.sponsoring.covers("L2_TO_L1", bytes(32), "0x" + "01" * 20, "0x" + "02" * 20)
    assert settings.l1_address == settings.l2_address == dev_account(9).address


@pytest.mark.parametrize(("overrides", "message"), [
    ({"l2-key": ""}, "the postman needs postman.l2-key"),
    ({"rollup": "0x1234"}, "postman.rollup"),
    ({"l1-key": "0x12"}, "postman.l1-key is not a private key"),
    ({"sponsored-messages": "0x12"}, "not a 32-byte hex message hash"),
    ({"sponsored-addresses": "nobody"}, "postman.sponsored-addresses"),
    ({"profit-margin": -0.1}, "must not be negative"),
    ({"max-blocks-to-fetch-logs": 0}, "must be positive"),
    ({"bump-percent": 0}, "10..1000"),
    ({"bump-percent": 9}, "10..1000"),
    ({"no-such-key": 1}, "unknown postman setting"),
])
def test_bad_settings_are_refused_with_the_reason(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_postman_settings(None, {**REQUIRED, **overrides})


def _message(n: int) -> SentMessage:
    return SentMessage(bytes([n]) * 32, "0x" + "01" * 20, "0x" + "02" * 20, 10**20 + n, 2**200, n, b"\x01\x02",
                       100 + n, n, "0x" + "cd" * 32)


def test_store_records_messages_once_and_keeps_claims_across_reopening(tmp_path):
    store = PostmanStore(tmp_path / "postman.sqlite")
    store.add_sent(L1_TO_L2, [_message(1), _message(2)], "l1", 50)
    store.set_status(L1_TO_L2, bytes([1]) * 32, CLAIMED_SUCCESS, "done", claim_tx="0x" + "ee" * 32)
    store.add_sent(L1_TO_L2, [_message(1), _message(3)], "l1", 80)  # a re-read log changes nothing
    store.mark_pending(L1_TO_L2, bytes([3]) * 32, 7, 90_000, "0x" + "ff" * 32)
    store.close()
    store = PostmanStore(tmp_path / "postman.sqlite")
    assert store.cursor("l1", 0) == 80 and store.cursor("l2", 5) == 5
    first = store.get(L1_TO_L2, bytes([1]) * 32)
    assert (first.status, first.claim_tx, first.value) == (CLAIMED_SUCCESS, "0x" + "ee" * 32, 2**200)
    assert [r.nonce for r in store.with_status(L1_TO_L2, SENT)] == [2]
    (pending,) = store.with_status(L1_TO_L2, PENDING)
    assert (pending.claim_nonce, pending.claim_gas, pending.attempts) == (7, 90_000, 1)
    shown = first.to_json()
    assert shown["fee"] == hex(10**20 + 1) and shown["calldata"] == "0x0102" and shown["status"] == CLAIMED_SUCCESS
    with pytest.raises(ValueError, match="unknown status"):
        store.set_status(L1_TO_L2, bytes([2]) * 32, "LOST")
    store.close()


def test_postman_command_refuses_an_incomplete_configuration(tmp_path):
    from click.testing import CliRunner

    from linen.cli import main

    result = CliRunner().invoke(main, ["postman", "--data-dir", str(tmp_path), "--l1-rpc", "http://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "the postman needs postman.l2-rpc, postman.rollup, postman.l2-message-service" in result.output
