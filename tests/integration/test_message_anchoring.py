"""The coordinator's message anchoring, on a real anvil L1 and a real Linen L2 node.

Each test deploys a fresh rollup on L1 and a fresh L2 message service (the devnet operator is its
anchorer), sends messages on L1 and ticks a `MessageAnchorer` by hand, so every step is observable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

from linen.config import load_section_values
from linen.coordinator.anchoring import AnchoringMismatch, AnchoringSettings, MessageAnchorer, l2_web3
from linen.coordinator.service import Coordinator
from linen.coordinator.settings import settings_from_values
from linen.devaccounts import dev_account, operator_dev_account
from linen.errors import ConfigError
from linen.l1.anvil import launch_anvil
from linen.l1.artifacts import compile_contracts
from linen.l1.deploy import L2Settings, deploy_l2
from linen.protocol.messaging import compute_message_hash, compute_rolling_hash
from tests.helpers import ROOT, NodeProcess
from tests.l1.support import OPERATOR, RollupEnv, address_bytes

pytestmark = pytest.mark.slow
ANCHORER = operator_dev_account()
SENDER = dev_account(4)


@pytest.fixture(scope="module")
def artifacts():
    return compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")


@pytest.fixture(scope="module")
def l1_w3():
    launched = launch_anvil(None)
    try:
        yield Web3(Web3.HTTPProvider(launched.url, request_kwargs={"timeout": 60}))
    finally:
        launched.stop()


@pytest.fixture(scope="module")
def l2_node(tmp_path_factory):
    node = NodeProcess(tmp_path_factory.mktemp("anchoring") / "node", block_period=0.25).start()
    yield node
    node.stop()


@dataclass
class Bridge:
    """A fresh rollup on L1 and a fresh L2 message service, with what the tests do to them."""

    l1: Web3
    l2: Web3
    env: RollupEnv
    service: object  # web3 contract on L2

    @property
    def rollup(self):
        return self.env.rollup

    def sign_message(self, sender=SENDER, value: int = 1, data: bytes = b"", nonce: int | None = None) -> bytes:
        tx = self.rollup.functions.sendMessage(sender.address, 0, data).build_transaction({
            "from": sender.address, "value": value, "gas": 200_000, "chainId": self.l1.eth.chain_id,
            "nonce": self.l1.eth.get_transaction_count(sender.address, "pending") if nonce is None else nonce,
            "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
        })
        return bytes(Account.sign_transaction(tx, sender.private_key).raw_transaction)

    def send_messages(self, count: int, sender=SENDER) -> list[bytes]:
        """`count` messages (value = index + 1), mined one per block; returns their hashes, computed here."""
        first = self.l1.eth.get_transaction_count(sender.address, "pending")
        raws = [self.sign_message(sender, value=i + 1, nonce=first + i) for i in range(count)]
        hashes = [self.l1.eth.send_raw_transaction(raw) for raw in raws]
        receipts = [self.l1.eth.wait_for_transaction_receipt(h, 30) for h in hashes]
        assert all(r.status == 1 for r in receipts)
        return [self.message_hash(r) for r in receipts]

    def message_hash(self, receipt) -> bytes:
        """The hash of the receipt's message, recomputed from its MessageSent fields (not read from the event)."""
        (event,) = self.rollup.events.MessageSent().process_receipt(receipt, errors=DISCARD)
        args = event.args
        computed = compute_message_hash(address_bytes(args._from), address_bytes(args._to), args._fee, args._value,
                                        args._nonce, args._calldata)
        assert computed == bytes(args._messageHash)
        return computed

    def anchorer(self, key: str = ANCHORER.private_key, **settings) -> MessageAnchorer:
        return MessageAnchorer(self.l1, self.l2, self.rollup.address, self.service.address, key,
                               AnchoringSettings(**settings), [a.abi for a in self.env.artifacts.values()])

    def mine(self, blocks: int) -> None:
        self.l1.provider.make_request("anvil_mine", [hex(blocks)])

    def reorg(self, depth: int, raw_transactions: list[bytes]) -> None:
        """Replace the last `depth` L1 blocks; the given transactions go into the first new one."""
        answer = self.l1.provider.make_request("anvil_reorg", [depth, [["0x" + r.hex(), 0] for r in raw_transactions]])
        assert "error" not in answer, answer

    # -- reads --------------------------------------------------------------------------------------
    def last_anchored(self) -> int:
        return self.service.functions.lastAnchoredL1MessageNumber().call()

    def status(self, message_hash: bytes) -> int:
        return self.service.functions.inboxL1L2MessageStatus(message_hash).call()

    def l1_rolling(self, number: int) -> bytes:
        return bytes(self.rollup.functions.rollingHashes(number).call())

    def l2_rolling(self, number: int) -> bytes:
        return bytes(self.service.functions.l1RollingHashes(number).call())

    def anchorings(self) -> list[list[bytes]]:
        """The hash list of every anchoring transaction mined on L2, in order."""
        events = self.service.events.L1L2MessageHashesAddedToInbox().get_logs(from_block=0)
        return [[bytes(h) for h in e.args.messageHashes] for e in events]


