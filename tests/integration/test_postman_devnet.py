"""`linen devnet` runs the postman: a deposit and a withdrawal are claimed with no one else acting, and after a
restart the postman resumes from its store without claiming anything twice."""

from __future__ import annotations

import time

import pytest
from web3 import Web3
from web3.logs import DISCARD

from linen.devaccounts import dev_account
from linen.l1.artifacts import compile_contracts
from linen.l1.transact import transact
from linen.postman.service import connect
from tests.e2e.devnet_support import DevnetProcess
from tests.helpers import ROOT, rpc
from tests.integration.postman_support import fresh_address

pytestmark = pytest.mark.slow

USER = dev_account(5)
POSTMAN = dev_account(9)


def send_both_ways(devnet: DevnetProcess, to: str) -> tuple[str, str]:
    """A fee-paying deposit and withdrawal to `to`; their message hashes."""
    artifacts = compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")
    l1, l2 = Web3(Web3.HTTPProvider(devnet.l1)), connect(devnet.l2, proof_of_authority=True)
    contracts = devnet.info["contracts"]
    rollup = l1.eth.contract(address=contracts["rollup"], abi=artifacts["LinenRollup"].abi)
    service = l2.eth.contract(address=contracts["l2MessageService"], abi=artifacts["L2MessageService"].abi)
    receipt = transact(l1, USER.private_key, rollup.functions.sendMessage(to, 10**15, b""), 10**17 + 10**15)
    deposit = rollup.events.MessageSent().process_receipt(receipt, errors=DISCARD)[0].args._messageHash
    fee = service.functions.minimumFeeInWei().call() + 10**15
    receipt = transact(l2, USER.private_key, service.functions.sendMessage(to, fee, b""), 10**16 + fee)
    withdrawal = service.events.MessageSent().process_receipt(receipt, errors=DISCARD)[0].args._messageHash
    return "0x" + bytes(deposit).hex(), "0x" + bytes(withdrawal).hex()


def wait_claimed(devnet: DevnetProcess, message_hash: str, direction: str, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    answer: dict = {}
    while time.monotonic() < deadline:
        answer = rpc(devnet.info["postman"]["rpc"], "linen_getMessageStatus", [message_hash, direction], timeout=30)
        if answer.get("result", {}).get("status") == "CLAIMED_SUCCESS":
            return answer["result"]
        time.sleep(0.5)
    raise AssertionError(f"{direction} {message_hash} not claimed: {answer}\n{devnet.log()[-4000:]}")


def postman_nonces(devnet: DevnetProcess) -> tuple[int, int]:
    return (Web3(Web3.HTTPProvider(devnet.l1)).eth.get_transaction_count(POSTMAN.address),
            connect(devnet.l2).eth.get_transaction_count(POSTMAN.address))


def test_devnet_postman_claims_both_ways_and_resumes_after_a_restart(tmp_path):
    devnet = DevnetProcess(tmp_path / "devnet").start()
    try:
        assert devnet.info["postman"]["address"] == POSTMAN.address
        alice = fresh_address("devnet alice")
        deposit, withdrawal = send_both_ways(devnet, alice)
        claimed = {d: wait_claimed(devnet, h, d) for h, d in ((deposit, "L1_TO_L2"), (withdrawal, "L2_TO_L1"))}
        assert connect(devnet.l2).eth.get_balance(alice) > 10**17
        assert Web3(Web3.HTTPProvider(devnet.l1)).eth.get_balance(alice) > 10**16
        before = postman_nonces(devnet)
        assert before == (1, 1)  # one claim on each chain, nothing else
        devnet.stop()

        devnet.start()
        bob = fresh_address("devnet bob")
        deposit_2, withdrawal_2 = send_both_ways(devnet, bob)
        wait_claimed(devnet, deposit_2, "L1_TO_L2")
        wait_claimed(devnet, withdrawal_2, "L2_TO_L1")
        for (message_hash, direction), row in zip(((deposit, "L1_TO_L2"), (withdrawal, "L2_TO_L1")),
                                                  claimed.values(), strict=True):
            assert wait_claimed(devnet, message_hash, direction, 5) == row  # kept, untouched by the restart
        assert postman_nonces(devnet) == (before[0] + 1, before[1] + 1)
    finally:
        devnet.stop()
        devnet.stop_l1()
