"""Deploy Linen's contracts from Python and record where they are.

L1 gets the attestation verifier (proof type 0) and the rollup, which includes the L1 message
service; L2 gets the L2 message service. Roles are handed out at construction, so a fresh deployment
is usable at once, and the addresses go to `<data dir>/contracts.json` for the other components.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3

from linen.jsonfile import write_json_atomically
from linen.l1.artifacts import MAX_DEPLOYED_CODE_SIZE, Artifact
from linen.l1.transact import deploy

ADDRESSES_FILE = "contracts.json"
ATTESTATION_PROOF_TYPE = 0
# L2 minimum fee of Linea's L2 message service at initialisation.
DEFAULT_L2_MINIMUM_FEE = 10**14


def role(name: str) -> bytes:
    return keccak(name.encode())


@dataclass(frozen=True)
class L1Settings:
    """What the rollup is initialised with. Every address is a 0x-hex string."""

    initial_state_root: bytes
    genesis_timestamp: int
    operators: tuple[str, ...]
    prover_addresses: tuple[str, ...]
    attestation_threshold: int = 1
    initial_l2_block_number: int = 0
    rate_limit_period_seconds: int = 86400
    rate_limit_amount_wei: int = 10_000 * 10**18
    fallback_operator: str | None = None
    pausers: tuple[str, ...] = ()


@dataclass(frozen=True)
class L2Settings:
    """What the L2 message service is initialised with."""

    message_anchorer: str
    rate_limit_period_seconds: int = 86400
    rate_limit_amount_wei: int = 10_000 * 10**18
    minimum_fee_wei: int = DEFAULT_L2_MINIMUM_FEE
    reserve_wei: int = 0  # sent with the deployment: what pays out the value of claimed deposits


@dataclass
class Deployment:
    """Addresses of a deployment, as written to the data dir."""

    l1_chain_id: int
    rollup: str
    verifiers: dict[int, str] = field(default_factory=dict)
    l2_chain_id: int | None = None
    l2_message_service: str | None = None


def _check_sizes(artifacts: dict[str, Artifact]) -> None:
    for artifact in artifacts.values():
        if artifact.deployed_size > MAX_DEPLOYED_CODE_SIZE:
            raise ValueError(
                f"{artifact.name} is {artifact.deployed_size} bytes, over the {MAX_DEPLOYED_CODE_SIZE} limit"
            )


def deploy_l1(w3: Web3, deployer_key: str, artifacts: dict[str, Artifact], settings: L1Settings) -> Deployment:
    """Deploy the attestation verifier and the rollup; the deployer becomes admin and may set verifiers."""
    _check_sizes(artifacts)
    admin = Account.from_key(deployer_key).address
    verifier = deploy(
        w3,
        deployer_key,
        artifacts["AttestationVerifier"],
        admin,
        list(settings.prover_addresses),
        settings.attestation_threshold,
    )
    roles = [
        (admin, role("VERIFIER_SETTER_ROLE")),
        (admin, role("VERIFIER_UNSETTER_ROLE")),
        (admin, role("RATE_LIMIT_SETTER_ROLE")),
        (admin, role("USED_RATE_LIMIT_RESETTER_ROLE")),
        (admin, role("PAUSE_MANAGER_ROLE")),
    ]
    roles += [(operator, role("OPERATOR_ROLE")) for operator in settings.operators]
    roles += [(pauser, role("PAUSE_MANAGER_ROLE")) for pauser in settings.pausers]
    init = (
        settings.initial_state_root,
        settings.initial_l2_block_number,
        settings.genesis_timestamp,
        verifier,
        settings.rate_limit_period_seconds,
        settings.rate_limit_amount_wei,
        admin,
        settings.fallback_operator or admin,
        roles,
    )
    rollup = deploy(w3, deployer_key, artifacts["LinenRollup"], init)
    return Deployment(l1_chain_id=w3.eth.chain_id, rollup=rollup, verifiers={ATTESTATION_PROOF_TYPE: verifier})


def deploy_l2(w3: Web3, deployer_key: str, artifacts: dict[str, Artifact], settings: L2Settings) -> str:
    """Deploy the L2 message service, funded with its reserve; the deployer is admin, `message_anchorer` may
    anchor L1 messages."""
    _check_sizes(artifacts)
    admin = Account.from_key(deployer_key).address
    return deploy(
        w3,
        deployer_key,
        artifacts["L2MessageService"],
        admin,
        settings.message_anchorer,
        settings.rate_limit_period_seconds,
        settings.rate_limit_amount_wei,
        settings.minimum_fee_wei,
        value=settings.reserve_wei,
    )


def write_deployment(data_dir: Path, deployment: Deployment) -> Path:
    """Write the addresses atomically to `<data_dir>/contracts.json`."""
    return write_json_atomically(Path(data_dir) / ADDRESSES_FILE, asdict(deployment), sort_keys=True)


def read_deployment(data_dir: Path) -> Deployment | None:
    path = Path(data_dir) / ADDRESSES_FILE
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    raw["verifiers"] = {int(k): v for k, v in raw.get("verifiers", {}).items()}
    return Deployment(**raw)
