"""Set-up shared by the postman tests: anvil as L1 with a fresh rollup, a real Linen node as L2 with its
message service (holding ETH to pay deposits), and postman settings pointing at both.

Accounts (tests/l1/support.py): ADMIN deploys, ANCHORER anchors L1 messages on L2 (the coordinator's
role), USER sends messages, POSTMAN is the postman's key on both chains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from web3 import Web3

from linen.config import load_section_values
from linen.l1.anvil import LaunchedL1, launch_anvil
from linen.l1.artifacts import compile_contracts
from linen.l1.deploy import L2Settings, deploy_l2
from linen.l1.transact import send, transact
from linen.postman.service import Postman, connect
from linen.postman.settings import PostmanSettings, settings_from_values
from tests.helpers import ROOT, NodeProcess
from tests.l1.support import ADMIN, ANCHORER, POSTMAN, USER, RollupEnv, deploy_receiver, events

MIN_FEE = 10**14
RESERVE = 100 * 10**18


@dataclass
class PostmanBed:
    """Both chains, the contracts and a receiver contract on L2; `close` stops the processes."""

    l1: LaunchedL1
    node: NodeProcess
    l1_w3: Web3
    l2_w3: Web3
    env: RollupEnv
    l2_service: object
    l2_receiver: object
    artifacts: dict
    finality: object = None  # tests/l1/l2_finality.L2Finality, for the tests that finalize L2 blocks
    sent: list = field(default_factory=list)  # (hash, L2 block) of the withdrawals sent, in order

    @classmethod
    def start(cls, work_dir: Path) -> PostmanBed:
        artifacts = compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")
        test_artifacts = compile_contracts(ROOT / ".pytest_cache" / "l1-contracts", ROOT / "tests" / "l1" / "contracts")
        l1 = launch_anvil(None)
        try:
            node = NodeProcess(work_dir / "node", block_period=0.25).start()
        except BaseException:
            l1.stop()
            raise
        l1_w3 = Web3(Web3.HTTPProvider(l1.url, request_kwargs={"timeout": 60}))
        l2_w3 = connect(node.url, proof_of_authority=True)
        env = RollupEnv.deploy(l1_w3, artifacts)
        # ETH bridged to L2 earlier: the rollup pays L2→L1 claims from it
        env.send(env.rollup.functions.sendMessage(ADMIN.address, 0, b""), sender=ADMIN, value=50 * 10**18)
        service = deploy_l2(l2_w3, ADMIN.private_key, artifacts, L2Settings(ANCHORER.address, minimum_fee_wei=MIN_FEE))
        # the service has no receive function: a constructor that self-destructs gives it its reserve
        send(l2_w3, ADMIN.private_key, {"data": b"\x73" + bytes.fromhex(service[2:]) + b"\xff", "value": RESERVE})
        assert l2_w3.eth.get_balance(service) == RESERVE
        l2_service = l2_w3.eth.contract(address=service, abi=artifacts["L2MessageService"].abi)
        return cls(l1, node, l1_w3, l2_w3, env, l2_service, deploy_receiver(l2_w3, test_artifacts), artifacts)

    def close(self) -> None:
        self.node.stop()
        self.l1.stop()

    def postman(self, data_dir: Path, **overrides) -> Postman:
        return Postman(postman_settings(self, data_dir, **overrides), self.l1_w3, self.l2_w3)


def postman_settings(bed: PostmanBed, data_dir: Path, **overrides) -> PostmanSettings:
    values = {
        "l1-rpc": bed.l1_w3.provider.endpoint_uri,
        "l2-rpc": bed.l2_w3.provider.endpoint_uri,
        "rollup": bed.env.rollup.address,
        "l2-message-service": bed.l2_service.address,
        "l1-key": POSTMAN.private_key,
        "l2-key": POSTMAN.private_key,
        "data-dir": str(data_dir),
        "rpc-port": 0,
        "l1-confirmations": 0,
        "polling-interval": 0.2,
        "submission-timeout": 5.0,
    }
    values.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return settings_from_values(load_section_values("postman", None, values))


def deposit(env: RollupEnv, to: str, value: int, fee: int, data: bytes = b"") -> object:
    """USER sends an L1→L2 message; its MessageSent args."""
    receipt = env.send(env.rollup.functions.sendMessage(to, fee, data), sender=USER, value=value + fee)
    (event,) = events(env.rollup, "MessageSent", receipt)
    return event.args


def anchor_all(bed: PostmanBed) -> None:
    """Anchor every L1 message not yet on L2, as the coordinator does (ANCHORER holds the setter role)."""
    env, l2_w3, l2_service = bed.env, bed.l2_w3, bed.l2_service
    last = l2_service.functions.lastAnchoredL1MessageNumber().call()
    final = env.rollup.functions.nextMessageNumber().call() - 1
    if final <= last:
        return
    logs = env.rollup.events.MessageSent().get_logs(from_block=0)
    hashes = [bytes(e.args._messageHash) for e in sorted(logs, key=lambda e: e.args._nonce) if e.args._nonce > last]
    rolling = env.rollup.functions.rollingHashes(final).call()
    transact(l2_w3, ANCHORER.private_key, l2_service.functions.anchorL1L2MessageHashes(hashes, last + 1, final,
                                                                                         rolling))


def fresh_address(label: str) -> str:
    return Account.from_key(Web3.keccak(text=label)).address