@pytest.fixture
def bridge(l1_w3, l2_node, artifacts) -> Bridge:
    l2 = l2_web3(l2_node.url)
    env = RollupEnv.deploy(l1_w3, artifacts)
    address = deploy_l2(l2, ANCHORER.private_key, artifacts, L2Settings(ANCHORER.address))
    return Bridge(l1_w3, l2, env, l2.eth.contract(address=address, abi=artifacts["L2MessageService"].abi))


def test_messages_are_anchored_once_l1_finalizes_them_with_l1s_rolling_hash(bridge):
    hashes = bridge.send_messages(3)
    anchorer = bridge.anchorer()  # the default safety: L1's "finalized" block (anvil: 64 blocks back)
    assert anchorer.tick() == 0
    assert bridge.last_anchored() == 0 and bridge.status(hashes[0]) == 0
    bridge.mine(63)
    assert anchorer.tick() == 2  # the last message's block is one short of finalized
    assert bridge.last_anchored() == 2 and bridge.status(hashes[2]) == 0
    bridge.mine(1)
    assert anchorer.tick() == 1
    assert bridge.last_anchored() == 3
    assert bridge.anchorings() == [hashes[:2], hashes[2:]]
    assert [bridge.status(h) for h in hashes] == [1, 1, 1]
    assert bridge.l2_rolling(3) == bridge.l1_rolling(3) == compute_rolling_hash(hashes)


def test_150_messages_take_two_anchorings_and_a_restarted_anchorer_repeats_none(bridge):
    hashes = bridge.send_messages(150)
    anchorer = bridge.anchorer(l1_confirmations=1, logs_block_range=16)
    assert anchorer.tick() == 100
    assert bridge.last_anchored() == 100
    assert anchorer.tick() == 50
    assert anchorer.tick() == 0
    assert bridge.anchorings() == [hashes[:100], hashes[100:]]
    assert bridge.l2_rolling(100) == bridge.l1_rolling(100)
    assert bridge.l2_rolling(150) == bridge.l1_rolling(150) == compute_rolling_hash(hashes)

    # a restart: a new instance scans L1 again from block 0 and takes the L2's word for what is anchored
    nonce = bridge.l2.eth.get_transaction_count(ANCHORER.address)
    restarted = bridge.anchorer(l1_confirmations=1, logs_block_range=16)
    assert restarted.tick() == 0
    assert bridge.l2.eth.get_transaction_count(ANCHORER.address) == nonce  # nothing sent
    extra = bridge.send_messages(1)
    assert restarted.tick() == 1
    assert bridge.anchorings() == [hashes[:100], hashes[100:], extra]
    assert bridge.l2_rolling(151) == bridge.l1_rolling(151)


def test_a_message_in_a_block_orphaned_within_the_safety_is_never_anchored(bridge):
    orphan = bridge.send_messages(1)[0]
    bridge.mine(1)  # the message has 2 confirmations; the anchorer waits for 3
    anchorer = bridge.anchorer(l1_confirmations=3)
    assert anchorer.tick() == 0
    replacement_raw = bridge.sign_message(dev_account(6), value=42)
    bridge.reorg(2, [replacement_raw])
    receipt = bridge.l1.eth.get_transaction_receipt(Web3.keccak(replacement_raw))
    replacement = bridge.message_hash(receipt)
    assert bridge.l1_rolling(1) == compute_rolling_hash([replacement]) != compute_rolling_hash([orphan])
    assert anchorer.tick() == 0  # 2 confirmations again
    bridge.mine(1)
    assert anchorer.tick() == 1
    assert bridge.status(orphan) == 0 and bridge.status(replacement) == 1
    assert bridge.l2_rolling(1) == bridge.l1_rolling(1)


