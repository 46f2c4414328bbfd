"""`[coordinator]` settings: defaults, file and environment, and clear errors for what is missing or wrong."""

from __future__ import annotations

import subprocess

import pytest

from linen.coordinator.settings import load_coordinator_settings
from linen.errors import ConfigError
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


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "needs coordinator.node-rpc"),
        ({**REQUIRED, "target-end-blocks": "ten"}, "comma-separated block numbers"),
        ({**REQUIRED, "batches-limit": 300}, "below proofs-limit"),
        ({**REQUIRED, "target-blobs-per-transaction": 10}, "1..9"),
    ],
)
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_coordinator_settings(None, overrides)


def test_the_command_refuses_missing_settings_with_a_message():
    result = subprocess.run(LINEN + ["coordinator"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode != 0 and "the coordinator needs coordinator.node-rpc" in result.stderr
