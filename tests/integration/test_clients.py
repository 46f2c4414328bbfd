"""Real Ethereum clients against a real `linen node` process: web3.py, ethers v6 and foundry's cast."""

import json
import os
import subprocess

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.middleware import ExtraDataToPOAMiddleware

from linen.devaccounts import dev_accounts
from linen.tools import node_modules, tool_path
from tests.helpers import ROOT, compile_contracts

pytestmark = pytest.mark.slow


def test_web3py_deploys_a_contract_transfers_and_reads_events(node):
    w3 = Web3(Web3.HTTPProvider(node.url))
    # A Clique chain (like Linea): web3.py needs its proof-of-authority middleware for the 97-byte extraData.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    owner, other = dev_accounts()[0], dev_accounts()[1]
    assert w3.eth.chain_id == 59139
    artefact = compile_contracts("TestToken")["TestToken"]
    token_factory = w3.eth.contract(abi=artefact["abi"], bytecode=artefact["bytecode"])
    signer = Account.from_key(owner.private_key)

    def send(tx):
        tx.setdefault("nonce", w3.eth.get_transaction_count(owner.address, "pending"))
        tx.setdefault("chainId", 59139)
        signed = signer.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)

    deploy = token_factory.constructor(10**24).build_transaction({"from": owner.address})
    receipt = send(deploy)
    assert receipt.status == 1
    token = w3.eth.contract(address=receipt.contractAddress, abi=artefact["abi"])
    assert token.functions.totalSupply().call() == 10**24
    assert token.functions.symbol().call() == "LTT"

    transfer = token.functions.transfer(other.address, 1234).build_transaction({"from": owner.address})
    receipt = send(transfer)
    assert receipt.status == 1
    assert token.functions.balanceOf(other.address).call() == 1234

    events = token.events.Transfer().process_receipt(receipt)
    assert len(events) == 1 and events[0].args.value == 1234 and events[0].args.to == other.address
    logs = token.events.Transfer().get_logs(from_block=0, argument_filters={"to": other.address})
    assert [log.args.value for log in logs] == [1234]

    before = w3.eth.get_balance(other.address)
    receipt = send({"to": other.address, "value": 10**18, "gas": 21000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6})
    assert receipt.status == 1
    assert w3.eth.get_balance(other.address) == before + 10**18

    # a reverting call surfaces the custom error's data: InsufficientBalance(0, 1)
    with pytest.raises(ContractCustomError) as excinfo:
        token.functions.transfer(owner.address, 1).call({"from": dev_accounts()[5].address})
    selector = Web3.keccak(text="InsufficientBalance(uint256,uint256)")[:4].hex()
    assert excinfo.value.data == "0x" + selector + "00" * 32 + "00" * 31 + "01"


def test_ethers_v6_sends_waits_and_reads_a_receipt(node):
    env = dict(os.environ, NODE_PATH=str(node_modules()))
    script = ROOT / "tests" / "clients" / "ethers_check.js"
    out = subprocess.run(
        ["node", str(script), node.url, node.ws_url, dev_accounts()[2].private_key],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr + node.log()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["chainId"] == "59139"
    assert result["status"] == 1
    assert result["fetchedHash"] == result["hash"]
    assert result["blockHasTx"] is True
    assert result["balance"] == str(25 * 10**16)
    assert result["gasUsed"] == "21000"
    assert result["wsBlocks"] >= 1


def test_cast_send_balance_and_receipt(node):
    cast = str(tool_path("cast"))
    recipient = "0x000000000000000000000000000000000000bEEF"
    sent = subprocess.run(
        [cast, "send", "--rpc-url", node.url, "--private-key", dev_accounts()[3].private_key, recipient,
         "--value", "12345", "--json"],
        capture_output=True, text=True, timeout=90, check=False,
    )
    assert sent.returncode == 0, sent.stderr + node.log()
    receipt = json.loads(sent.stdout)
    assert receipt["status"] == "0x1"
    balance = subprocess.run([cast, "balance", "--rpc-url", node.url, recipient], capture_output=True, text=True,
                             timeout=30, check=True)
    assert balance.stdout.strip() == "12345"
    fetched = subprocess.run([cast, "receipt", "--rpc-url", node.url, receipt["transactionHash"], "--json"],
                             capture_output=True, text=True, timeout=30, check=True)
    again = json.loads(fetched.stdout)
    assert again["blockHash"] == receipt["blockHash"]
    assert again["from"].lower() == dev_accounts()[3].address.lower()
