"""Configuration: TOML file, then `LINEN_<SECTION>_<KEY>` environment variables, then CLI flags.

Every key is declared once in `SCHEMA` (section, key, type, default); the loader merges the three
sources in that order of precedence and returns one frozen `NodeConfig`. Unknown keys in the TOML
file are refused at start, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linen.errors import ConfigError

# (section, key) -> (type, default)
SCHEMA: dict[tuple[str, str], tuple[type, Any]] = {
    ("node", "data-dir"): (str, ".linen/node"),
    ("node", "genesis"): (str, ""),
    ("rpc", "host"): (str, "127.0.0.1"),
    ("rpc", "port"): (int, 8545),
    ("rpc", "max-batch-size"): (int, 1000),
    ("rpc", "max-request-bytes"): (int, 5 * 1024 * 1024),
    ("rpc", "max-logs-block-range"): (int, 10_000),
    ("rpc", "max-logs-results"): (int, 10_000),
    ("sequencer", "block-period"): (float, 2.0),
    ("sequencer", "create-empty-blocks"): (bool, False),
    ("sequencer", "key"): (str, ""),
    ("sequencer", "fee-recipient"): (str, ""),
    ("sequencer", "min-base-fee"): (int, 7),
    ("sequencer", "min-gas-price"): (int, 0),
    ("txpool", "max-pool-size"): (int, 10_000),
    ("txpool", "max-per-sender"): (int, 64),
    ("txpool", "max-nonce-gap"): (int, 64),
    ("txpool", "price-bump-percent"): (int, 10),
}


@dataclass(frozen=True)
class NodeConfig:
    data_dir: Path
    genesis: Path | None
    rpc_host: str
    rpc_port: int
    max_batch_size: int
    max_request_bytes: int
    max_logs_block_range: int
    max_logs_results: int
    block_period: float
    create_empty_blocks: bool
    sequencer_key: str
    fee_recipient: str
    min_base_fee: int
    min_gas_price: int
    max_pool_size: int
    max_per_sender: int
    max_nonce_gap: int
    price_bump_percent: int


def _coerce(value: Any, kind: type, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    try:
        if kind is int and isinstance(value, str):
            return int(value, 0)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}") from None


def load_config(config_file: Path | None = None, overrides: dict[tuple[str, str], Any] | None = None) -> NodeConfig:
    """Merge defaults, the TOML file, the environment and CLI `overrides` (non-None values only)."""
    values = {key: default for key, (_, default) in SCHEMA.items()}
    if config_file is not None:
        try:
            document = tomllib.loads(config_file.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {config_file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        for section, table in document.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{config_file}: [{section}] must be a table")
            for key, value in table.items():
                if (section, key) not in SCHEMA:
                    raise ConfigError(f"{config_file}: unknown setting {section}.{key}")
                values[(section, key)] = _coerce(value, SCHEMA[(section, key)][0], f"{section}.{key}")
    for (section, key), (kind, _) in SCHEMA.items():
        env_name = f"LINEN_{section}_{key}".upper().replace("-", "_")
        if env_name in os.environ:
            values[(section, key)] = _coerce(os.environ[env_name], kind, env_name)
    for (section, key), value in (overrides or {}).items():
        if value is not None:
            values[(section, key)] = _coerce(value, SCHEMA[(section, key)][0], f"--{key}")
    genesis = values[("node", "genesis")]
    return NodeConfig(
        data_dir=Path(values[("node", "data-dir")]),
        genesis=Path(genesis) if genesis else None,
        rpc_host=values[("rpc", "host")],
        rpc_port=values[("rpc", "port")],
        max_batch_size=values[("rpc", "max-batch-size")],
        max_request_bytes=values[("rpc", "max-request-bytes")],
        max_logs_block_range=values[("rpc", "max-logs-block-range")],
        max_logs_results=values[("rpc", "max-logs-results")],
        block_period=values[("sequencer", "block-period")],
        create_empty_blocks=values[("sequencer", "create-empty-blocks")],
        sequencer_key=values[("sequencer", "key")],
        fee_recipient=values[("sequencer", "fee-recipient")],
        min_base_fee=values[("sequencer", "min-base-fee")],
        min_gas_price=values[("sequencer", "min-gas-price")],
        max_pool_size=values[("txpool", "max-pool-size")],
        max_per_sender=values[("txpool", "max-per-sender")],
        max_nonce_gap=values[("txpool", "max-nonce-gap")],
        price_bump_percent=values[("txpool", "price-bump-percent")],
    )
