"""The postman's settings: the `[postman]` table, `LINEN_POSTMAN_*`, or flags, into one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from linen.config import load_section_values
from linen.errors import ConfigError
from linen.l1.sender import ReplacementPolicy

SECTION = "postman"


@dataclass(frozen=True)
class Sponsoring:
    """Messages the postman claims at its own cost (up to `max_gas`), whatever fee they pay."""

    message_hashes: frozenset[bytes] = frozenset()
    addresses: frozenset[str] = frozenset()  # lower-case 0x-hex; matches the sender or the recipient
    all_l1_to_l2: bool = False
    all_l2_to_l1: bool = False
    max_gas: int = 250_000

    def covers(self, direction: str, message_hash: bytes, sender: str, recipient: str) -> bool:
        if (self.all_l1_to_l2 and direction == "L1_TO_L2") or (self.all_l2_to_l1 and direction == "L2_TO_L1"):
            return True
        return bytes(message_hash) in self.message_hashes or bool(
            {sender.lower(), recipient.lower()} & self.addresses
        )


@dataclass(frozen=True)
class PostmanSettings:
    l1_rpc: str
    l2_rpc: str
    rollup: str
    l2_message_service: str
    l1_key: str
    l2_key: str
    data_dir: Path
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 8890
    profit_margin: float = 0.1
    l1_confirmations: int = 1
    l2_confirmations: int = 0
    l1_from_block: int = 0
    l2_from_block: int = 0
    polling_interval_s: float = 2.0
    max_blocks_to_fetch_logs: int = 1000
    messages_per_tick: int = 50
    l1_to_l2_auto_claim: bool = True
    l2_to_l1_auto_claim: bool = True
    fee_recipient: str = ""  # empty: the claiming account itself
    max_claim_gas: int = 2_000_000
    sponsoring: Sponsoring = field(default_factory=Sponsoring)
    replacement: ReplacementPolicy = field(default_factory=ReplacementPolicy)

    @property
    def l1_address(self) -> str:
        return Account.from_key(self.l1_key).address

    @property
    def l2_address(self) -> str:
        return Account.from_key(self.l2_key).address


def _address(text: str, key: str) -> str:
    if not Web3.is_address(text.strip()):
        raise ConfigError(f"{SECTION}.{key}: {text!r} is not a 20-byte hex address")
    return Web3.to_checksum_address(text.strip())


def _hash_list(text: str, key: str) -> frozenset[bytes]:
    out = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            raw = bytes.fromhex(part.removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ConfigError(f"{SECTION}.{key}: {part!r} is not a 32-byte hex message hash")
        out.add(raw)
    return frozenset(out)


def _key(text: str, key: str) -> str:
    try:
        Account.from_key(text)
    except (ValueError, TypeError):
        raise ConfigError(f"{SECTION}.{key} is not a private key (0x + 64 hex digits)") from None
    return text


def settings_from_values(values: dict[str, Any]) -> PostmanSettings:
    """Validate the merged `[postman]` values."""
    missing = [k for k in ("l1-rpc", "l2-rpc", "rollup", "l2-message-service", "l1-key", "l2-key") if not values[k]]
    if missing:
        raise ConfigError(f"the postman needs {', '.join(f'{SECTION}.{k}' for k in missing)}")
    for key in ("profit-margin", "l1-confirmations", "l2-confirmations", "l1-from-block", "l2-from-block"):
        if values[key] < 0:
            raise ConfigError(f"{SECTION}.{key} must not be negative, got {values[key]}")
    for key in ("max-blocks-to-fetch-logs", "messages-per-tick", "max-claim-gas", "polling-interval"):
        if values[key] <= 0:
            raise ConfigError(f"{SECTION}.{key} must be positive, got {values[key]}")
    if not 10 <= values["bump-percent"] <= 1000:
        raise ConfigError(f"{SECTION}.bump-percent must be 10..1000 (node pools refuse smaller replacements)")
    cap = values["max-fee-per-gas-cap"]
    try:
        replacement = ReplacementPolicy(
            timeout_s=values["submission-timeout"], bump_percent=values["bump-percent"],
            max_bumps=values["max-bumps"], max_fee_per_gas_cap=cap or None,
            poll_s=min(0.25, values["submission-timeout"]),
        )
    except ValueError as exc:
        raise ConfigError(f"{SECTION}: {exc}") from None
    addresses = frozenset(_address(p, "sponsored-addresses").lower()
                          for p in values["sponsored-addresses"].split(",") if p.strip())
    return PostmanSettings(
        l1_rpc=values["l1-rpc"],
        l2_rpc=values["l2-rpc"],
        rollup=_address(values["rollup"], "rollup"),
        l2_message_service=_address(values["l2-message-service"], "l2-message-service"),
        l1_key=_key(values["l1-key"], "l1-key"),
        l2_key=_key(values["l2-key"], "l2-key"),
        data_dir=Path(values["data-dir"]),
        rpc_host=values["rpc-host"],
        rpc_port=values["rpc-port"],
        profit_margin=values["profit-margin"],
        l1_confirmations=values["l1-confirmations"],
        l2_confirmations=values["l2-confirmations"],
        l1_from_block=values["l1-from-block"],
        l2_from_block=values["l2-from-block"],
        polling_interval_s=values["polling-interval"],
        max_blocks_to_fetch_logs=values["max-blocks-to-fetch-logs"],
        messages_per_tick=values["messages-per-tick"],
        l1_to_l2_auto_claim=values["l1-l2-auto-claim"],
        l2_to_l1_auto_claim=values["l2-l1-auto-claim"],
        fee_recipient=_address(values["fee-recipient"], "fee-recipient") if values["fee-recipient"] else "",
        max_claim_gas=values["max-claim-gas"],
        sponsoring=Sponsoring(
            message_hashes=_hash_list(values["sponsored-messages"], "sponsored-messages"),
            addresses=addresses,
            all_l1_to_l2=values["l1-l2-sponsoring"],
            all_l2_to_l1=values["l2-l1-sponsoring"],
            max_gas=values["max-sponsored-gas"],
        ),
        replacement=replacement,
    )


def load_postman_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> PostmanSettings:
    return settings_from_values(load_section_values(SECTION, config_file, overrides))
