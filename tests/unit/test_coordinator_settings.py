"""`[coordinator]` settings: defaults, file and environment, and clear errors for what is missing or wrong."""

from __future__ import annotations

import subprocess

import pytest
from eth_account import Account

from linen.coordinator.l1_client import RollupClient
from linen.coordinator.settings import load_coordinator_settings
from linen.errors import ConfigError
from linen.l1.sender import ReplacementPolicy
from tests.helpers import LINEN, ROOT

REQUIRED = {
    "node-rpc": "http://127.0.0.1:1", "state-manager-rpc": "http://127.0.0.1:2", "l1-rpc": "http://127.0.0.1:3",
    "rollup": "0x" + "11" * 20, "l2-message-service": "0x" + "22" * 20, "l1-key": "0x" + "33" * 32,
}


def test_file_environment_and_overrides(tmp_path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text('[coordinator]\nblocks-limit = 7\ntarget-end-blocks = "10, 20"\n')
    monkeypatch.setenv("LINEN_COORDINATOR_PROOFS_LIMIT", "40")
    settings = load_coordinator_settings(config, REQUIRED, traces_limits={"HUB": 5})
    assert settings.conflation.blocks_limit == 7
    assert settings.conflation.target_end_blocks == frozenset({10, 20}) == settings.aggregation.target_end_blocks
    assert settings.aggregation.proofs_limit == 40
    assert settings.conflation.traces_limits == {"HUB": 5}


def test_l1_replacement_policy_defaults_and_file_values(tmp_path):
    assert load_coordinator_settings(None, REQUIRED).l1_replacement == ReplacementPolicy(
        timeout_s=60.0, bump_percent=15, blob_bump_percent=100, max_bumps=5, max_fee_per_gas_cap=None)
    config = tmp_path / "c.toml"
    config.write_text("[coordinator]\nl1-replacement-timeout = 12.5\nl1-fee-bump-percent = 25\nl1-max-bumps = 2\n"
                      "l1-max-fee-per-gas-cap = 300000000000\n")
    policy = load_coordinator_settings(config, REQUIRED).l1_replacement
    assert (policy.timeout_s, policy.bump_percent, policy.max_bumps) == (12.5, 25, 2)
    assert policy.max_fee_per_gas_cap == 300 * 10**9


def test_the_rollup_client_sends_with_the_configured_policy(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[coordinator]\nl1-fee-bump-percent = 40\nl1-max-fee-per-gas-cap = 7\n")
    settings = load_coordinator_settings(config, REQUIRED)
    client = RollupClient(settings.l1_rpc, settings.rollup, settings.l1_key, ROOT / ".pytest_cache" / "l1-contracts",
                          replacement_policy=settings.l1_replacement)
    assert client.sender.policy.bump_percent == 40 and client.sender.policy.max_fee_per_gas_cap == 7
    assert client.sender.account.address == Account.from_key(REQUIRED["l1-key"]).address


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "needs coordinator.node-rpc"),
        ({**REQUIRED, "target-end-blocks": "ten"}, "comma-separated block numbers"),
        ({**REQUIRED, "batches-limit": 300}, "below proofs-limit"),
        ({**REQUIRED, "target-blobs-per-transaction": 10}, "1..9"),
        ({**REQUIRED, "l1-fee-bump-percent": 5}, "l1-fee-bump-percent must be 10..1000"),
        ({**REQUIRED, "l1-replacement-timeout": 0}, "l1-replacement-timeout must be a positive"),
        ({**REQUIRED, "l1-max-bumps": -1}, "l1-max-bumps must be 0 or more"),
        ({**REQUIRED, "l1-max-fee-per-gas-cap": -1}, "l1-max-fee-per-gas-cap must be a wei amount"),
    ],
)
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_coordinator_settings(None, overrides)


@pytest.mark.slow  # starts `linen coordinator`
def test_the_command_refuses_missing_settings_with_a_message():
    result = subprocess.run(LINEN + ["coordinator"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode != 0 and "the coordinator needs coordinator.node-rpc" in result.stderr
