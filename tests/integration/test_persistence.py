"""Crash safety: a restart resumes at the same head and state; kill -9 mid-production loses nothing sealed."""

import signal
import threading
import time

import pytest
from eth_account import Account

from linen.devaccounts import dev_accounts
from tests.helpers import NodeProcess, rpc

pytestmark = pytest.mark.slow
CHAIN_ID = 59139


def transfer(key, nonce, value=1):
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21000,
          "to": "0x000000000000000000000000000000000000cafE", "value": value}
    return "0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()


def chain_snapshot(node):
    head = node.call("eth_getBlockByNumber", "latest", False)
    balance = node.call("eth_getBalance", "0x000000000000000000000000000000000000cafE", "latest")
    return head["number"], head["hash"], head["stateRoot"], balance


def test_restart_resumes_at_the_same_head_and_state(tmp_path):
    node = NodeProcess(tmp_path / "node", block_period=0.2).start()
    key = dev_accounts()[7].private_key
    for nonce in range(5):
        node.wait_receipt(node.call("eth_sendRawTransaction", transfer(key, nonce)))
    before = chain_snapshot(node)
    assert node.stop(signal.SIGTERM) == 0
    node.start()
    assert chain_snapshot(node) == before
    node.wait_receipt(node.call("eth_sendRawTransaction", transfer(key, 5)))
    assert int(node.call("eth_blockNumber"), 16) > int(before[0], 16)
    node.stop()


def test_kill_9_during_block_production_loses_no_sealed_block(tmp_path):
    node = NodeProcess(tmp_path / "node", block_period=0.05).start()
    keys = [a.private_key for a in dev_accounts()]
    stop = threading.Event()
    accepted: list[str] = []

    def flood():
        nonce = 0
        while not stop.is_set():
            for key in keys:
                try:
                    response = rpc(node.url, "eth_sendRawTransaction", [transfer(key, nonce)], timeout=2)
                except OSError:
                    return
                if "result" in response:
                    accepted.append(response["result"])
            nonce += 1

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    time.sleep(3.0)
    sealed_before_kill = {}
    for tx_hash in list(accepted)[:50]:
        receipt = rpc(node.url, "eth_getTransactionReceipt", [tx_hash])["result"]
        if receipt:
            sealed_before_kill[tx_hash] = receipt["blockHash"]
    head_before = int(rpc(node.url, "eth_blockNumber")["result"], 16)
    node.stop(signal.SIGKILL)
    stop.set()
    thread.join(5)
    assert head_before > 0 and sealed_before_kill

    node.start()
    head = int(node.call("eth_blockNumber"), 16)
    assert head >= head_before
    # every block up to the head is whole: header, body and receipts agree
    for number in range(1, head + 1):
        block = node.call("eth_getBlockByNumber", hex(number), False)
        assert block is not None, f"block {number} missing after restart"
        receipts = node.call("eth_getBlockReceipts", hex(number))
        assert [r["transactionHash"] for r in receipts] == block["transactions"]
        assert all(r["blockHash"] == block["hash"] for r in receipts)
    for tx_hash, block_hash in sealed_before_kill.items():
        assert node.call("eth_getTransactionReceipt", tx_hash)["blockHash"] == block_hash
    # the state at the head is readable and the chain continues
    node.call("eth_getBalance", "0x000000000000000000000000000000000000cafE", "latest")
    fresh = Account.create()
    funder = dev_accounts()[8]
    nonce = int(node.call("eth_getTransactionCount", funder.address, "latest"), 16)
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21000,
          "to": fresh.address, "value": 7}
    raw = "0x" + bytes(Account.sign_transaction(tx, funder.private_key).raw_transaction).hex()
    node.wait_receipt(node.call("eth_sendRawTransaction", raw))
    assert node.call("eth_getBalance", fresh.address, "latest") == "0x7"
    node.stop()
