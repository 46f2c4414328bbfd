"""Configuration: TOML file, then `LINEN_<SECTION>_<KEY>` environment variables, then CLI flags.

Every key is declared once in `SCHEMA` (section, key, type, default); the loader merges the three
sources in that order of precedence and returns one frozen `NodeConfig`. Unknown keys in the TOML
file are refused at start, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linen.errors import ConfigError
from linen.protocol.profitability import ProfitabilityParams

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
    # geth's --rpc.allow-unprotected-txs: accept legacy transactions without a chain id (pre-EIP-155)
    ("rpc", "allow-unprotected-txs"): (bool, False),
    ("rpc", "gas-cap"): (int, 50_000_000),  # geth's RPCGasCap: most gas an eth_call / eth_estimateGas may use
    ("rpc", "evm-timeout"): (float, 5.0),  # geth's RPCEVMTimeout: seconds one call (or estimate, or trace) may run
    ("rpc", "idle-timeout"): (float, 120.0),  # seconds a connection may stay open with no request in flight
    ("rpc", "auth-host"): (str, "127.0.0.1"),  # the local endpoint for methods that write (JWT, like geth's engine port)
    # 0 = any free port (written to <data-dir>/auth-rpc.url, so parallel nodes never collide); -1 = none
    ("rpc", "auth-port"): (int, 0),
    ("rpc", "jwt-secret"): (str, ""),  # file with the 32-byte hex secret; empty = <data-dir>/jwt.hex, made on first start
    ("sequencer", "block-period"): (float, 2.0),
    ("sequencer", "create-empty-blocks"): (bool, False),
    # share of the block period spent selecting transactions (Besu's --poa-block-txs-selection-max-time)
    ("sequencer", "block-txs-selection-max-time"): (int, 75),
    ("sequencer", "key"): (str, ""),
    ("sequencer", "fee-recipient"): (str, ""),
    ("sequencer", "min-base-fee"): (int, 7),
    ("sequencer", "min-gas-price"): (int, 0),
    ("sequencer", "deny-list"): (str, ""),  # comma-separated addresses, refused as sender and recipient
    ("sequencer", "priority-senders"): (str, ""),  # comma-separated addresses whose transactions go first
    ("sequencer", "max-tx-calldata-size"): (int, 60_000),
    ("sequencer", "max-tx-gas-limit"): (int, 24_000_000),
    ("sequencer", "max-tx-selection-time"): (float, 2.0),
    ("sequencer", "blob-size-limit"): (int, 131_072),
    ("sequencer", "compressed-block-header-overhead"): (int, 1_024),
    ("sequencer", "min-margin"): (float, 1.0),
    ("sequencer", "tx-pool-min-margin"): (float, 0.5),
    ("sequencer", "estimate-gas-min-margin"): (float, 1.2),
    ("sequencer", "fixed-cost-wei"): (int, 0),
    ("sequencer", "provable"): (str, "all"),  # "transfers": only what the zk circuits prove (TX_NOT_PROVABLE)
    ("sequencer", "variable-cost-wei"): (int, 1),  # L2 wei per compressed byte: the devnet L1 blob gas price
    ("l1", "rpc-url"): (str, ""),
    ("l1", "rollup-address"): (str, ""),  # LinenRollup on L1: "safe" and "finalized" follow it; empty = the head
    ("l1", "poll-interval"): (float, 2.0),  # seconds between the node's looks at the rollup
    ("state", "enabled"): (bool, True),  # run the state manager in the node process
    ("state", "hasher"): (str, "poseidon2-bn254"),  # or mimc-bls12-377 (Linea-exact)
    ("state", "finalized-only"): (bool, False),
    ("state", "push-url"): (str, ""),  # a separate `linen state-manager` to push trielogs to  # devnet: empty = start anvil under <data-dir>/l1
    ("tracer", "enabled"): (bool, True),
    ("tracer", "limits-file"): (str, ""),  # empty: the seed limits shipped with Linen
    ("tracer", "traces-dir"): (str, ""),  # empty: <data-dir>/traces
    ("tracer", "l2-message-service"): (str, ""),
    ("txpool", "max-pool-size"): (int, 10_000),
    ("txpool", "max-per-sender"): (int, 64),
    ("txpool", "max-nonce-gap"): (int, 64),
    ("txpool", "price-bump-percent"): (int, 10),
    # `linen coordinator` (also inside `linen devnet`), read by linen/coordinator/settings.py
    ("coordinator", "node-rpc"): (str, ""),
    ("coordinator", "state-manager-rpc"): (str, ""),
    # the authenticated endpoints (their write methods: conflated traces, the finalized block) and their secret
    ("coordinator", "node-auth-rpc"): (str, ""),  # empty: node-rpc (then trace files cannot be asked for)
    ("coordinator", "state-manager-auth-rpc"): (str, ""),  # empty: state-manager-rpc
    ("coordinator", "jwt-secret"): (str, ""),  # the JWT secret file those endpoints share
    ("coordinator", "l1-rpc"): (str, ""),
    ("coordinator", "data-dir"): (str, ".linen/coordinator"),  # holds coordinator.sqlite
    ("coordinator", "prover-root"): (str, ""),  # the prover-{execution,compression,aggregation}/ folders
    ("coordinator", "traces-dir"): (str, ""),  # the node's conflated-traces folder, as this process sees it
    ("coordinator", "rollup"): (str, ""),  # L1 rollup address
    ("coordinator", "l2-message-service"): (str, ""),
    ("coordinator", "l1-key"): (str, ""),  # operator key for submitBlobs / finalizeBlocks
    ("coordinator", "admin-host"): (str, "127.0.0.1"),  # `linen coordinator`'s /health and /metrics
    ("coordinator", "admin-port"): (int, 8896),  # 0 = any free port; -1 = none
    ("coordinator", "blocks-limit"): (int, 100),
    ("coordinator", "conflation-deadline"): (float, 30.0),  # seconds
    ("coordinator", "conflation-deadline-last-block-confirmation-delay"): (float, 2.0),
    ("coordinator", "blob-size-limit"): (int, 131072),
    ("coordinator", "batches-limit"): (int, 10),
    ("coordinator", "target-end-blocks"): (str, ""),  # comma-separated block numbers
    ("coordinator", "proofs-limit"): (int, 300),
    ("coordinator", "blobs-limit"): (int, 60),
    ("coordinator", "aggregation-deadline"): (float, 60.0),
    ("coordinator", "target-blobs-per-transaction"): (int, 6),
    ("coordinator", "submission-delay"): (float, 0.0),
    ("coordinator", "l1-confirmations"): (int, 1),
    ("coordinator", "l1-replacement-timeout"): (float, 60.0),  # seconds unmined before re-signing with higher fees
    ("coordinator", "l1-fee-bump-percent"): (int, 15),  # per replacement, on maxFeePerGas and the tip (>= 10)
    ("coordinator", "l1-max-bumps"): (int, 5),  # replacements before giving up (StuckTransaction)
    ("coordinator", "l1-max-fee-per-gas-cap"): (int, 0),  # wei; never sign above it; 0 = no cap
    ("coordinator", "polling-interval"): (float, 1.0),
    ("coordinator", "fetch-blocks-limit"): (int, 100),  # blocks conflated per tick at most
    # message anchoring (linen/coordinator/anchoring.py): L1 MessageSent -> anchorL1L2MessageHashes on L2
    ("coordinator", "l2-key"): (str, ""),  # key holding L1_L2_MESSAGE_SETTER_ROLE on L2; empty = anchoring off
    ("coordinator", "anchoring-l1-block-tag"): (str, "finalized"),  # finalized, safe or latest
    ("coordinator", "anchoring-l1-confirmations"): (int, 0),  # > 0: safe block = latest - n + 1, the tag ignored
    ("coordinator", "anchoring-polling-interval"): (float, 1.0),  # seconds
    ("coordinator", "anchoring-max-messages"): (int, 100),  # per anchoring transaction, 1..100
    ("coordinator", "anchoring-l1-logs-block-range"): (int, 1000),  # L1 blocks per eth_getLogs
    ("coordinator", "anchoring-l1-start-block"): (int, 0),  # first L1 block scanned (the rollup's deployment)
    # `linen prover` (controller and prove entry point), read by linen/prover/settings.py
    ("prover", "requests-root"): (str, ".linen/prover"),  # holds prover-{execution,compression,aggregation}/
    ("prover", "local-id"): (str, ""),  # empty: prover-<hostname>; must start with "prover", stable across restarts
    ("prover", "kinds"): (str, "execution,compression,aggregation"),  # comma-separated kinds this controller proves
    ("prover", "accept-large"): (bool, True),  # also take execution requests marked .large
    ("prover", "command"): (str, ""),  # empty: python -m linen.prover.prove; placeholders {config} {input} {output}
    ("prover", "large-command"): (str, ""),  # empty: the command with --large
    ("prover", "retry-delays"): (str, "0,1,2,3,5,8,13,21,44,85"),  # idle back-off in seconds, last one repeats
    ("prover", "termination-grace-period"): (float, 2700.0),  # seconds a running job may finish after SIGTERM
    ("prover", "key"): (str, ""),  # private key signing the aggregation attestation
    ("prover", "l1-chain-id"): (int, 0),
    ("prover", "verifier-address"): (str, ""),  # the L1 verifier contract the attestation is bound to
    ("prover", "l2-chain-id"): (int, 0),
    ("prover", "traces-dir"): (str, ""),
    ("prover", "state-dir"): (str, ""),
    ("prover", "dictionary"): (str, ""),  # compressor dictionary file; empty: the one shipped with Linen
    ("prover", "execution-proofs"): (str, "exec"),  # exec | zk (plus the tree proof; refuse what it cannot prove) | auto
    ("prover", "zk-dir"): (str, ""),  # srs/ (bb proves under it) and cache/ (compiled circuits, keys)
    ("prover", "zk-threads"): (int, 0),  # bb threads; 0: all cores
    ("prover", "executor"): (str, "local"),  # where a proof tree's jobs run: local (worker processes) | dask | network
    ("prover", "network-admin"): (str, "http://127.0.0.1:8898"),  # network: `linen prover network`'s admin URL
    ("prover", "executor-workers"): (int, 1),  # local: worker processes; dask: LocalCluster workers
    ("prover", "dask-scheduler"): (str, ""),  # dask: an existing scheduler (tcp://host:8786) instead of a LocalCluster
    ("prover", "l1-rpc"): (str, ""),  # where a root proof is checked (eth_call of the zk verifier) before it is sent
    ("prover", "zk-verifier-address"): (str, ""),  # L1's ZkRootVerifier (proof type 1)
    ("prover", "rollup"): (str, ""),  # the L1 rollup: retention reads its finalized block (with l1-rpc)
    ("prover", "retention"): (float, 604800.0),  # seconds a finished request or response is kept (one week)
    ("prover", "admin-host"): (str, "127.0.0.1"),  # `linen prover`'s /health and /metrics
    ("prover", "admin-port"): (int, 0),  # 0 = any free port (printed at start; several provers share a host); -1 = none
    # `linen postman` (also inside `linen devnet`), read by linen/postman/settings.py
    ("postman", "l1-rpc"): (str, ""),
    ("postman", "l2-rpc"): (str, ""),
    ("postman", "rollup"): (str, ""),  # L1 rollup address (it is the L1 message service)
    ("postman", "l2-message-service"): (str, ""),
    ("postman", "l1-key"): (str, ""),  # signs claimMessageWithProof on L1
    ("postman", "l2-key"): (str, ""),  # signs claimMessage on L2
    ("postman", "data-dir"): (str, ".linen/postman"),  # holds postman.sqlite
    ("postman", "rpc-host"): (str, "127.0.0.1"),
    ("postman", "rpc-port"): (int, 8890),  # linen_getMessageProof, linen_getMessageStatus; 0 = any free port
    ("postman", "profit-margin"): (float, 0.1),  # claim if fee >= gas * gas price * (1 + margin)
    ("postman", "l1-confirmations"): (int, 1),  # blocks below the L1 head before its messages are read
    ("postman", "l2-confirmations"): (int, 0),
    ("postman", "l1-from-block"): (int, 0),  # first block read on each chain (LISTENER_INITIAL_FROM_BLOCK)
    ("postman", "l2-from-block"): (int, 0),
    ("postman", "polling-interval"): (float, 2.0),  # seconds
    ("postman", "max-blocks-to-fetch-logs"): (int, 1000),  # block span of one eth_getLogs
    ("postman", "messages-per-tick"): (int, 50),
    ("postman", "l1-l2-auto-claim"): (bool, True),
    ("postman", "l2-l1-auto-claim"): (bool, True),
    ("postman", "fee-recipient"): (str, ""),  # empty: the claiming account
    ("postman", "max-claim-gas"): (int, 2_000_000),  # a claim needing more is NON_EXECUTABLE
    ("postman", "sponsored-messages"): (str, ""),  # comma-separated message hashes claimed whatever their fee
    ("postman", "sponsored-addresses"): (str, ""),  # comma-separated senders/recipients whose messages are sponsored
    ("postman", "l1-l2-sponsoring"): (bool, False),  # sponsor every L1→L2 message
    ("postman", "l2-l1-sponsoring"): (bool, False),  # sponsor every L2→L1 message
    ("postman", "max-sponsored-gas"): (int, 250_000),  # sponsoring stops at this claim gas
    ("postman", "submission-timeout"): (float, 60.0),  # seconds before a claim is re-sent with higher fees
    ("postman", "bump-percent"): (int, 15),
    ("postman", "max-bumps"): (int, 5),
    ("postman", "max-fee-per-gas-cap"): (int, 0),  # wei; 0 = no cap
}


@dataclass(frozen=True)
class SequencerRules:
    """Every configurable Linea rule (names follow the `plugin-linea-*` options)."""

    min_gas_price: int = 0  # wei per gas the transaction must pay (its fee cap)
    deny_list: frozenset[bytes] = field(default_factory=frozenset)  # neither sender nor recipient
    max_tx_calldata_size: int = 60_000
    max_tx_gas_limit: int = 24_000_000
    priority_senders: frozenset[bytes] = field(default_factory=frozenset)
    max_tx_selection_time: float = 2.0  # seconds one transaction may take to execute and trace
    blob_size_limit: int = 131_072
    compressed_block_header_overhead: int = 1_024
    min_margin: float = 1.0  # block selection, with the gas actually used
    tx_pool_min_margin: float = 0.5  # submission, with the gas limit
    estimate_gas_min_margin: float = 1.2  # linea_estimateGas's suggestion
    profitability: ProfitabilityParams = field(default_factory=lambda: ProfitabilityParams(0, 1))
    # True (`provable = "transfers"`): only what the validity-proof circuits prove (linen/protocol/provable.py)
    transfers_only: bool = False

    @property
    def compressed_block_budget(self) -> int:
        return self.blob_size_limit - self.compressed_block_header_overhead


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
    gas_cap: int
    evm_timeout: float
    idle_timeout: float
    auth_host: str
    auth_port: int
    jwt_secret: Path
    block_period: float
    create_empty_blocks: bool
    block_txs_selection_max_time: int  # percent of block_period
    sequencer_key: str
    fee_recipient: str
    min_base_fee: int
    min_gas_price: int
    max_pool_size: int
    max_per_sender: int
    max_nonce_gap: int
    price_bump_percent: int
    rules: SequencerRules
    tracer_enabled: bool
    traces_limits_file: Path | None
    traces_dir: Path
    l2_message_service: bytes | None
    l1_rpc_url: str
    l1_rollup_address: bytes | None
    l1_poll_interval: float
    state_enabled: bool
    state_hasher: str
    state_finalized_only: bool
    state_push_url: str
    config_file: Path | None = None  # where the values came from; other services read their own table from it
    allow_unprotected_txs: bool = False  # [rpc] allow-unprotected-txs


def _address(text: str, where: str) -> bytes:
    text = text.strip()
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        address = bytes.fromhex(body)
    except ValueError:
        address = b""
    if len(address) != 20:
        raise ConfigError(f"{where}: {text!r} is not a 20-byte hex address")
    return address


def _address_set(text: str, where: str) -> frozenset[bytes]:
    return frozenset(_address(part, where) for part in text.split(",") if part.strip())


def _percent(values: dict[tuple[str, str], Any], key: tuple[str, str]) -> int:
    if not 1 <= values[key] <= 100:
        raise ConfigError(f"{key[0]}.{key[1]} is a percentage of the block period, 1 to 100, got {values[key]}")
    return values[key]


def _rules(values: dict[tuple[str, str], Any]) -> SequencerRules:
    def get(key: str) -> Any:
        return values[("sequencer", key)]

    for key in ("max-tx-calldata-size", "max-tx-gas-limit", "blob-size-limit"):
        if get(key) <= 0:
            raise ConfigError(f"sequencer.{key} must be positive, got {get(key)}")
    if get("compressed-block-header-overhead") >= get("blob-size-limit"):
        raise ConfigError("sequencer.compressed-block-header-overhead must be below sequencer.blob-size-limit")
    for key in ("min-margin", "tx-pool-min-margin", "estimate-gas-min-margin", "max-tx-selection-time"):
        if get(key) < 0:
            raise ConfigError(f"sequencer.{key} must not be negative, got {get(key)}")
    if get("provable") not in ("all", "transfers"):
        raise ConfigError(f'sequencer.provable is "all" or "transfers", got {get("provable")!r}')
    return SequencerRules(
        min_gas_price=get("min-gas-price"),
        deny_list=_address_set(get("deny-list"), "sequencer.deny-list"),
        max_tx_calldata_size=get("max-tx-calldata-size"),
        max_tx_gas_limit=get("max-tx-gas-limit"),
        priority_senders=_address_set(get("priority-senders"), "sequencer.priority-senders"),
        max_tx_selection_time=get("max-tx-selection-time"),
        blob_size_limit=get("blob-size-limit"),
        compressed_block_header_overhead=get("compressed-block-header-overhead"),
        min_margin=get("min-margin"),
        tx_pool_min_margin=get("tx-pool-min-margin"),
        estimate_gas_min_margin=get("estimate-gas-min-margin"),
        profitability=ProfitabilityParams(get("fixed-cost-wei"), get("variable-cost-wei")),
        transfers_only=get("provable") == "transfers",
    )


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
    data_dir = Path(values[("node", "data-dir")])
    limits_file = values[("tracer", "limits-file")]
    traces_dir = values[("tracer", "traces-dir")]
    message_service = values[("tracer", "l2-message-service")]
    return NodeConfig(
        data_dir=data_dir,
        genesis=Path(genesis) if genesis else None,
        rpc_host=values[("rpc", "host")],
        rpc_port=values[("rpc", "port")],
        max_batch_size=values[("rpc", "max-batch-size")],
        max_request_bytes=values[("rpc", "max-request-bytes")],
        max_logs_block_range=values[("rpc", "max-logs-block-range")],
        max_logs_results=values[("rpc", "max-logs-results")],
        gas_cap=values[("rpc", "gas-cap")],
        evm_timeout=values[("rpc", "evm-timeout")],
        idle_timeout=values[("rpc", "idle-timeout")],
        auth_host=values[("rpc", "auth-host")],
        auth_port=values[("rpc", "auth-port")],
        jwt_secret=Path(values[("rpc", "jwt-secret")]) if values[("rpc", "jwt-secret")] else data_dir / "jwt.hex",
        block_period=values[("sequencer", "block-period")],
        create_empty_blocks=values[("sequencer", "create-empty-blocks")],
        block_txs_selection_max_time=_percent(values, ("sequencer", "block-txs-selection-max-time")),
        sequencer_key=values[("sequencer", "key")],
        fee_recipient=values[("sequencer", "fee-recipient")],
        min_base_fee=values[("sequencer", "min-base-fee")],
        min_gas_price=values[("sequencer", "min-gas-price")],
        max_pool_size=values[("txpool", "max-pool-size")],
        max_per_sender=values[("txpool", "max-per-sender")],
        max_nonce_gap=values[("txpool", "max-nonce-gap")],
        price_bump_percent=values[("txpool", "price-bump-percent")],
        rules=_rules(values),
        tracer_enabled=values[("tracer", "enabled")],
        traces_limits_file=Path(limits_file) if limits_file else None,
        traces_dir=Path(traces_dir) if traces_dir else data_dir / "traces",
        l2_message_service=_address(message_service, "tracer.l2-message-service") if message_service else None,
        l1_rpc_url=values[("l1", "rpc-url")],
        l1_rollup_address=_address(values[("l1", "rollup-address")], "l1.rollup-address")
        if values[("l1", "rollup-address")] else None,
        l1_poll_interval=values[("l1", "poll-interval")],
        state_enabled=values[("state", "enabled")],
        state_hasher=values[("state", "hasher")],
        state_finalized_only=values[("state", "finalized-only")],
        state_push_url=values[("state", "push-url")],
        config_file=Path(config_file) if config_file is not None else None,
        allow_unprotected_txs=values[("rpc", "allow-unprotected-txs")],
    )


def load_section_values(
    section: str, config_file: Path | None = None, overrides: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One service's `[section]` keys merged from defaults, file, `LINEN_<SECTION>_*` and `overrides` (None skipped).

    For the services that run alone (`linen prover`, `linen coordinator`) and only need their own table.
    `defaults` replace the schema's defaults (the devnet's choices), so the file and the environment still win.
    """
    keys = {key: kind for (table, key), (kind, _) in SCHEMA.items() if table == section}
    values = {key: SCHEMA[(section, key)][1] for key in keys}
    for key, value in (defaults or {}).items():
        if key not in keys:
            raise ConfigError(f"unknown {section} setting {key!r}")
        values[key] = _coerce(value, keys[key], f"{section}.{key}")
    if config_file is not None:
        try:
            document = tomllib.loads(Path(config_file).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {config_file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        table = document.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{config_file}: [{section}] must be a table")
        for key, value in table.items():
            if key not in keys:
                raise ConfigError(f"{config_file}: unknown setting {section}.{key}")
            values[key] = _coerce(value, keys[key], f"{section}.{key}")
    for key, kind in keys.items():
        env_name = f"LINEN_{section}_{key}".upper().replace("-", "_")
        if env_name in os.environ:
            values[key] = _coerce(os.environ[env_name], kind, env_name)
    for key, value in (overrides or {}).items():
        if key not in keys:
            raise ConfigError(f"unknown {section} setting {key!r}")
        if value is not None:
            values[key] = _coerce(value, keys[key], f"--{key}")
    return values
