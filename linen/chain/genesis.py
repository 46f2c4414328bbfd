"""Genesis from a geth/besu-style JSON file, and the default devnet genesis.

Recognised fields: config.chainId, config.clique.{period,epoch}, alloc (balance, nonce, code,
storage), gasLimit, baseFeePerGas, timestamp, extraData (Clique: 32-byte vanity, signer addresses,
65 zero bytes), coinbase, difficulty, mixHash. Any other field is ignored, as geth does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from linen.errors import ConfigError

CLIQUE_VANITY = 32
CLIQUE_SEAL = 65
DEFAULT_CHAIN_ID = 59139
DEFAULT_GAS_LIMIT = 2_000_000_000  # Linea's L2 block gas limit
DEFAULT_BASE_FEE = 7  # Linea's floor, in wei


@dataclass(frozen=True)
class GenesisAccount:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Genesis:
    chain_id: int
    gas_limit: int
    base_fee_per_gas: int
    timestamp: int
    extra_data: bytes
    coinbase: bytes
    difficulty: int
    mix_hash: bytes
    clique_period: int | None
    alloc: dict[bytes, GenesisAccount]

    @property
    def clique_signers(self) -> list[bytes]:
        """Signer addresses named in Clique's extraData (between vanity and seal)."""
        body = self.extra_data[CLIQUE_VANITY : len(self.extra_data) - CLIQUE_SEAL]
        return [body[i : i + 20] for i in range(0, len(body) - len(body) % 20, 20)]


def _int(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            pass
    raise ConfigError(f"genesis: {name} must be an integer or 0x-hex, got {value!r}")


def _bytes(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise ConfigError(f"genesis: {name} must be 0x-hex, got {value!r}")
    text = value[2:] if value.lower().startswith("0x") else value
    try:
        return bytes.fromhex(text if len(text) % 2 == 0 else "0" + text)
    except ValueError:
        raise ConfigError(f"genesis: {name} is not valid hex: {value!r}") from None


def parse_genesis(data: dict) -> Genesis:
    """Validate a geth-style genesis document into a `Genesis`; ConfigError names the bad field."""
    if not isinstance(data, dict):
        raise ConfigError("genesis: the document must be a JSON object")
    config = data.get("config") or {}
    if "chainId" not in config:
        raise ConfigError("genesis: config.chainId is required")
    alloc: dict[bytes, GenesisAccount] = {}
    for key, entry in (data.get("alloc") or {}).items():
        address = _bytes(key if key.lower().startswith("0x") else "0x" + key, f"alloc key {key}")
        if len(address) != 20:
            raise ConfigError(f"genesis: alloc key {key} is not a 20-byte address")
        storage = {
            _int(slot, f"alloc {key} storage slot"): _int(val, f"alloc {key} storage value")
            for slot, val in (entry.get("storage") or {}).items()
        }
        alloc[address] = GenesisAccount(
            balance=_int(entry.get("balance", "0x0"), f"alloc {key} balance"),
            nonce=_int(entry.get("nonce", "0x0"), f"alloc {key} nonce"),
            code=_bytes(entry.get("code", "0x"), f"alloc {key} code"),
            storage=storage,
        )
    clique = config.get("clique")
    return Genesis(
        chain_id=_int(config["chainId"], "config.chainId"),
        gas_limit=_int(data.get("gasLimit", hex(DEFAULT_GAS_LIMIT)), "gasLimit"),
        base_fee_per_gas=_int(data.get("baseFeePerGas", hex(DEFAULT_BASE_FEE)), "baseFeePerGas"),
        timestamp=_int(data.get("timestamp", "0x0"), "timestamp"),
        extra_data=_bytes(data.get("extraData", "0x"), "extraData"),
        coinbase=_bytes(data.get("coinbase", "0x" + "00" * 20), "coinbase"),
        difficulty=_int(data.get("difficulty", "0x1"), "difficulty"),
        mix_hash=_bytes(data.get("mixHash", "0x" + "00" * 32), "mixHash"),
        clique_period=_int(clique["period"], "config.clique.period") if clique and "period" in clique else None,
        alloc=alloc,
    )


def load_genesis(path: Path) -> Genesis:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"genesis file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"genesis file {path} is not valid JSON: {exc}") from None
    return parse_genesis(data)


def clique_extra_data(signers: list[bytes], vanity: bytes = b"") -> bytes:
    return vanity.ljust(CLIQUE_VANITY, b"\x00")[:CLIQUE_VANITY] + b"".join(signers) + b"\x00" * CLIQUE_SEAL


def default_devnet_genesis_document(chain_id: int = DEFAULT_CHAIN_ID) -> dict:
    """The devnet genesis: ten funded dev accounts and the devnet operator, Clique with the dev sequencer as signer,
    and the canonical predeploys (CREATE2 deployer, Multicall3, Safe singleton factory: `linen.chain.predeploys`)."""
    from linen.chain.predeploys import predeploy_alloc
    from linen.devaccounts import dev_accounts, operator_dev_account, sequencer_dev_account

    sequencer = bytes.fromhex(sequencer_dev_account().address[2:])
    return {
        "config": {"chainId": chain_id, "clique": {"period": 2, "epoch": 30000}, "pragueTime": 0},
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": "0x" + clique_extra_data([sequencer]).hex(),
        "gasLimit": hex(DEFAULT_GAS_LIMIT),
        "baseFeePerGas": hex(DEFAULT_BASE_FEE),
        "difficulty": "0x1",
        "coinbase": "0x" + "00" * 20,
        "alloc": {
            **{acct.address: {"balance": hex(10_000 * 10**18)} for acct in [*dev_accounts(), operator_dev_account()]},
            **predeploy_alloc(),
        },
    }
