"""The bridge's acceptance scenarios, numbered 1-5, on one real `linen devnet`.

The devnet runs everything: anvil as L1 (a block a second), the node, the coordinator (it anchors L1
messages on L2 after 2 L1 confirmations and finalizes L2 blocks on L1) and the postman (dev account 9,
its RPC in devnet.json). The `sent` fixture sends every scenario's messages at once, each scenario from
its own dev account, so anchoring and finality are waited for once for all. A check that needs a message
just sent runs right after its receipt and is recorded for scenario 5 to assert: the claims before
finalization (L1 finalizes an L2 block seconds after it is sealed), and the claims before anchoring, made
while anvil mines nothing after the deposit's block (the coordinator anchors a deposit once a second L1
block holds it), so they cannot race the coordinator. Messages go through BridgeClient; scenario 2 claims with the `linen bridge` CLI,
and scenario 3 claims on L1 with the postman's `linen_getMessageProof` answer, encoded here.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

from linen.bridge.client import BridgeClient, BridgeEndpoints, BridgeRefusal, SentMessage, hex_of
from linen.coordinator.anchoring import l2_web3
from linen.devaccounts import dev_account
from linen.devnet import DEVNET_L1_BLOCK_TIME
from linen.l1.artifacts import compile_contracts
from linen.l1.transact import decode_revert, deploy, transact
from tests.e2e.devnet_support import DevnetProcess
from tests.helpers import LINEN, ROOT, rpc

pytestmark = pytest.mark.slow

ETH = 10**18
FEE = 10**16  # 0.01 ETH: far above what a claim costs on the devnet, so the postman claims
POSTMAN = dev_account(9)  # the devnet's postman (POSTMAN_DEV_ACCOUNT in linen/node.py)
# One dev account per scenario, none that a devnet service signs with (0 is the coordinator's L1 key, 9 the postman)
PAYING, FREE, WITHDRAWING, CALLING, REFUSED_DEPOSIT, REFUSED_WITHDRAWAL = (dev_account(i) for i in range(1, 7))
CALL_PAYLOAD = b"called from L1"
TREE_DEPTH = 5


# -- the devnet and what was sent on it -----------------------------------------------------------------


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    devnet = DevnetProcess(tmp_path_factory.mktemp("bridge") / "devnet")
    try:
        devnet.start()
        yield devnet
        assert devnet.stop() == 0, devnet.log()[-4000:]
    finally:
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
        devnet.stop_l1()


@dataclass
class Chains:
    """Both chains with the compiled contracts (not the client's hand-written ABI), and the devnet's bridge."""

    devnet: DevnetProcess
    endpoints: BridgeEndpoints
    l1: Web3
    l2: Web3
    rollup: Any
    service: Any
    artifacts: dict
    _reader: BridgeClient | None = None

    def client(self, account=None) -> BridgeClient:  # type: ignore[no-untyped-def]
        """A client signing as `account` (a dev account), or one that only reads."""
        if account is None:
            if self._reader is None:
                self._reader = BridgeClient(self.endpoints)
            return self._reader
        return BridgeClient(self.endpoints, account.private_key)

    @property
    def abis(self) -> list[list]:
        return [self.artifacts["LinenRollup"].abi, self.artifacts["L2MessageService"].abi]

    def postman(self, method: str, *params: object) -> dict:
        return rpc(self.endpoints.postman_rpc, method, list(params), timeout=30)

    def revert(self, chain: str, contract: Any, function: str, args: list, sender: str) -> tuple[str, tuple]:
        """(error, args) that an eth_call of `function` reverts with; fails if the call succeeds."""
        url = self.endpoints.l1_rpc if chain == "L1" else self.endpoints.l2_rpc
        tx = {"from": sender, "to": contract.address, "data": contract.encode_abi(function, args)}
        answer = rpc(url, "eth_call", [tx, "latest"], timeout=30)
        assert "error" in answer, f"{function} did not revert on {chain}: {answer}"
        return decode_revert(answer["error"].get("data") or "0x", self.abis)

    def wait_for(self, what: str, read: Callable[[], Any], timeout: float = 150.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := read()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {timeout:g}s:\n{self.devnet.log()[-6000:]}")
            time.sleep(0.5)
        return value

    def wait_postman(self, message: SentMessage, status: str, timeout: float = 150.0) -> None:
        def reached() -> bool:
            view = self.client().postman_status(message)
            return view is not None and view.status == status

        self.wait_for(f"postman status {status} of {hex_of(message.message_hash)}", reached, timeout)

    def proof(self, message: SentMessage) -> dict:
        """The postman's linen_getMessageProof answer, once L1 has finalized the message's block."""
        def answer() -> dict | None:
            return self.postman("linen_getMessageProof", hex_of(message.message_hash)).get("result")

        return self.wait_for(f"the proof of {hex_of(message.message_hash)}", answer)


def claim_params(answer: dict, fee_recipient: str, proof: list[bytes] | None = None) -> tuple:
    """claimMessageWithProof's parameters from a linen_getMessageProof answer (`proof` to replace its siblings)."""
    siblings = [bytes.fromhex(p[2:]) for p in answer["proof"]] if proof is None else proof
    return (siblings, int(answer["messageNumber"], 16), int(answer["leafIndex"], 16), answer["from"], answer["to"],
            int(answer["fee"], 16), int(answer["value"], 16), fee_recipient, bytes.fromhex(answer["merkleRoot"][2:]),
            bytes.fromhex(answer["calldata"][2:]))


@pytest.fixture(scope="module")
def chains(devnet) -> Chains:
    cache = ROOT / ".pytest_cache" / "l1-contracts"
    artifacts = {**compile_contracts(cache), **compile_contracts(cache, ROOT / "tests" / "l1" / "contracts")}
    l1 = Web3(Web3.HTTPProvider(devnet.l1, request_kwargs={"timeout": 30}))
    l2 = l2_web3(devnet.l2)
    contracts = devnet.info["contracts"]
    return Chains(
        devnet, BridgeEndpoints.from_devnet(devnet.data_dir), l1, l2,
        l1.eth.contract(address=contracts["rollup"], abi=artifacts["LinenRollup"].abi),
        l2.eth.contract(address=contracts["l2MessageService"], abi=artifacts["L2MessageService"].abi),
        artifacts,
    )


@dataclass
class Sent:
    paying: SentMessage  # 1
    free: SentMessage  # 2
    withdrawal: SentMessage  # 3
    call: SentMessage  # 4
    receiver: Any  # 4: the MessageReceiver on L2
    refused_deposit: SentMessage  # 5
    refused_withdrawal: SentMessage  # 5
    early: dict[str, Any] = field(default_factory=dict)  # 5: what was answered right after the receipts


def fresh_address() -> str:
    return Account.create().address


@contextlib.contextmanager
def l1_paused(chains: Chains) -> Iterator[None]:
    """Anvil mines no block inside (interval mining off) unless told to; the devnet's 1 s clock resumes after."""
    chains.l1.provider.make_request("evm_setIntervalMining", [0])
    try:
        yield
    finally:
        chains.l1.provider.make_request("evm_setIntervalMining", [int(DEVNET_L1_BLOCK_TIME)])


@pytest.fixture(scope="module")
def sent(chains) -> Sent:
    early: dict[str, Any] = {}

    def send_call() -> tuple[SentMessage, Any]:
        artifact = chains.artifacts["MessageReceiver"]
        receiver = chains.l2.eth.contract(address=deploy(chains.l2, CALLING.private_key, artifact), abi=artifact.abi)
        data = bytes.fromhex(receiver.encode_abi("receiveMessage", [CALL_PAYLOAD])[2:])
        return chains.client(CALLING).deposit(receiver.address, ETH // 20, FEE, data), receiver

    def send_refused_deposit() -> SentMessage:
        """The deposit, checked while L1 mines nothing after its block, so the coordinator cannot anchor it yet."""
        client = chains.client(REFUSED_DEPOSIT)
        with l1_paused(chains), ThreadPoolExecutor(max_workers=1) as one:
            sending = one.submit(client.deposit, fresh_address(), ETH // 10)
            while not sending.done():  # mine the block that holds it, and no other
                pending = chains.l1.provider.make_request("txpool_content", [])["result"]["pending"]
                if REFUSED_DEPOSIT.address.lower() in {address.lower() for address in pending}:
                    chains.l1.provider.make_request("evm_mine", [])
                time.sleep(0.05)
            message = sending.result()
            check_before_anchoring(client, message)
        return message

    def check_before_anchoring(client: BridgeClient, message: SentMessage) -> None:
        early["blocks_after_deposit"] = chains.l1.eth.block_number - message.sent.block_number
        early["inbox_status"] = chains.service.functions.inboxL1L2MessageStatus(message.message_hash).call()
        early["l2_claim_before_anchoring"] = chains.revert(
            "L2", chains.service, "claimMessage",
            [message.sender, message.recipient, message.fee, message.value, REFUSED_DEPOSIT.address,
             message.calldata, message.nonce], REFUSED_DEPOSIT.address)
        early["client_claim_before_anchoring"] = "not refused"
        try:
            client.claim(message.message_hash)
        except BridgeRefusal as exc:
            early["client_claim_before_anchoring"] = str(exc)

    def send_refused_withdrawal() -> SentMessage:
        message = chains.client(REFUSED_WITHDRAWAL).withdraw(fresh_address(), ETH // 10)
        # right after the L2 receipt: L1 finalizes a block some seconds after it is sealed
        early["finalized_when_sent"] = chains.rollup.functions.currentL2BlockNumber().call()
        early["proof_before_finalization"] = chains.postman("linen_getMessageProof", hex_of(message.message_hash))
        made_up = ([os.urandom(32) for _ in range(TREE_DEPTH)], message.nonce, 0, message.sender, message.recipient,
                   message.fee, message.value, REFUSED_WITHDRAWAL.address, os.urandom(32), message.calldata)
        early["l1_claim_made_up_root"] = chains.revert("L1", chains.rollup, "claimMessageWithProof", [made_up],
                                                       REFUSED_WITHDRAWAL.address)
        return message

    refused_deposit = send_refused_deposit()  # first and alone: it holds L1 still for a moment
    with ThreadPoolExecutor(max_workers=5) as pool:
        paying = pool.submit(lambda: chains.client(PAYING).deposit(fresh_address(), 3 * ETH // 10, FEE))
        free = pool.submit(lambda: chains.client(FREE).deposit(fresh_address(), 2 * ETH // 10))
        withdrawal = pool.submit(lambda: chains.client(WITHDRAWING).withdraw(fresh_address(), 4 * ETH // 10))
        call = pool.submit(send_call)
        refused_withdrawal = pool.submit(send_refused_withdrawal)
        call_message, receiver = call.result()
        return Sent(paying.result(), free.result(), withdrawal.result(), call_message, receiver,
                    refused_deposit, refused_withdrawal.result(), early)


# -- the scenarios -------------------------------------------------------------------------------------------


def test_1_a_deposit_with_a_fee_is_claimed_on_l2_by_the_postman(chains, sent):
    """1. The postman claims a paying deposit once anchored; the recipient gets the value (and the unspent fee)."""
    message = sent.paying
    chains.wait_postman(message, "CLAIMED_SUCCESS")
    state = chains.client().status(message)
    assert state.arrived and state.claimed and state.claim is not None
    assert state.postman is not None and state.postman.status == "CLAIMED_SUCCESS"
    receipt = chains.l2.eth.get_transaction_receipt(state.claim.tx_hash)
    assert receipt.status == 1 and receipt["from"] == POSTMAN.address
    (claimed,) = chains.service.events.MessageClaimed().process_receipt(receipt, errors=DISCARD)
    assert bytes(claimed.args._messageHash) == message.message_hash
    row = chains.postman("linen_getMessageStatus", hex_of(message.message_hash), "L1_TO_L2")["result"]
    assert row["claimTransactionHash"] == hex_of(state.claim.tx_hash)

    # The value arrives whole. A fee paid for a plain ETH transfer to an account without code is split as in
    # Linea: the claimer keeps what the claim cost (gas x price), the recipient gets back the rest. The
    # postman's share is read from its balance across the claim's block, where it sent nothing else.
    block = receipt.blockNumber
    postman_txs = [tx for tx in chains.l2.eth.get_block(block, full_transactions=True).transactions
                   if tx["from"] == POSTMAN.address]
    assert len(postman_txs) == 1
    postman_gain = (chains.l2.eth.get_balance(POSTMAN.address, block)
                    - chains.l2.eth.get_balance(POSTMAN.address, block - 1))
    kept_by_postman = postman_gain + receipt.gasUsed * receipt.effectiveGasPrice
    assert 0 < kept_by_postman <= message.fee
    assert chains.l2.eth.get_balance(message.recipient, block - 1) == 0
    assert chains.l2.eth.get_balance(message.recipient) == message.value + (message.fee - kept_by_postman)


def test_2_a_zero_fee_deposit_is_left_by_the_postman_and_claimed_by_its_owner_with_the_cli(chains, sent):
    """2. No fee: the postman says ZERO_FEE and leaves it; `linen bridge claim` delivers exactly the value."""
    message = sent.free
    chains.wait_postman(message, "ZERO_FEE")
    assert chains.service.functions.inboxL1L2MessageStatus(message.message_hash).call() == 1  # anchored, unclaimed
    assert chains.l2.eth.get_balance(message.recipient) == 0

    done = subprocess.run([*LINEN, "bridge", "claim", hex_of(message.message_hash), "--account", "2", "--data-dir",
                           str(chains.devnet.data_dir)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"^claimed\s+L2 tx (0x[0-9a-f]{64}) \(block \d+\)$", done.stdout, re.M)
    assert found, done.stdout
    receipt = chains.l2.eth.get_transaction_receipt(found.group(1))
    assert receipt.status == 1 and receipt["from"] == FREE.address
    assert chains.service.functions.inboxL1L2MessageStatus(message.message_hash).call() == 2
    assert chains.l2.eth.get_balance(message.recipient) == message.value


def test_3_a_withdrawal_is_finalized_and_claimed_on_l1_with_the_postmans_proof(chains, sent):
    """3. A zero-fee withdrawal, once its L2 block is finalized, is claimed on L1 by its owner with the RPC's proof."""
    message = sent.withdrawal
    chains.wait_postman(message, "ZERO_FEE", timeout=200)  # finalized on L1, and left to its owner
    answer = chains.proof(message)
    assert answer["messageHash"] == hex_of(message.message_hash)
    assert (int(answer["messageNumber"], 16), answer["from"], answer["to"], int(answer["value"], 16),
            int(answer["fee"], 16)) == (message.nonce, message.sender, message.recipient, message.value, 0)
    assert chains.rollup.functions.currentL2BlockNumber().call() >= message.sent.block_number
    assert not chains.rollup.functions.isMessageClaimed(message.nonce).call()
    before = chains.l1.eth.get_balance(message.recipient)

    call = chains.rollup.functions.claimMessageWithProof(claim_params(answer, WITHDRAWING.address))
    receipt = transact(chains.l1, WITHDRAWING.private_key, call)
    assert receipt["status"] == 1
    (claimed,) = chains.rollup.events.MessageClaimed().process_receipt(receipt, errors=DISCARD)
    assert bytes(claimed.args._messageHash) == message.message_hash
    assert chains.rollup.functions.isMessageClaimed(message.nonce).call()
    assert chains.l1.eth.get_balance(message.recipient) == before + message.value


def test_4_a_deposit_with_calldata_calls_an_l2_contract_as_the_l1_sender(chains, sent):
    """4. The claim calls the L2 MessageReceiver; during the call, the message service names the L1 sender."""
    message, receiver = sent.call, sent.receiver
    chains.wait_postman(message, "CLAIMED_SUCCESS")
    assert message.sender == CALLING.address and message.recipient == receiver.address
    assert receiver.functions.lastSender().call() == CALLING.address
    assert receiver.functions.lastValue().call() == message.value == ETH // 20
    assert receiver.functions.lastData().call() == CALL_PAYLOAD
    assert chains.l2.eth.get_balance(receiver.address) == message.value


def test_5_replays_early_claims_and_wrong_proofs_are_refused(chains, sent):
    """5. Refused: a claim before anchoring, before finalization, with a wrong proof, and every replayed claim."""
    early, deposit, withdrawal = sent.early, sent.refused_deposit, sent.refused_withdrawal
    # before anchoring (L1 had mined no block after the deposit's, the coordinator waits for one): the L2 inbox
    # does not know the message yet, so the contract and the client refuse
    assert early["blocks_after_deposit"] == 0
    assert early["inbox_status"] == 0
    assert early["l2_claim_before_anchoring"] == ("MessageDoesNotExistOrHasAlreadyBeenClaimed",
                                                  (deposit.message_hash,))
    assert "not anchored on L2" in early["client_claim_before_anchoring"]
    # before finalization: no proof from the postman, and no root on L1 to claim under
    assert early["finalized_when_sent"] < withdrawal.sent.block_number
    error = early["proof_before_finalization"]["error"]
    assert error["code"] == -32002 and error["data"]["reason"] == "NOT_FINALIZED", error
    assert int(error["data"]["l2BlockNumber"], 16) == withdrawal.sent.block_number
    assert early["l1_claim_made_up_root"] == ("L2MerkleRootDoesNotExist", ())

    # a wrong proof: one sibling flipped under the real root
    answer = chains.proof(withdrawal)
    siblings = [bytes.fromhex(p[2:]) for p in answer["proof"]]
    assert len(siblings) == TREE_DEPTH
    flipped = [*siblings]
    flipped[2] = bytes(b ^ 0xFF for b in flipped[2])
    user = REFUSED_WITHDRAWAL.address
    assert chains.revert("L1", chains.rollup, "claimMessageWithProof", [claim_params(answer, user, flipped)],
                         user) == ("InvalidMerkleProof", ())

    # a replayed L1 claim: the right proof is accepted once, then refused
    receipt = transact(chains.l1, REFUSED_WITHDRAWAL.private_key,
                       chains.rollup.functions.claimMessageWithProof(claim_params(answer, user)))
    assert receipt["status"] == 1
    assert chains.revert("L1", chains.rollup, "claimMessageWithProof", [claim_params(answer, user)], user) == (
        "MessageAlreadyClaimed", (withdrawal.nonce,))

    # a replayed L2 claim: claimed once by its owner, then refused by the contract and by the client
    chains.wait_postman(deposit, "ZERO_FEE")
    client = chains.client(REFUSED_DEPOSIT)
    claimed = client.claim(deposit.message_hash)
    assert chains.l2.eth.get_balance(deposit.recipient) == deposit.value
    args = [deposit.sender, deposit.recipient, deposit.fee, deposit.value, REFUSED_DEPOSIT.address,
            deposit.calldata, deposit.nonce]
    assert chains.revert("L2", chains.service, "claimMessage", args, REFUSED_DEPOSIT.address) == (
        "MessageDoesNotExistOrHasAlreadyBeenClaimed", (deposit.message_hash,))
    with pytest.raises(BridgeRefusal, match="already claimed") as refused:
        client.claim(deposit.message_hash)
    assert hex_of(claimed.claim.tx_hash) in str(refused.value)
    assert chains.l2.eth.get_balance(deposit.recipient) == deposit.value
