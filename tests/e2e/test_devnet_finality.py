"""End to end on a real `linen devnet`: L2 transactions -> batch -> blob on L1 -> aggregation -> finality.

Everything runs as in production on one machine: anvil as L1, the node, the coordinator and a prover
controller inside `linen devnet`, proofs made by `python -m linen.prover.prove` subprocesses.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from eth_account import Account
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from linen.devaccounts import dev_accounts
from linen.protocol.blob import decode_blob, linen_dictionary, signing_payload
from linen.state.hashers import get_hasher
from tests.e2e.devnet_support import DevnetProcess, call
from tests.helpers import compile_contracts

pytestmark = pytest.mark.slow
CHAIN_ID = 59139


def l2_web3(url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def sign(key: str, nonce: int, **fields) -> bytes:
    tx = {"chainId": CHAIN_ID, "nonce": nonce, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6, "gas": 21_000,
          "value": 0, **fields}
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def blob_of_block(devnet: DevnetProcess, number: int) -> bytes:
    """The packed bytes of the blob carrying `number`, read back from L1 (anvil keeps blob sidecars)."""
    blobs = devnet.blobs()
    start, end, tx_hash = next(b for b in blobs if b[0] <= number <= b[1])
    index = [b for b in blobs if b[2] == tx_hash].index((start, end, tx_hash))
    tx = call(devnet.l1, "eth_getTransactionByHash", tx_hash)
    assert tx["type"] == "0x3"
    blob = bytes.fromhex(call(devnet.l1, "anvil_getBlobByHash", tx["blobVersionedHashes"][index])[2:])
    return blob


class TagSampler:
    """Samples (safe, finalized, head) from the L2 every 200 ms: the tags must follow L1 and never move back."""

    def __init__(self, url: str) -> None:
        self.url, self.samples, self._stop = url, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                finalized = int(call(self.url, "eth_getBlockByNumber", "finalized", False)["number"], 16)
                safe = int(call(self.url, "eth_getBlockByNumber", "safe", False)["number"], 16)
                head = int(call(self.url, "eth_blockNumber"), 16)
                self.samples.append((safe, finalized, head))
            except (AssertionError, OSError):
                pass
            time.sleep(0.2)

    def stop(self) -> list[tuple[int, int, int]]:
        self._stop.set()
        self._thread.join(5)
        return self.samples


def test_transfers_reach_a_blob_on_l1_and_finality(tmp_path):
    devnet = DevnetProcess(tmp_path / "devnet").start()
    tags = TagSampler(devnet.l2)
    try:
        w3 = l2_web3(devnet.l2)
        alice, bob = dev_accounts()[1], dev_accounts()[2]
        # 1. ETH transfers on L2 to fresh addresses
        sent: list[bytes] = []
        for nonce in range(4):
            raw = sign(alice.private_key, nonce, to=Web3.to_checksum_address(bytes([0xE0 + nonce]) * 20), value=10**15)
            sent.append(raw)
            w3.eth.send_raw_transaction(raw)
        # 2. an ERC-20: deploy, then two transfers
        token = compile_contracts("TestToken")["TestToken"]
        factory = w3.eth.contract(abi=token["abi"], bytecode=token["bytecode"])
        deploy = factory.constructor(10**24).build_transaction({"from": bob.address, "nonce": 0, "chainId": CHAIN_ID,
                                                                 "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6})
        raw = bytes(Account.sign_transaction(deploy, bob.private_key).raw_transaction)
        sent.append(raw)
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=60)
        contract = w3.eth.contract(address=receipt.contractAddress, abi=token["abi"])
        for nonce in (1, 2):
            transfer = contract.functions.transfer(alice.address, 10**18 * nonce).build_transaction(
                {"from": bob.address, "nonce": nonce, "chainId": CHAIN_ID, "gas": 100_000,
                 "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**6})
            raw = bytes(Account.sign_transaction(transfer, bob.private_key).raw_transaction)
            sent.append(raw)
            w3.eth.send_raw_transaction(raw)
        receipts = [w3.eth.wait_for_transaction_receipt(Web3.keccak(raw), timeout=60) for raw in sent]
        assert all(r.status == 1 for r in receipts)
        last_block = max(r.blockNumber for r in receipts)

        # 3. batch -> blob -> aggregation -> finalizeBlocks: L1 finalizes past the last transaction's block
        finalized = devnet.wait_finalized(last_block)

        # 4. each transaction is in a type-3 transaction's blob on L1, which decodes back to it
        mimc = get_hasher("mimc-bls12-377")
        for raw, receipt in zip(sent, receipts, strict=True):
            decoded = decode_blob(blob_of_block(devnet, receipt.blockNumber), linen_dictionary(), mimc)
            block_hash = bytes(receipt.blockHash)
            block = next(b for b in decoded.blocks if b.block_hash == block_hash)
            sender = bytes(receipt["from"] if isinstance(receipt["from"], bytes) else bytes.fromhex(receipt["from"][2:]))
            assert (sender, signing_payload(raw)) in [(t.sender, t.signing_payload) for t in block.transactions]

        # 5. L1's finalized block and state root are the state manager's
        assert devnet.finalized_block() == finalized
        assert devnet.l1_state_root(finalized) == devnet.zk_root(finalized)

        # 6. "finalized" and "safe" follow L1 (issue 13): the L2 reports L1's finalized block once it has
        # seen it, "safe" (data on L1) is never behind it, and neither ever moves back
        deadline = time.time() + 15
        while time.time() < deadline and (not tags.samples or tags.samples[-1][1] < finalized):
            time.sleep(0.2)
        samples = tags.stop()
        assert samples and samples[-1][1] >= finalized, samples[-5:]
        assert samples[-1][1] <= devnet.finalized_block()
        assert any(f < h for _, f, h in samples), "finalized was always the head: it does not follow L1"
        for (safe, fin, head), (later_safe, later_fin, _) in zip(samples, samples[1:], strict=False):
            assert later_safe >= safe and later_fin >= fin, (safe, fin, later_safe, later_fin)
            assert fin <= safe <= head
        assert devnet.stop() == 0
    finally:
        tags.stop()
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
        devnet.stop_l1()


def test_kill_9_at_random_points_loses_nothing_and_submits_nothing_twice(tmp_path):
    rng = random.Random(20261121)
    devnet = DevnetProcess(tmp_path / "devnet").start()
    sender = dev_accounts()[3]
    signed = [sign(sender.private_key, n, to=Web3.to_checksum_address(bytes([0xA0 + n % 16]) * 20), value=1)
              for n in range(40)]
    accepted: set[bytes] = set()
    try:
        next_tx = 0
        for _round in range(3):
            # send for a random while, then kill -9 the whole devnet process and start it again
            stop_at = time.time() + rng.uniform(4.0, 14.0)
            while time.time() < stop_at and next_tx < len(signed):
                try:
                    call(devnet.l2, "eth_sendRawTransaction", "0x" + signed[next_tx].hex())
                    accepted.add(Web3.keccak(signed[next_tx]))
                    next_tx += 1
                except (AssertionError, OSError):
                    pass
                time.sleep(0.3)
            included = {h for h in accepted if call(devnet.l2, "eth_getTransactionReceipt", "0x" + h.hex())}
            devnet.kill()
            devnet.start()
            # every transaction included before the kill is still there
            for tx_hash in included:
                assert call(devnet.l2, "eth_getTransactionReceipt", "0x" + tx_hash.hex())["status"] == "0x1"
        # pending transactions live in memory only (like geth's remote ones): resend whatever is missing
        for raw in signed[:next_tx]:
            if not call(devnet.l2, "eth_getTransactionReceipt", "0x" + Web3.keccak(raw).hex()):
                try:  # "already known" or "nonce too low" answers are fine
                    call(devnet.l2, "eth_sendRawTransaction", "0x" + raw.hex())
                except AssertionError:
                    pass
        deadline = time.time() + 60
        receipts = []
        for raw in signed[:next_tx]:
            while (receipt := call(devnet.l2, "eth_getTransactionReceipt", "0x" + Web3.keccak(raw).hex())) is None:
                assert time.time() < deadline, "a transaction never made it into a block"
                time.sleep(0.2)
            receipts.append(receipt)
        last_block = max(int(r["blockNumber"], 16) for r in receipts)
        finalized = devnet.wait_finalized(last_block)
        assert devnet.l1_state_root(finalized) == devnet.zk_root(finalized)
        # nothing submitted twice: every transaction the operator sent to L1 succeeded (a duplicate blob
        # or finalization would revert), and each blob went out exactly once
        operator = Account.from_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").address
        statuses = []
        for number in range(int(call(devnet.l1, "eth_blockNumber"), 16) + 1):
            block = call(devnet.l1, "eth_getBlockByNumber", hex(number), True)
            for tx in block["transactions"]:
                if tx["from"].lower() == operator.lower() and tx.get("to"):
                    statuses.append(call(devnet.l1, "eth_getTransactionReceipt", tx["hash"])["status"])
        assert statuses and all(status == "0x1" for status in statuses)
        submissions = [b[2] for b in devnet.blobs()]
        assert len(devnet.blobs()) == len({(b[0], b[1]) for b in devnet.blobs()})
        assert all(submissions)
        assert devnet.stop() == 0
    finally:
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
        devnet.stop_l1()
