"""Settings of the prover side, from the `[prover]` section of the config file and `LINEN_PROVER_*`.

The controller and the `prove` entry point are separate processes (the controller starts one
`prove` per job), so both read the same section: the controller for folders, ids and commands, the
prover for what its backends need (the attestation key and what it is bound to, optional paths).
Keys are declared in `linen.config.SCHEMA`; precedence is the same as for the node: defaults, the
TOML file, the environment, then explicit overrides (CLI flags).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linen.config import load_section_values
from linen.errors import ConfigError
from linen.prover.files import ALL_KINDS, CONTROLLER_ID_PREFIX, ProofKind

SECTION = "prover"


@dataclass(frozen=True)
class ProverSettings:
    """What a proving backend may use besides its request file.

    `requests_root` is where the aggregation backend finds the responses its request names; the
    `prove` entry point sets it from the request's own location when that sits in a prover folder.
    `large` is set for a run with `--large` (more memory, bigger circuits).
    """

    key: str = ""
    l1_chain_id: int = 0
    verifier_address: str = ""
    l2_chain_id: int = 0
    requests_root: Path = Path(".linen/prover")
    traces_dir: Path | None = None
    state_dir: Path | None = None
    dictionary: Path | None = None
    config_file: Path | None = None
    large: bool = False
    execution_proofs: str = "exec"  # exec | zk | auto (zk when the batch is all plain transfers)
    zk_dir: Path | None = None
    zk_threads: int = 0
    l1_rpc: str = ""
    zk_verifier_address: str = ""
    executor: str = "local"  # local | dask: where the tree's jobs run (linen.network)
    executor_workers: int = 1
    dask_scheduler: str = ""
    network_admin: str = "http://127.0.0.1:8898"


@dataclass(frozen=True)
class ControllerSettings:
    """What a controller needs: its folders, its id, the kinds it proves and how to run a proof.

    `command` / `large_command` are shell command templates with `{config}`, `{input}` and
    `{output}` placeholders (filled shell-quoted); empty means `python -m linen.prover.prove`.
    """

    requests_root: Path
    local_id: str
    kinds: tuple[ProofKind, ...] = ALL_KINDS
    command: str = ""
    large_command: str = ""
    accept_large: bool = True
    retry_delays: tuple[float, ...] = (0, 1, 2, 3, 5, 8, 13, 21, 44, 85)
    termination_grace_period: float = 2700.0
    config_file: Path | None = None
    retention_s: float = 604800.0  # finished files older than this go once L1 has finalized their blocks
    l1_rpc: str = ""  # with `rollup`: where retention reads the finalized block (none: nothing is removed)
    rollup: str = ""
    admin_host: str = "127.0.0.1"  # where `linen prover` serves /health and /metrics
    admin_port: int = 0

    def __post_init__(self) -> None:
        check_local_id(self.local_id)
        if not self.kinds:
            raise ConfigError("prover.kinds: at least one proof kind must be enabled")
        if not self.retry_delays or any(delay < 0 for delay in self.retry_delays):
            raise ConfigError("prover.retry-delays: expected a non-empty list of non-negative seconds")
        if self.termination_grace_period < 0:
            raise ConfigError("prover.termination-grace-period must not be negative")
        if self.retention_s <= 0:
            raise ConfigError("prover.retention must be a positive number of seconds")


def check_local_id(local_id: str) -> str:
    """Ids must start with "prover" (the coordinator's in-progress pattern) and fit in a file name."""
    if not local_id.startswith(CONTROLLER_ID_PREFIX) or not re.fullmatch(r"[A-Za-z0-9_.-]+", local_id):
        raise ConfigError(
            f"prover.local-id {local_id!r}: must start with {CONTROLLER_ID_PREFIX!r} and use only letters, "
            "digits, '-', '_' and '.'"
        )
    return local_id


def default_local_id() -> str:
    """prover-<hostname>: stable across restarts, so a restarted controller finds its own leftovers."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname()) or "localhost"
    return f"{CONTROLLER_ID_PREFIX}-{host}"


def load_prover_values(config_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `[prover]` keys merged from defaults, file, `LINEN_PROVER_*` and `overrides` (None skipped)."""
    return load_section_values(SECTION, config_file, overrides)


def _optional_path(text: str) -> Path | None:
    return Path(text) if text else None


def load_prover_settings(config_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> ProverSettings:
    values = load_prover_values(config_file, overrides)
    return ProverSettings(
        key=values["key"],
        l1_chain_id=values["l1-chain-id"],
        verifier_address=values["verifier-address"],
        l2_chain_id=values["l2-chain-id"],
        requests_root=Path(values["requests-root"]),
        traces_dir=_optional_path(values["traces-dir"]),
        state_dir=_optional_path(values["state-dir"]),
        dictionary=_optional_path(values["dictionary"]),
        config_file=Path(config_file) if config_file else None,
        execution_proofs=_execution_proofs(values["execution-proofs"]),
        zk_dir=_optional_path(values["zk-dir"]),
        zk_threads=values["zk-threads"],
        l1_rpc=values["l1-rpc"],
        zk_verifier_address=values["zk-verifier-address"],
        executor=_executor(values["executor"]),
        executor_workers=_positive(values["executor-workers"], "executor-workers"),
        dask_scheduler=values["dask-scheduler"],
        network_admin=values["network-admin"],
    )


EXECUTORS = ("local", "dask", "network")


def _executor(text: str) -> str:
    if text not in EXECUTORS:
        raise ConfigError(f"prover.executor: {text!r} is not one of {', '.join(EXECUTORS)}")
    return text


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise ConfigError(f"prover.{name} must be at least 1, not {value}")
    return value


EXECUTION_PROOFS = ("exec", "zk", "auto")


def _execution_proofs(text: str) -> str:
    if text not in EXECUTION_PROOFS:
        raise ConfigError(f"prover.execution-proofs: {text!r} is not one of {', '.join(EXECUTION_PROOFS)}")
    return text


def _kinds(text: str) -> tuple[ProofKind, ...]:
    kinds = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            kinds.append(ProofKind(part))
        except ValueError:
            names = ", ".join(kind.value for kind in ALL_KINDS)
            raise ConfigError(f"prover.kinds: unknown kind {part!r} (known: {names})") from None
    return tuple(dict.fromkeys(kinds))


def _delays(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"prover.retry-delays: expected comma-separated seconds, got {text!r}") from None


def load_controller_settings(
    config_file: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> ControllerSettings:
    values = load_prover_values(config_file, overrides)
    return ControllerSettings(
        requests_root=Path(values["requests-root"]),
        local_id=values["local-id"] or default_local_id(),
        kinds=_kinds(values["kinds"]),
        command=values["command"],
        large_command=values["large-command"],
        accept_large=values["accept-large"],
        retry_delays=_delays(values["retry-delays"]),
        termination_grace_period=values["termination-grace-period"],
        config_file=Path(config_file) if config_file else None,
        retention_s=values["retention"],
        l1_rpc=values["l1-rpc"],
        rollup=values["rollup"],
        admin_host=values["admin-host"],
        admin_port=values["admin-port"],
    )
