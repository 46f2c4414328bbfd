"""Builds a real chain in a temp dir (store, engine, pool, producer) without the RPC server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from linen.chain.genesis import default_devnet_genesis_document, parse_genesis
from linen.config import load_config
from linen.devaccounts import dev_accounts
from linen.node import Node

CHAIN_ID = 59139


@dataclass
class Signer:
    address: str
    key: str
    nonce: int = 0

    @property
    def raw_address(self) -> bytes:
        return bytes.fromhex(self.address[2:])

    def sign(self, **fields: object) -> bytes:
        tx = {
            "chainId": CHAIN_ID,
            "nonce": self.nonce,
            "maxFeePerGas": 10**9,
            "maxPriorityFeePerGas": 10**6,
            "gas": 21_000,
            "value": 0,
            "data": b"",
        }
        tx.update(fields)
        self.nonce += 1
        return bytes(Account.sign_transaction(tx, self.key).raw_transaction)


def make_node(data_dir: Path, **settings: object) -> Node:
    overrides = {("node", "data-dir"): str(data_dir), ("rpc", "port"): 0}
    for name, value in settings.items():
        section, key = name.split("__")
        overrides[(section, key.replace("_", "-"))] = value
    return Node(load_config(None, overrides))


def signers() -> list[Signer]:
    return [Signer(a.address, a.private_key) for a in dev_accounts()]


def genesis():
    return parse_genesis(default_devnet_genesis_document())
