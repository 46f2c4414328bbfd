"""End to end on a real `linen devnet`: an L1 deposit is anchored on L2, claimed there, and finalized on L1.

The coordinator inside the devnet anchors the deposit once 2 of anvil's 1-second blocks hold it; the
anchoring's RollingHashUpdated log travels through the execution proof and the aggregation into
finalizeBlocks, and the rollup accepts it only if that rolling hash is its own for that message number.
"""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak
from web3 import Web3
from web3.logs import DISCARD

from linen.coordinator.anchoring import l2_web3
from linen.devaccounts import dev_accounts
from linen.devnet import BRIDGE_RESERVE_WEI
from linen.l1.artifacts import compile_contracts
from linen.l1.transact import transact
from tests.e2e.devnet_support import DevnetProcess, wait_for
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
ZERO_ADDRESS = "0x" + "00" * 20


def finalized_state(number: int, rolling_hash: bytes, timestamp: int) -> bytes:
    return keccak(number.to_bytes(32, "big") + rolling_hash + timestamp.to_bytes(32, "big"))


def test_a_deposit_is_anchored_claimed_on_l2_and_finalized_with_l1s_rolling_hash(tmp_path):
    devnet = DevnetProcess(tmp_path / "devnet").start()
    try:
        artifacts = compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")
        l1 = Web3(Web3.HTTPProvider(devnet.l1, request_kwargs={"timeout": 30}))
        l2 = l2_web3(devnet.l2)
        contracts = devnet.info["contracts"]
        rollup = l1.eth.contract(address=contracts["rollup"], abi=artifacts["LinenRollup"].abi)
        service = l2.eth.contract(address=contracts["l2MessageService"], abi=artifacts["L2MessageService"].abi)
        assert l2.eth.get_balance(service.address) == BRIDGE_RESERVE_WEI

        # 1. a deposit on L1: 3 ETH to an address that has nothing on L2
        depositor, claimer = dev_accounts()[5], dev_accounts()[6]
        recipient = Web3.to_checksum_address(b"\xd0" * 20)
        value = 3 * 10**18
        receipt = transact(l1, depositor.private_key, rollup.functions.sendMessage(recipient, 0, b""), value=value)
        (sent,) = rollup.events.MessageSent().process_receipt(receipt, errors=DISCARD)
        nonce, message_hash = sent.args._nonce, bytes(sent.args._messageHash)

        # 2. the coordinator anchors it on L2 (with L1's rolling hash, or the contract would refuse)
        def anchoring():
            events = service.events.L1L2MessageHashesAddedToInbox().get_logs(from_block=0)
            return next((e for e in events if message_hash in [bytes(h) for h in e.args.messageHashes]), None)

        anchored = wait_for("the anchoring of the deposit", anchoring, log=devnet.log)
        assert service.functions.inboxL1L2MessageStatus(message_hash).call() == 1
        anchored_up_to = service.functions.lastAnchoredL1MessageNumber().call()
        assert anchored_up_to >= nonce
        assert service.functions.l1RollingHashes(anchored_up_to).call() == rollup.functions.rollingHashes(
            anchored_up_to).call()

        # 3. anyone claims it on L2: the recipient gets the value out of the service's reserve
        claim = service.functions.claimMessage(depositor.address, recipient, 0, value, ZERO_ADDRESS, b"", nonce)
        claimed = transact(l2, claimer.private_key, claim)
        assert l2.eth.get_balance(recipient) == value
        assert l2.eth.get_balance(service.address) == BRIDGE_RESERVE_WEI - value

        # 4. L1 finalizes past the anchoring; the finalization carries the rolling hash of a number >= the nonce
        devnet.wait_finalized(max(anchored.blockNumber, claimed["blockNumber"]))
        finalizations = []
        for event in rollup.events.DataFinalizedV3().get_logs(from_block=0):
            _function, args = rollup.decode_function_input(l1.eth.get_transaction(event.transactionHash).input)
            data = args["_finalizationData"]
            # the rollup's record after each finalization: keccak(message number, rolling hash, final timestamp)
            state = bytes(rollup.functions.currentFinalizedState().call(block_identifier=event.blockNumber))
            assert state == finalized_state(data["l1RollingHashMessageNumber"], bytes(data["l1RollingHash"]),
                                            data["finalTimestamp"])
            finalizations.append((event.args.endBlockNumber, data))
        covering = next(data for end, data in finalizations if end >= anchored.blockNumber)
        number, rolling_hash = covering["l1RollingHashMessageNumber"], bytes(covering["l1RollingHash"])
        assert number >= nonce
        assert rolling_hash == bytes(rollup.functions.rollingHashes(number).call())
        assert rolling_hash == bytes(service.functions.l1RollingHashes(number).call())
        assert devnet.stop() == 0
    finally:
        if devnet.proc is not None and devnet.proc.poll() is None:
            devnet.kill()
        devnet.stop_l1()
