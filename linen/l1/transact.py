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

GAS_MARGIN = 1.25


class TransactionReverted(RuntimeError):
    """A mined transaction with status 0 (estimation passed but execution failed)."""


def _fees(w3: Web3) -> dict:
    base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
    return {"maxPriorityFeePerGas": 10**9, "maxFeePerGas": 2 * base_fee + 10**9}


def send(w3: Web3, private_key: str, tx: dict, gas: int | None = None) -> dict:
    """Fill nonce, fees and gas, sign, send and wait for the receipt; raise if it reverted."""
    account = Account.from_key(private_key)
    tx = {"chainId": w3.eth.chain_id, "from": account.address, "value": 0, **_fees(w3), **tx}
    tx["nonce"] = w3.eth.get_transaction_count(account.address, "pending")
    tx["gas"] = gas or int(w3.eth.estimate_gas(tx) * GAS_MARGIN)
    signed = account.sign_transaction({k: v for k, v in tx.items() if k != "from"})
    receipt = dict(w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), 120))
    if receipt["status"] != 1:
        raise TransactionReverted(f"transaction {receipt['transactionHash'].hex()} reverted")
    return receipt


def transact(w3: Web3, private_key: str, call: ContractFunction, value: int = 0, gas: int | None = None) -> dict:
    """Send a contract call as a transaction from `private_key`'s account."""
    tx = call.build_transaction({"from": Account.from_key(private_key).address, "value": value, "gas": 1})
    return send(w3, private_key, {"to": tx["to"], "data": tx["data"], "value": value}, gas)


def deploy(w3: Web3, private_key: str, artifact: Artifact, *args: object) -> str:
    """Deploy `artifact` with constructor `args`; returns its checksummed address."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    receipt = send(w3, private_key, {"data": data})
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
