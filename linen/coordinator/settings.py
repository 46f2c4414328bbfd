"""The coordinator's settings: the `[coordinator]` table, `LINEN_COORDINATOR_*`, or flags, into one frozen object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linen.config import load_section_values
from linen.coordinator.aggregation import AggregationSettings
from linen.coordinator.anchoring import BLOCK_TAGS, MAX_MESSAGES_PER_ANCHORING, AnchoringSettings
from linen.coordinator.conflation import ConflationSettings
from linen.errors import ConfigError
from linen.l1.sender import ReplacementPolicy

SECTION = "coordinator"


@dataclass(frozen=True)
class CoordinatorSettings:
    node_rpc: str
    state_manager_rpc: str
    l1_rpc: str
    data_dir: Path
    prover_root: Path
    traces_dir: Path
    rollup: str
    l2_message_service: str
    l1_key: str
    conflation: ConflationSettings
    aggregation: AggregationSettings
    blob_size_limit: int = 131072
    target_blobs_per_transaction: int = 6
    submission_delay_s: float = 0.0
    l1_confirmations: int = 1
    l1_replacement: ReplacementPolicy = ReplacementPolicy()  # how an unmined submitBlobs/finalizeBlocks is re-priced
    polling_interval_s: float = 1.0
    fetch_blocks_limit: int = 100
    l2_key: str = ""  # the message anchorer's key; empty = anchoring off
    anchoring: AnchoringSettings = AnchoringSettings()
    node_auth_rpc: str = ""  # the node's authenticated endpoint; empty = node_rpc
    state_manager_auth_rpc: str = ""
    jwt_secret: Path | None = None
    admin_host: str = "127.0.0.1"  # where `linen coordinator` serves /health and /metrics
    admin_port: int = 8896


def _blocks(text: str, key: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{SECTION}.{key} must be comma-separated block numbers, got {text!r}") from None


def _replacement_policy(values: dict[str, Any]) -> ReplacementPolicy:
    """The L1 fee-bump settings; L1 pools refuse a replacement that raises its fees by less than 10%."""
    if values["l1-replacement-timeout"] <= 0:
        raise ConfigError(f"{SECTION}.l1-replacement-timeout must be a positive number of seconds")
    if not 10 <= values["l1-fee-bump-percent"] <= 1000:
        raise ConfigError(f"{SECTION}.l1-fee-bump-percent must be 10..1000 (L1 pools refuse smaller replacements)")
    if values["l1-max-bumps"] < 0:
        raise ConfigError(f"{SECTION}.l1-max-bumps must be 0 or more")
    if values["l1-max-fee-per-gas-cap"] < 0:
        raise ConfigError(f"{SECTION}.l1-max-fee-per-gas-cap must be a wei amount (0 for no cap)")
    return ReplacementPolicy(
        timeout_s=values["l1-replacement-timeout"],
        bump_percent=values["l1-fee-bump-percent"],
        max_bumps=values["l1-max-bumps"],
        max_fee_per_gas_cap=values["l1-max-fee-per-gas-cap"] or None,
    )


def _anchoring(values: dict[str, Any]) -> AnchoringSettings:
    key = values["l2-key"]
    if key:
        body = key.removeprefix("0x")
        if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
            raise ConfigError(f"{SECTION}.l2-key must be a 32-byte hex private key")
    if values["anchoring-l1-block-tag"] not in BLOCK_TAGS:
        raise ConfigError(f"{SECTION}.anchoring-l1-block-tag must be one of {', '.join(BLOCK_TAGS)}")
    if values["anchoring-l1-confirmations"] < 0:
        raise ConfigError(f"{SECTION}.anchoring-l1-confirmations must not be negative")
    if not 0 < values["anchoring-max-messages"] <= MAX_MESSAGES_PER_ANCHORING:
        raise ConfigError(f"{SECTION}.anchoring-max-messages must be 1..{MAX_MESSAGES_PER_ANCHORING}")
    if values["anchoring-l1-logs-block-range"] < 1 or values["anchoring-l1-start-block"] < 0:
        raise ConfigError(f"{SECTION}.anchoring-l1-logs-block-range must be positive, anchoring-l1-start-block >= 0")
    return AnchoringSettings(
        l1_block_tag=values["anchoring-l1-block-tag"],
        l1_confirmations=values["anchoring-l1-confirmations"],
        max_messages=values["anchoring-max-messages"],
        polling_interval_s=values["anchoring-polling-interval"],
        logs_block_range=values["anchoring-l1-logs-block-range"],
        l1_start_block=values["anchoring-l1-start-block"],
    )


def settings_from_values(values: dict[str, Any], traces_limits: dict[str, int] | None = None) -> CoordinatorSettings:
    """Validate the merged `[coordinator]` values; `traces_limits` are the node's (TRACES_LIMIT)."""
    missing = [k for k in ("node-rpc", "state-manager-rpc", "l1-rpc", "rollup", "l2-message-service", "l1-key")
               if not values[k]]
    if missing:
        raise ConfigError(f"the coordinator needs {', '.join(f'{SECTION}.{k}' for k in missing)}")
    if not 0 < values["target-blobs-per-transaction"] <= 9:
        raise ConfigError(f"{SECTION}.target-blobs-per-transaction must be 1..9")
    batches_limit = values["batches-limit"]
    if batches_limit < 1 or batches_limit >= values["proofs-limit"]:
        raise ConfigError(f"{SECTION}.batches-limit must be at least 1 and below proofs-limit")
    data_dir = Path(values["data-dir"])
    return CoordinatorSettings(
        node_rpc=values["node-rpc"],
        state_manager_rpc=values["state-manager-rpc"],
        node_auth_rpc=values["node-auth-rpc"],
        state_manager_auth_rpc=values["state-manager-auth-rpc"],
        jwt_secret=Path(values["jwt-secret"]) if values["jwt-secret"] else None,
        l1_rpc=values["l1-rpc"],
        data_dir=data_dir,
        prover_root=Path(values["prover-root"]) if values["prover-root"] else data_dir / "prover",
        traces_dir=Path(values["traces-dir"]) if values["traces-dir"] else data_dir / "traces",
        rollup=values["rollup"],
        l2_message_service=values["l2-message-service"],
        l1_key=values["l1-key"],
        conflation=ConflationSettings(
            blocks_limit=values["blocks-limit"],
            deadline_s=values["conflation-deadline"],
            last_block_confirmation_delay_s=values["conflation-deadline-last-block-confirmation-delay"],
            batches_limit=batches_limit,
            target_end_blocks=_blocks(values["target-end-blocks"], "target-end-blocks"),
            traces_limits=traces_limits or {},
        ),
        aggregation=AggregationSettings(
            proofs_limit=values["proofs-limit"],
            blobs_limit=values["blobs-limit"],
            deadline_s=values["aggregation-deadline"],
            target_end_blocks=_blocks(values["target-end-blocks"], "target-end-blocks"),
        ),
        blob_size_limit=values["blob-size-limit"],
        target_blobs_per_transaction=values["target-blobs-per-transaction"],
        submission_delay_s=values["submission-delay"],
        l1_confirmations=values["l1-confirmations"],
        l1_replacement=_replacement_policy(values),
        polling_interval_s=values["polling-interval"],
        fetch_blocks_limit=values["fetch-blocks-limit"],
        l2_key=values["l2-key"],
        anchoring=_anchoring(values),
        admin_host=values["admin-host"],
        admin_port=values["admin-port"],
    )


def load_coordinator_settings(
    config_file: Path | None = None, overrides: dict[str, Any] | None = None, traces_limits: dict[str, int] | None = None
) -> CoordinatorSettings:
    return settings_from_values(load_section_values(SECTION, config_file, overrides), traces_limits)
