"""`linen bridge` as a user runs it: a real subprocess against a real L1 (anvil with the rollup) and L2.

The L2 is a second anvil holding the L2 message service (a real Linen node in the last test), and a
synthetic devnet.json points the CLI at both. The tests do the devnet's other parts by hand: they
anchor L1 messages on L2 as the coordinator would, finalize L2 blocks (with their L2→L1 Merkle roots)
on L1 as the coordinator would, and claim as the postman would, so every stage the CLI reports
is caused, and checked on chain, by the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD
from web3.middleware import ExtraDataToPOAMiddleware

from linen.bridge.abi import L2_MESSAGE_SERVICE_ABI
from linen.bridge.client import BridgeClient, BridgeEndpoints
from linen.cli import main
from linen.devaccounts import dev_account, dev_accounts
from linen.l1.anvil import launch_anvil
from linen.l1.artifacts import compile_contracts
from linen.l1.deploy import L2Settings, deploy_l2
from linen.l1.finalization import ShnarfData
from linen.l1.transact import transact
from linen.protocol.calldata_submission import compute_calldata_submission
from linen.protocol.messaging import (
    build_l2_message_trees,
    compute_message_hash,
    encode_l2_messaging_blocks_offsets,
)
from tests.helpers import LINEN, ROOT, NodeProcess, free_port
from tests.l1.support import ANCHORER, POSTMAN, USER, RollupEnv, address_bytes, deploy_l2_service, deploy_receiver

pytestmark = pytest.mark.slow

ETH = 10**18
MIN_FEE = 10**14
CLAIMER = dev_account(5)
HASH = r"0x[0-9a-f]{64}"


# -- chains and the devnet.json that names them ---------------------------------------------------


@pytest.fixture(scope="module")
def artifacts():
    return compile_contracts(ROOT / ".pytest_cache" / "l1-contracts")


@pytest.fixture(scope="module")
def test_artifacts():
    return compile_contracts(ROOT / ".pytest_cache" / "l1-contracts", ROOT / "tests" / "l1" / "contracts")


def _anvil(chain_id: int | None = None):
    launched = launch_anvil(None, **({"chain_id": chain_id} if chain_id else {}))
    return launched, Web3(Web3.HTTPProvider(launched.url, request_kwargs={"timeout": 60}))


@pytest.fixture(scope="module")
def l1():
    launched, w3 = _anvil()
    yield w3
    launched.stop()


@pytest.fixture(scope="module")
def l2():
    launched, w3 = _anvil(59139)
    yield w3
    launched.stop()


def write_devnet_json(data_dir: Path, l1: Web3, l2: Web3, rollup: str, service: str, postman_rpc: str = "") -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "l1": {"rpc": l1.provider.endpoint_uri, "chainId": l1.eth.chain_id},
        "l2": {"rpc": l2.provider.endpoint_uri, "chainId": l2.eth.chain_id},
        "contracts": {"rollup": rollup, "l2MessageService": service},
        "accounts": [{"address": a.address, "privateKey": a.private_key} for a in dev_accounts()],
    }
    if postman_rpc:
        info["postman"] = {"rpc": postman_rpc}
    (data_dir / "devnet.json").write_text(json.dumps(info))
    return data_dir


@dataclass
class Chains:
    """The rollup on L1, the L2 message service, a message receiver on L2, and what the devnet would do."""

    l1: Web3
    l2: Web3
    env: RollupEnv
    service: object
    receiver: object
    data_dir: Path

    @property
    def rollup(self):
        return self.env.rollup

    def anchor_pending(self) -> dict:
        """Anchor every L1 message not yet on L2, in one transaction, as the coordinator does."""
        last = self.service.functions.lastAnchoredL1MessageNumber().call()
        newest = self.rollup.functions.nextMessageNumber().call() - 1
        by_nonce = {e.args._nonce: bytes(e.args._messageHash)
                    for e in self.rollup.events.MessageSent().get_logs(from_block=0)}
        hashes = [by_nonce[n] for n in range(last + 1, newest + 1)]
        rolling = self.rollup.functions.rollingHashes(newest).call()
        call = self.service.functions.anchorL1L2MessageHashes(hashes, last + 1, newest, rolling)
        return transact(self.l2, ANCHORER.private_key, call)

    def finalize_l2(self) -> dict:
        """Finalize L2 blocks 1..head on L1 with the Merkle roots of every L2→L1 message in them (once per module)."""
        end = self.l2.eth.block_number
        sent = sorted(self.service.events.MessageSent().get_logs(from_block=1, to_block=end),
                      key=lambda e: (e.blockNumber, e.logIndex))
        env = self.env
        data, snark, root = b"\0" * 32, Web3.keccak(text="snark"), Web3.keccak(text="root")
        submission = compute_calldata_submission(env.genesis_shnarf, snark, root, data)
        env.send(env.rollup.functions.submitDataAsCalldata((root, snark, data), env.genesis_shnarf, submission.shnarf))
        finalization = env.finalization_for(
            None,
            end,
            shnarf_data=ShnarfData(env.genesis_shnarf, snark, root, submission.x, submission.y),
            l2_merkle_roots=tuple(build_l2_message_trees([bytes(e.args._messageHash) for e in sent])),
            l2_messaging_blocks_offsets=encode_l2_messaging_blocks_offsets(1, sorted({e.blockNumber for e in sent})),
        )
        return env.send(env.finalize_call(finalization))


@pytest.fixture(scope="module")
def chains(l1, l2, artifacts, test_artifacts, tmp_path_factory) -> Chains:
    env = RollupEnv.deploy(l1, artifacts)
    service = deploy_l2_service(l2, artifacts, MIN_FEE)
    receiver = deploy_receiver(l2, test_artifacts)
    data_dir = write_devnet_json(tmp_path_factory.mktemp("bridge") / "devnet", l1, l2, env.rollup.address,
                                 service.address)
    return Chains(l1, l2, env, service, receiver, data_dir)


# -- running the CLI and reading what it printed ----------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str

    def tx(self, label: str, chain: str) -> str:
        """The transaction hash on the `label` line (`sent      L1 tx 0x.. (block N)`)."""
        found = re.search(rf"^{label}\s+{chain} tx ({HASH}) \(block \d+\)$", self.out, re.M)
        assert found, f"no '{label} {chain} tx' line in:\n{self.out}\n{self.err}"
        return found.group(1)

    @property
    def message_hash(self) -> str:
        found = re.search(rf"^message\s+({HASH})", self.out, re.M)
        assert found, f"no message line in:\n{self.out}\n{self.err}"
        return found.group(1)

    def field(self, label: str) -> str:
        found = re.search(rf"^{label}\s+(.*)$", self.out, re.M)
        assert found, f"no '{label}' line in:\n{self.out}\n{self.err}"
        return found.group(1)


def bridge(data_dir: Path, *args: str) -> Run:
    done = subprocess.run([*LINEN, "bridge", *args, "--data-dir", str(data_dir)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


class Following:
    """`linen bridge deposit|withdraw --wait` in the background, its output read as it comes."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.log_path = data_dir.parent / f"follow-{time.monotonic_ns()}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([*LINEN, "bridge", *args, "--data-dir", str(data_dir), "--wait"],
                                         stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output(), re.M)
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(f"no {pattern!r} in the output:\n{self.output()}")

    def finish(self, timeout: float = 60.0) -> Run:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return Run(code, self.output(), "")


