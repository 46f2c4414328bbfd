"""A Linen node and an anvil running the same signed transactions, for the debug-method tests.

Both chains use chain id 59139 and the dev accounts of `test test ... junk`, so the same signed
bytes (same sender, nonce and hash) land on both and every contract gets the same address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from eth._utils.address import generate_contract_address
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from linen.devaccounts import dev_accounts
from linen.l1.anvil import LaunchedL1, launch_anvil
from tests.helpers import NodeProcess, compile_contracts, rpc

CHAIN_ID = 59139


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def calldata(signature: str, types: list[str] | None = None, values: list | None = None) -> str:
    return "0x" + (selector(signature) + encode(types or [], values or [])).hex()


@dataclass
class Chains:
    node: NodeProcess
    anvil: LaunchedL1
    sender: str
    target: str = ""
    hashes: dict[str, str] = field(default_factory=dict)  # workload step -> transaction hash

    def call(self, url: str, method: str, *params: object) -> object:
        response = rpc(url, method, list(params), timeout=60)
        if "error" in response:
            raise AssertionError(f"{method} on {url}: {response['error']}")
        return response["result"]

    def both(self, method: str, *params: object) -> tuple[object, object]:
        return self.call(self.node.url, method, *params), self.call(self.anvil.url, method, *params)

    def linen(self, method: str, *params: object) -> dict:
        return rpc(self.node.url, method, list(params), timeout=60)


def _wait(url: str, tx_hash: str, timeout: float = 30.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        receipt = rpc(url, "eth_getTransactionReceipt", [tx_hash]).get("result")
        if receipt is not None:
            return receipt
        time.sleep(0.05)
    raise TimeoutError(f"no receipt for {tx_hash} on {url}")


def start_anvil(log_path) -> LaunchedL1:
    """anvil with Prague rules, Linen's chain id and step tracing (without it, struct logs come back empty)."""
    return launch_anvil(None, chain_id=CHAIN_ID, extra_args=("--steps-tracing",), log_path=log_path)


def start_chains(tmp_dir) -> Chains:
    node = NodeProcess(tmp_dir / "node").start()
    try:
        anvil = start_anvil(tmp_dir / "anvil.log")
    except Exception:
        node.stop()
        raise
    account = dev_accounts()[4]
    return Chains(node, anvil, account.address.lower())


def run_workload(chains: Chains) -> None:
    """Deploy TraceTarget and run the traced transactions on both chains (same bytes, same order)."""
    key = dev_accounts()[4].private_key
    artefacts = compile_contracts("TraceTarget")
    nonce = 0

    def sign(to: str | None, data: str, gas: int = 1_000_000, value: int = 0, **extra: object) -> str:
        nonlocal nonce
        tx = extra | {
            "chainId": CHAIN_ID,
            "nonce": nonce,
            "maxFeePerGas": 3 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "gas": gas,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        nonce += 1
        return "0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()

    target = "0x" + keccak(bytes.fromhex("d694") + bytes.fromhex(chains.sender[2:]) + b"\x80")[12:].hex()
    chains.target = target
    # EIP-7702: dev account 7 delegates to the TraceChild that `nested` creates (the target's third creation)
    child = generate_contract_address(bytes.fromhex(target[2:]), 2)
    delegating = dev_accounts()[7]
    authorization = Account.sign_authorization(
        {"chainId": CHAIN_ID, "address": to_checksum_address(child), "nonce": 0}, delegating.private_key
    )
    steps = [
        ("deploy", sign(None, artefacts["TraceTarget"]["bytecode"], gas=3_000_000)),
        ("store", sign(target, calldata("store(uint256,uint256)", ["uint256", "uint256"], [1, 5]))),
        ("nested", sign(target, calldata("nested(uint256)", ["uint256"], [3]), value=1000)),
        ("nested_again", sign(target, calldata("nested(uint256)", ["uint256"], [4]))),
        ("fail", sign(target, calldata("fail()"), gas=200_000)),
        ("custom", sign(target, calldata("custom()"), gas=200_000)),
        ("make2", sign(target, calldata("make2(bytes32)", ["bytes32"], [b"\x01" * 32]))),
        ("clear", sign(target, calldata("store(uint256,uint256)", ["uint256", "uint256"], [1, 0]))),
        ("out_of_gas", sign(target, calldata("store(uint256,uint256)", ["uint256", "uint256"], [5, 5]), gas=26_000)),
        ("create_reverts", sign(None, "0x6000600060aa5f52fd", gas=100_000)),  # MSTORE then REVERT(0, 0)
        ("invalid_opcode", sign(None, "0x6001fe", gas=100_000)),
        ("off_the_end", sign(None, "0x6001600201", gas=100_000)),  # no STOP: the code just ends
        ("selfdestruct", sign(None, "0x73" + "c0de" * 10 + "ff", gas=200_000, value=1000)),  # in its constructor
        (
            "set_code",
            sign(
                delegating.address,
                calldata("set(uint256)", ["uint256"], [77]),
                gas=200_000,
                authorizationList=[authorization],
            ),
        ),
        ("transfer", sign("0x000000000000000000000000000000000000c0de", "0x", gas=21_000, value=12345)),
    ]
    for url in (chains.node.url, chains.anvil.url):
        hashes = {}
        for name, raw in steps:
            response = rpc(url, "eth_sendRawTransaction", [raw])
            assert "error" not in response, (url, name, response)
            hashes[name] = response["result"]
        for tx_hash in hashes.values():
            _wait(url, tx_hash)
        if chains.hashes:
            assert hashes == chains.hashes, "the same signed bytes must give the same hashes"
        chains.hashes = hashes
