"""Sending signed transactions to L1 with web3.py, and naming the custom error of a revert.

Keys sign locally (eth-account) rather than through the node's unlocked accounts, so the same code
works against anvil and against any other L1.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3
from web3.contract.contract import ContractFunction

from linen.l1.artifacts import Artifact
from linen.l1.sender import TransactionReverted, TransactionSender

__all__ = ["TransactionReverted", "decode_revert", "deploy", "error_signatures", "send", "transact"]


def send(w3: Web3, private_key: str, tx: dict, gas: int | None = None) -> dict:
    """Fill nonce, fees and gas, sign, send and wait for the receipt (re-signing with higher fees if it
    stays unmined, default policy); raise TransactionReverted if it reverted."""
    return TransactionSender(w3, private_key).send(tx, gas=gas)


def transact(w3: Web3, private_key: str, call: ContractFunction, value: int = 0, gas: int | None = None) -> dict:
    """Send a contract call as a transaction from `private_key`'s account."""
    tx = call.build_transaction({"from": Account.from_key(private_key).address, "value": value, "gas": 1})
    return send(w3, private_key, {"to": tx["to"], "data": tx["data"], "value": value}, gas)


def deploy(w3: Web3, private_key: str, artifact: Artifact, *args: object, value: int = 0) -> str:
    """Deploy `artifact` with constructor `args` (and `value` wei, for a payable one); returns its address."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    receipt = send(w3, private_key, {"data": data, "value": value})
    return receipt["contractAddress"]


def error_signatures(abis: Iterable[list]) -> dict[bytes, tuple[str, list[str]]]:
    """selector → (error name, argument types) for every custom error in `abis`."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for abi in abis:
        for item in abi:
            if item.get("type") == "error":
                types = [arg["type"] for arg in item["inputs"]]
                table[keccak(f"{item['name']}({','.join(types)})".encode())[:4]] = (item["name"], types)
    return table


def decode_revert(data: bytes | str, abis: Iterable[list]) -> tuple[str, tuple]:
    """(error name, decoded arguments) of revert data; ('Error', (message,)) for a require string."""
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    if len(raw) < 4:
        return ("EmptyRevert", ())
    if raw[:4] == keccak(b"Error(string)")[:4]:
        return ("Error", tuple(abi_decode(["string"], raw[4:])))
    name, types = error_signatures(abis).get(raw[:4], (f"Unknown(0x{raw[:4].hex()})", []))
    values = abi_decode(types, raw[4:]) if types else ()
    return (
        name,
        tuple(Web3.to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)),
    )
