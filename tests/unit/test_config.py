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


def test_section_defaults_sit_below_the_file_the_environment_and_the_flags(tmp_path, monkeypatch):
    """A caller's defaults (the devnet's choices) replace the schema's; the file, then LINEN_*, then flags win."""
    from linen.config import load_section_values

    config = tmp_path / "linen.toml"
    config.write_text("[coordinator]\nblocks-limit = 7\nproofs-limit = 3\n")
    monkeypatch.setenv("LINEN_COORDINATOR_PROOFS_LIMIT", "5")
    devnet = {"blocks-limit": 20, "proofs-limit": 9, "batches-limit": 4, "polling-interval": 0.5}
    values = load_section_values("coordinator", config, {"polling-interval": 2.0}, defaults=devnet)
    assert values["batches-limit"] == 4  # only the devnet's choice names it
    assert values["blocks-limit"] == 7  # the file beats the devnet
    assert values["proofs-limit"] == 5  # the environment beats the file
    assert values["polling-interval"] == 2.0  # a flag beats everything
    with pytest.raises(ConfigError, match="unknown coordinator setting"):
        load_section_values("coordinator", None, defaults={"no-such-key": 1})