def test_a_reorg_deeper_than_the_safety_is_detected_not_anchored(bridge, caplog):
    first, stale = bridge.send_messages(2)
    anchorer = bridge.anchorer(l1_confirmations=1, max_messages=1)
    assert anchorer.tick() == 1  # message 1; message 2 is scanned and waits for the next group
    # L1 replaces message 2's block although it was "safe": the scanned message is no longer L1's
    replacement_raw = bridge.sign_message(dev_account(6), value=43)
    bridge.reorg(1, [replacement_raw])
    replacement = bridge.message_hash(bridge.l1.eth.get_transaction_receipt(Web3.keccak(replacement_raw)))
    with pytest.raises(AnchoringMismatch, match="no longer L1's"):
        anchorer.tick()
    assert bridge.last_anchored() == 1 and bridge.status(stale) == 0
    assert anchorer.tick() == 1  # scanned again: L1's message 2 this time
    assert bridge.status(replacement) == 1 and bridge.l2_rolling(2) == bridge.l1_rolling(2)

    # now L1 replaces a block whose message L2 has already anchored: L2's record and L1 disagree for good
    bridge.reorg(1, [bridge.sign_message(dev_account(7), value=44)])
    later = bridge.send_messages(1)[0]
    for _ in range(2):
        with pytest.raises(AnchoringMismatch, match="reorged deeper than the anchoring safety after they were"):
            anchorer.tick()
    assert bridge.last_anchored() == 2 and bridge.status(later) == 0
    assert first and bridge.status(first) == 1


def test_a_wrong_anchorer_key_is_a_clear_error_and_the_coordinator_keeps_ticking(bridge, l2_node, tmp_path, caplog):
    hashes = bridge.send_messages(1)
    intruder = dev_account(9)
    values = load_section_values("coordinator", None, {
        "node-rpc": l2_node.url, "state-manager-rpc": l2_node.url, "l1-rpc": bridge.l1.provider.endpoint_uri,
        "rollup": bridge.rollup.address, "l2-message-service": bridge.service.address, "l1-key": OPERATOR.private_key,
        "data-dir": str(tmp_path / "coordinator"), "l2-key": intruder.private_key,
        "anchoring-l1-confirmations": 1, "anchoring-polling-interval": 0.0,
    })
    coordinator = Coordinator(settings_from_values(values))
    try:
        head = bridge.l2.eth.block_number
        with caplog.at_level(logging.WARNING, logger="linen.coordinator.service"):
            coordinator.tick()
            coordinator.tick()
        assert coordinator.anchorer.health.last_error is not None
        assert f"the anchorer {intruder.address} lacks L1_L2_MESSAGE_SETTER_ROLE" in coordinator.anchorer.health.last_error
        assert sum("lacks L1_L2_MESSAGE_SETTER_ROLE" in r.getMessage() for r in caplog.records) == 2
        assert bridge.last_anchored() == 0 and bridge.status(hashes[0]) == 0
        assert coordinator.health.conflated_up_to >= head  # the steps after anchoring ran on both ticks
    finally:
        coordinator.close()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"l2-key": "0x1234"}, "l2-key must be a 32-byte hex private key"),
    ({"anchoring-l1-block-tag": "pending"}, "anchoring-l1-block-tag must be one of finalized, safe, latest"),
    ({"anchoring-max-messages": 101}, "anchoring-max-messages must be 1..100"),
    ({"anchoring-l1-confirmations": -1}, "anchoring-l1-confirmations must not be negative"),
])
def test_bad_anchoring_settings_are_named(overrides, message):
    required = {"node-rpc": "http://127.0.0.1:1", "state-manager-rpc": "http://127.0.0.1:2",
                "l1-rpc": "http://127.0.0.1:3", "rollup": "0x" + "11" * 20, "l2-message-service": "0x" + "22" * 20,
                "l1-key": "0x" + "33" * 32}
    with pytest.raises(ConfigError, match=message):
        settings_from_values(load_section_values("coordinator", None, {**required, **overrides}))
