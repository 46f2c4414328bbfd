import pytest

from linen.config import load_config
from linen.errors import ConfigError


def test_precedence_is_file_then_environment_then_flags(tmp_path, monkeypatch):
    path = tmp_path / "linen.toml"
    path.write_text('[sequencer]\nblock-period = 5.0\ncreate-empty-blocks = true\n[rpc]\nport = 9000\n[txpool]\nmax-per-sender = 8\n')
    config = load_config(path)
    assert (config.block_period, config.create_empty_blocks, config.rpc_port, config.max_per_sender) == (5.0, True, 9000, 8)
    monkeypatch.setenv("LINEN_SEQUENCER_BLOCK_PERIOD", "0.5")
    monkeypatch.setenv("LINEN_RPC_PORT", "9100")
    config = load_config(path)
    assert (config.block_period, config.rpc_port) == (0.5, 9100)
    config = load_config(path, {("rpc", "port"): 9200, ("sequencer", "block-period"): None})
    assert (config.block_period, config.rpc_port) == (0.5, 9200)


def test_defaults():
    config = load_config()
    assert config.block_period == 2.0 and config.create_empty_blocks is False
    assert config.max_nonce_gap == 64 and config.price_bump_percent == 10


@pytest.mark.parametrize(
    "text, message",
    [
        ("[sequencer]\nblock-perod = 1\n", "unknown setting sequencer.block-perod"),
        ("[rpc]\nport = 'abc'\n", "rpc.port"),
        ("[sequencer]\ncreate-empty-blocks = 'maybe'\n", "true or false"),
        ("not toml = = 1", "not valid TOML"),
        ("rpc = 1\n", "must be a table"),
    ],
)
def test_bad_config_is_refused_with_the_key_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_bad_environment_value_is_refused(monkeypatch):
    monkeypatch.setenv("LINEN_TXPOOL_MAX_POOL_SIZE", "lots")
    with pytest.raises(ConfigError, match="LINEN_TXPOOL_MAX_POOL_SIZE"):
        load_config()