def events(contract, name: str, receipt) -> list:
    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def hexstr(data: bytes) -> str:
    return "0x" + bytes(data).hex()


# -- L1 → L2 ------------------------------------------------------------------------------------------


def test_deposit_with_calldata_is_sent_on_l1_and_delivered_by_claim_once_anchored(chains):
    call = bytes.fromhex(chains.receiver.encode_abi("receiveMessage", [b"from the CLI"])[2:])
    run = bridge(chains.data_dir, "deposit", "--to", chains.receiver.address, "--value", "0.25", "--fee", "0.001",
                 "--calldata", hexstr(call), "--account", "4", "--no-wait")
    assert run.code == 0, run.err
    receipt = chains.l1.eth.get_transaction_receipt(run.tx("sent", "L1"))
    assert receipt.status == 1 and receipt["from"] == USER.address
    (sent,) = events(chains.rollup, "MessageSent", receipt)
    args = sent.args
    assert (args._from, args._to, args._fee, args._value, bytes(args._calldata)) == (
        USER.address, chains.receiver.address, 10**15, ETH // 4, call)
    expected = compute_message_hash(address_bytes(USER.address), address_bytes(chains.receiver.address), 10**15,
                                    ETH // 4, args._nonce, call)
    assert run.message_hash == hexstr(args._messageHash) == hexstr(expected)
    assert f"(nonce {args._nonce}, L1 -> L2)" in run.out

    chains.anchor_pending()
    claimed = bridge(chains.data_dir, "claim", run.message_hash, "--account", "5")
    assert claimed.code == 0, claimed.err
    claim_receipt = chains.l2.eth.get_transaction_receipt(claimed.tx("claimed", "L2"))
    assert [hexstr(e.args._messageHash) for e in events(chains.service, "MessageClaimed", claim_receipt)] == [
        run.message_hash]
    assert chains.receiver.functions.lastSender().call() == USER.address
    assert chains.receiver.functions.lastValue().call() == ETH // 4
    assert chains.receiver.functions.lastData().call() == b"from the CLI"


def test_deposit_claim_is_refused_until_anchored_then_claims_once(chains):
    recipient = Account.create().address
    run = bridge(chains.data_dir, "deposit", "--to", recipient, "--value", "0.5", "--no-wait")
    assert run.code == 0, run.err
    message_hash = run.message_hash
    # by default, the first funded account that no devnet service signs with (0 is the coordinator's L1 key)
    assert chains.l1.eth.get_transaction(run.tx("sent", "L1"))["from"] == dev_account(1).address

    status = bridge(chains.data_dir, "status", message_hash)
    assert status.code == 0, status.err
    assert status.field("direction").startswith("L1 -> L2 (deposit)")
    assert status.tx("sent", "L1") == run.tx("sent", "L1")
    assert status.field("anchored").startswith("no")
    assert status.field("stage") == "sent"

    claimer_nonce = chains.l2.eth.get_transaction_count(CLAIMER.address)
    early = bridge(chains.data_dir, "claim", message_hash, "--account", "5")
    assert early.code != 0
    assert "not anchored on L2" in early.err and message_hash in early.err
    assert chains.l2.eth.get_transaction_count(CLAIMER.address) == claimer_nonce  # nothing was sent

    anchoring = chains.anchor_pending()
    status = bridge(chains.data_dir, "status", message_hash)
    assert status.tx("anchored", "L2") == hexstr(anchoring["transactionHash"])
    assert status.field("claimed").startswith("no")
    assert status.field("stage") == "anchored"

    claimed = bridge(chains.data_dir, "claim", message_hash, "--account", "5")
    assert claimed.code == 0, claimed.err
    claim_tx = claimed.tx("claimed", "L2")
    assert chains.l2.eth.get_balance(recipient) == ETH // 2
    assert chains.l2.eth.get_transaction(claim_tx)["from"] == CLAIMER.address

    status = bridge(chains.data_dir, "status", message_hash)
    assert status.tx("claimed", "L2") == claim_tx
    assert status.field("stage") == "claimed"

    claimer_nonce = chains.l2.eth.get_transaction_count(CLAIMER.address)
    again = bridge(chains.data_dir, "claim", message_hash, "--account", "5")
    assert again.code != 0
    assert "already claimed" in again.err and claim_tx in again.err
    assert chains.l2.eth.get_transaction_count(CLAIMER.address) == claimer_nonce
    assert chains.l2.eth.get_balance(recipient) == ETH // 2


def test_deposit_wait_reports_anchoring_and_the_postmans_claim(chains):
    recipient = Account.create().address
    follow = Following(chains.data_dir, "deposit", "--to", recipient, "--value", "0.1", "--fee", "0.01",
                       "--timeout", "90")
    message_hash = follow.wait_for(rf"^message\s+({HASH})").group(1)
    follow.wait_for(r"^waiting\s+for the coordinator")
    anchoring = chains.anchor_pending()
    follow.wait_for(r"^waiting\s+for the postman")
    (sent,) = chains.rollup.events.MessageSent().get_logs(
        from_block=0, argument_filters={"_messageHash": message_hash})
    a = sent.args
    postman_claim = transact(chains.l2, POSTMAN.private_key, chains.service.functions.claimMessage(
        a._from, a._to, a._fee, a._value, POSTMAN.address, a._calldata, a._nonce))
    run = follow.finish()
    assert run.code == 0, run.out
    assert run.tx("anchored", "L2") == hexstr(anchoring["transactionHash"])
    assert run.tx("claimed", "L2") == hexstr(postman_claim["transactionHash"])
    assert chains.l2.eth.get_balance(recipient) >= ETH // 10


def test_deposit_wait_hands_a_zero_fee_message_to_the_user(chains):
    follow = Following(chains.data_dir, "deposit", "--to", Account.create().address, "--value", "0.1",
                       "--timeout", "90")
    message_hash = follow.wait_for(rf"^message\s+({HASH})").group(1)
    follow.wait_for(r"^waiting\s+for the coordinator")
    chains.anchor_pending()
    run = follow.finish()
    assert run.code == 0, run.out
    # the hint names this devnet's data dir, so it works pasted as it is
    assert run.field("to claim").endswith(f"run `linen bridge claim {message_hash} --data-dir {chains.data_dir}`")
    assert "no fee" in run.field("to claim")
    assert chains.service.functions.inboxL1L2MessageStatus(message_hash).call() == 1  # anchored, not claimed


# -- L2 → L1 ------------------------------------------------------------------------------------------


def test_withdrawal_is_sent_refused_until_finalized_then_claimed_on_l1_with_a_proof(chains):
    recipient, other = Account.create().address, Account.create().address
    run = bridge(chains.data_dir, "withdraw", "--to", recipient, "--value", "0.2", "--fee", "0.003",
                 "--calldata", "0xabcd", "--account", "4", "--no-wait")
    assert run.code == 0, run.err
    tx_hash = run.tx("sent", "L2")
    receipt = chains.l2.eth.get_transaction_receipt(tx_hash)
    (sent,) = events(chains.service, "MessageSent", receipt)
    a = sent.args
    assert (a._from, a._to, a._fee, a._value, bytes(a._calldata)) == (
        USER.address, recipient, 3 * 10**15, 2 * ETH // 10, b"\xab\xcd")
    assert run.message_hash == hexstr(a._messageHash) == hexstr(compute_message_hash(
        address_bytes(USER.address), address_bytes(recipient), 3 * 10**15, 2 * ETH // 10, a._nonce, b"\xab\xcd"))
    assert chains.l2.eth.get_transaction(tx_hash)["value"] == 2 * ETH // 10 + MIN_FEE + 3 * 10**15
    assert "0.0001 ETH minimum fee" in run.out

    status = bridge(chains.data_dir, "status", run.message_hash)
    assert status.field("direction").startswith("L2 -> L1 (withdrawal)")
    assert status.field("finalized").startswith("no: L1 has finalized L2 blocks up to 0")
    claimer_nonce = chains.l1.eth.get_transaction_count(CLAIMER.address)
    early = bridge(chains.data_dir, "claim", run.message_hash, "--account", "5")
    assert early.code != 0 and "cannot be claimed yet" in early.err and "finalized" in early.err
    assert chains.l1.eth.get_transaction_count(CLAIMER.address) == claimer_nonce

    # a second withdrawal, followed while L1 finalizes both; it pays no fee, so it is the user's to claim
    follow = Following(chains.data_dir, "withdraw", "--to", other, "--value", "0.1", "--timeout", "90")
    second_hash = follow.wait_for(rf"^message\s+({HASH})").group(1)
    follow.wait_for(r"^waiting\s+for L1 to finalize")
    chains.l1.provider.make_request("anvil_setBalance", [chains.rollup.address, hex(100 * ETH)])
    finalization = chains.finalize_l2()
    followed = follow.finish()
    assert followed.code == 0, followed.out
    assert followed.tx("finalized", "L1") == hexstr(finalization["transactionHash"])
    assert followed.field("to claim").endswith(f"`linen bridge claim {second_hash} --data-dir {chains.data_dir}`")

    status = bridge(chains.data_dir, "status", run.message_hash)
    assert status.tx("finalized", "L1") == hexstr(finalization["transactionHash"])
    assert status.field("stage") == "finalized"

    claimed = bridge(chains.data_dir, "claim", run.message_hash, "--account", "5")
    assert claimed.code == 0, claimed.err
    claim_receipt = chains.l1.eth.get_transaction_receipt(claimed.tx("claimed", "L1"))
    assert [hexstr(e.args._messageHash) for e in events(chains.rollup, "MessageClaimed", claim_receipt)] == [
        run.message_hash]
    assert chains.l1.eth.get_balance(recipient) == 2 * ETH // 10
    assert chains.rollup.functions.isMessageClaimed(a._nonce).call()
    status = bridge(chains.data_dir, "status", run.message_hash)
    assert status.tx("claimed", "L1") == claimed.tx("claimed", "L1")

    again = bridge(chains.data_dir, "claim", run.message_hash, "--account", "5")
    assert again.code != 0 and "already claimed" in again.err
    assert bridge(chains.data_dir, "claim", second_hash, "--account", "5").code == 0
    assert chains.l1.eth.get_balance(other) == ETH // 10


# -- with a real postman ------------------------------------------------------------------------------


def test_wait_and_status_report_what_a_real_postman_does(chains, artifacts, tmp_path):
    """`linen postman` on fresh contracts: it claims the deposit that pays and leaves the zero-fee one to its owner."""
    env = RollupEnv.deploy(chains.l1, artifacts)
    service = deploy_l2_service(chains.l2, artifacts, MIN_FEE)
    port = free_port()
    data_dir = write_devnet_json(tmp_path / "devnet", chains.l1, chains.l2, env.rollup.address, service.address,
                                 postman_rpc=f"http://127.0.0.1:{port}")
    ours = Chains(chains.l1, chains.l2, env, service, None, data_dir)
    log_path = tmp_path / "postman.log"
    settings = {"L1_KEY": POSTMAN.private_key, "L2_KEY": POSTMAN.private_key, "POLLING_INTERVAL": "0.2",
                "L1_CONFIRMATIONS": "0"}
    with open(log_path, "wb") as log:
        postman = subprocess.Popen(
            [*LINEN, "postman", "--data-dir", str(tmp_path / "postman"), "--rpc-port", str(port),
             "--l1-rpc", chains.l1.provider.endpoint_uri, "--l2-rpc", chains.l2.provider.endpoint_uri,
             "--rollup", env.rollup.address, "--l2-message-service", service.address],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **{f"LINEN_POSTMAN_{k}": v for k, v in settings.items()}},
        )
    try:
        deadline = time.monotonic() + 60
        while "postman RPC" not in log_path.read_text(errors="replace"):
            assert postman.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.1)
        # a withdrawal and a deposit with the same fields, both message number 1: they share their hash, and the
        # client must ask the postman about the direction it means
        twins = BridgeClient(BridgeEndpoints.from_devnet(data_dir), USER.private_key)
        twin = Account.create().address
        twin_out = twins.withdraw(twin, ETH // 10, 10**16)
        twin_in = twins.deposit(twin, ETH // 10, 10**16)  # a withdrawal's minimum fee is not in its hash
        assert twin_in.message_hash == twin_out.message_hash
        # two accounts: the two processes run at once, and each picks its nonce from the chain
        paying = Following(data_dir, "deposit", "--to", Account.create().address, "--value", "0.1", "--fee", "0.01",
                           "--account", "6", "--timeout", "90")
        free = Following(data_dir, "deposit", "--to", Account.create().address, "--value", "0.1", "--account", "7",
                         "--timeout", "90")
        paying_hash = paying.wait_for(rf"^message\s+({HASH})").group(1)
        free_hash = free.wait_for(rf"^message\s+({HASH})").group(1)
        paying.wait_for(r"^waiting\s+for the coordinator")
        free.wait_for(r"^waiting\s+for the coordinator")
        ours.anchor_pending()

        run = paying.finish(90)
        assert run.code == 0, run.out + log_path.read_text(errors="replace")
        claim_tx = run.tx("claimed", "L2")
        assert chains.l2.eth.get_transaction(claim_tx)["from"] == POSTMAN.address
        status = bridge(data_dir, "status", paying_hash)
        assert status.tx("claimed", "L2") == claim_tx
        assert status.field("postman").startswith("CLAIMED_SUCCESS")

        run = free.finish(90)
        assert run.code == 0, run.out + log_path.read_text(errors="replace")
        assert "the postman will not claim it (ZERO_FEE" in run.field("to claim")
        assert run.field("to claim").endswith(f"run `linen bridge claim {free_hash} --data-dir {data_dir}`")
        status = bridge(data_dir, "status", free_hash)
        assert status.field("postman") == "ZERO_FEE: the message pays no fee: claim it yourself"
        assert status.field("claimed").endswith(f"`linen bridge claim {free_hash} --data-dir {data_dir}`")
        assert service.functions.inboxL1L2MessageStatus(free_hash).call() == 1
        # once its owner claimed it, status no longer tells them to
        claimed = bridge(data_dir, "claim", free_hash, "--account", "7")
        assert claimed.code == 0, claimed.out + claimed.err
        status = bridge(data_dir, "status", free_hash)
        assert status.field("stage") == "claimed" and status.tx("claimed", "L2") == claimed.tx("claimed", "L2")
        assert status.field("postman") == "ZERO_FEE: it left the claim to the message's owner"
        assert "yourself" not in status.out

        deadline = time.monotonic() + 60
        while (seen := twins.postman_status(twin_in)) is None or seen.status != "CLAIMED_SUCCESS":
            assert time.monotonic() < deadline, (seen, log_path.read_text(errors="replace"))
            time.sleep(0.2)
        assert twins.postman_status(twin_out).status == "SENT"  # on L2, never finalized on L1
        assert bridge(data_dir, "status", hexstr(twin_in.message_hash)).field("postman").startswith("CLAIMED_SUCCESS")
    finally:
        postman.terminate()
        postman.wait(30)


# -- what the CLI refuses, and what it relies on ------------------------------------------------------


def test_bad_input_gets_a_clear_refusal(chains, tmp_path):
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(main, ["bridge", *args])

    recipient = Account.create().address
    for value, complaint in [("abc", "amount of ETH"), ("-1", "non-negative"), ("0.0000000000000000001", "18 decimals")]:
        result = cli("deposit", "--to", recipient, "--value", value, "--data-dir", str(chains.data_dir))
        assert result.exit_code == 2 and complaint in result.output, result.output
    result = cli("deposit", "--to", "0x1234", "--value", "1", "--data-dir", str(chains.data_dir))
    assert result.exit_code == 2 and "20-byte" in result.output
    result = cli("deposit", "--to", recipient, "--value", "1", "--calldata", "0xabc", "--data-dir",
                 str(chains.data_dir))
    assert result.exit_code == 2 and "hex bytes" in result.output
    result = cli("status", "0x1234", "--data-dir", str(chains.data_dir))
    assert result.exit_code == 2 and "32 bytes" in result.output
    result = cli("status", "0x" + "ee" * 32, "--data-dir", str(chains.data_dir))
    assert result.exit_code == 1 and "no message 0x" + "ee" * 32 in result.output
    result = cli("status", "0x" + "ee" * 32, "--data-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and "devnet.json does not exist" in result.output
    result = cli("deposit", "--to", recipient, "--value", "1", "--account", "10", "--data-dir", str(chains.data_dir))
    assert result.exit_code == 1 and "accounts 0..9" in result.output
    # more ETH than the account holds: refused by the node before anything is signed
    nonce = chains.l1.eth.get_transaction_count(CLAIMER.address)
    result = cli("deposit", "--to", recipient, "--value", "1000000", "--account", "5", "--no-wait", "--data-dir",
                 str(chains.data_dir))
    assert result.exit_code == 1 and "refuses sendMessage" in result.output
    assert chains.l1.eth.get_transaction_count(CLAIMER.address) == nonce


# -- against a real Linen L2 node -------------------------------------------------------------------


def test_withdraw_and_status_against_a_linen_node(l1, artifacts, tmp_path):
    node = NodeProcess(tmp_path / "node").start()
    try:
        l2 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        l2.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        service = deploy_l2(l2, dev_account(0).private_key, artifacts, L2Settings(ANCHORER.address))
        env = RollupEnv.deploy(l1, artifacts)
        data_dir = write_devnet_json(tmp_path / "devnet", l1, l2, env.rollup.address, service)
        recipient = Account.create().address
        run = bridge(data_dir, "withdraw", "--to", recipient, "--value", "1.5", "--account", "4", "--no-wait")
        assert run.code == 0, run.err
        receipt = l2.eth.get_transaction_receipt(run.tx("sent", "L2"))
        contract = l2.eth.contract(address=service, abi=L2_MESSAGE_SERVICE_ABI)
        (sent,) = events(contract, "MessageSent", receipt)
        assert (sent.args._to, sent.args._value, sent.args._fee) == (recipient, int(Decimal("1.5") * ETH), 0)
        assert run.message_hash == hexstr(sent.args._messageHash)

        status = bridge(data_dir, "status", run.message_hash)
        assert status.code == 0, status.err
        assert status.tx("sent", "L2") == run.tx("sent", "L2")
        assert status.field("stage") == "sent"
        refused = bridge(data_dir, "claim", run.message_hash)
        assert refused.code != 0 and "cannot be claimed yet" in refused.err
    finally:
        node.stop()
