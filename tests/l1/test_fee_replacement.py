"""TransactionSender against a real anvil whose base fee we spike: stuck versions are re-signed, same nonce.

anvil drops a pooled transaction once a mined block's base fee exceeds its `maxFeePerGas`, and refuses
new ones below the next block's base fee. The `Spikes` miner mines blocks at a high base fee while
announcing a low one for the block after, so the sender's fresh estimate stays low and only its
policy's bumps can get a version mined. What the sender sent is read off the wire (every
`eth_sendRawTransaction` decoded), not from the sender's own account of it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from web3 import HTTPProvider, Web3

from linen.devaccounts import dev_account
from linen.errors import OperationalError
from linen.l1.anvil import launch_anvil, warm_up_blobs
from linen.l1.sender import ReplacementPolicy, StuckTransaction, TransactionSender
from linen.protocol.blob.kzg import blob_sidecar, random_blob, versioned_hashes

FAST = dict(timeout_s=0.6, poll_s=0.05)


class RecordingProvider(HTTPProvider):
    """An HTTP provider that keeps every raw transaction sent through it, decoded, with the node's answer."""

    def __init__(self, url: str) -> None:
        super().__init__(url, request_kwargs={"timeout": 60})
        self.sent: list[dict] = []

    def make_request(self, method, params):
        response = super().make_request(method, params)
        if method == "eth_sendRawTransaction":
            raw = bytes.fromhex(params[0].removeprefix("0x")) if isinstance(params[0], str) else bytes(params[0])
            self.sent.append({**decode_raw(raw), "error": (response.get("error") or {}).get("message")})
        return response

    def accepted(self) -> list[dict]:
        return [tx for tx in self.sent if tx["error"] is None]


def decode_raw(raw: bytes) -> dict:
    """Nonce, fees, blob hashes and hash of a type-2 or network-form type-3 transaction."""
    if raw[0] == 3:
        fields = rlp.decode(raw[1:])[0]
        return {
            "hash": "0x" + keccak(b"\x03" + rlp.encode(fields)).hex(),
            "nonce": int.from_bytes(fields[1], "big"),
            "maxPriorityFeePerGas": int.from_bytes(fields[2], "big"),
            "maxFeePerGas": int.from_bytes(fields[3], "big"),
            "maxFeePerBlobGas": int.from_bytes(fields[9], "big"),
            "blobVersionedHashes": [bytes(h) for h in fields[10]],
        }
    assert raw[0] == 2, "the sender signs EIP-1559 transactions"
    fields = rlp.decode(raw[1:])
    return {
        "hash": "0x" + keccak(raw).hex(),
        "nonce": int.from_bytes(fields[1], "big"),
        "maxPriorityFeePerGas": int.from_bytes(fields[2], "big"),
        "maxFeePerGas": int.from_bytes(fields[3], "big"),
    }


class Spikes(threading.Thread):
    """Mines a block at base fee `high` every `interval` s, announcing `low` (if given) for the next one in between."""

    def __init__(self, url: str, high: int, low: int | None, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.w3 = Web3(HTTPProvider(url))
        self.high, self.low, self.interval = high, low, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            rpc(self.w3, "anvil_setNextBlockBaseFeePerGas", hex(self.high))
            rpc(self.w3, "evm_mine")
            if self.low is not None:
                rpc(self.w3, "anvil_setNextBlockBaseFeePerGas", hex(self.low))

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def rpc(w3: Web3, method: str, *params):
    response = w3.provider.make_request(method, list(params))
    assert "error" not in response, response
    return response["result"]


@pytest.fixture(scope="module")
def chain():
    launched = launch_anvil(None)
    try:
        warm_up_blobs(launched.url)
        yield launched
    finally:
        launched.stop()


@pytest.fixture
def w3(chain):
    """A recording client on an anvil that mines only when told to; automine comes back on afterwards."""
    client = Web3(RecordingProvider(chain.url))
    rpc(client, "evm_setAutomine", False)
    yield client
    rpc(client, "evm_setAutomine", True)


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def on_chain_from(w3: Web3, address: str, since: int) -> list:
    """Every mined transaction from `address` in blocks after `since`."""
    found = []
    for number in range(since + 1, w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        found += [tx for tx in block["transactions"] if tx["from"] == address]
    return found


def send_through_spikes(w3: Web3, url: str, sender: TransactionSender, tx: dict, blobs=None, times=3, stay=False):
    """Run `sender.send` while base-fee spikes at `times` its first version's maxFeePerGas price it out.

    Between spikes the next block's base fee is announced back at its old level (the sender's fresh
    estimate stays low), unless `stay`.
    """
    low = None if stay else w3.eth.get_block("pending")["baseFeePerGas"]
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(sender.send, tx, blobs=blobs, gas=None if blobs else 21_000)
        wait_for(lambda: w3.provider.accepted())
        first = w3.provider.accepted()[0]
        spikes = Spikes(url, high=times * first["maxFeePerGas"], low=low)
        spikes.start()
        try:
            return future.result(timeout=60), first, spikes.high
        finally:
            spikes.stop()


def assert_each_version_raised(versions: list[dict], percent: int, field: str) -> None:
    for older, newer in zip(versions, versions[1:], strict=False):
        assert newer[field] >= older[field] * (100 + percent) // 100 and newer[field] > older[field], (field, versions)


def test_a_priced_out_transaction_is_re_signed_with_the_same_nonce_until_one_is_mined(w3, chain, caplog):
    account = dev_account(1)
    start = w3.eth.block_number
    nonce = w3.eth.get_transaction_count(account.address)
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(bump_percent=100, **FAST))
    with caplog.at_level("INFO", logger="linen.l1.sender"):
        receipt, first, high = send_through_spikes(w3, chain.url, sender, {"to": dev_account(8).address, "value": 7})

    versions = w3.provider.accepted()
    assert receipt["status"] == 1 and len(versions) > 1
    assert {v["nonce"] for v in versions} == {nonce}
    assert_each_version_raised(versions, 100, "maxFeePerGas")
    assert_each_version_raised(versions, 100, "maxPriorityFeePerGas")
    mined_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    assert mined_hash in [v["hash"] for v in versions] and mined_hash != first["hash"]
    (mined,) = on_chain_from(w3, account.address, start)  # exactly one transaction of ours reached the chain
    assert mined["nonce"] == nonce and mined["maxFeePerGas"] > first["maxFeePerGas"]
    assert mined["maxFeePerGas"] >= w3.eth.get_block(receipt["blockNumber"])["baseFeePerGas"] == high
    assert w3.eth.get_transaction_count(account.address) == nonce + 1
    assert any(f"nonce {nonce}: replacing" in r.getMessage() for r in caplog.records if r.levelname == "INFO")


def test_a_priced_out_blob_transaction_is_re_signed_with_a_doubled_blob_fee_and_keeps_its_blob(w3, chain):
    account = dev_account(2)
    start = w3.eth.block_number
    blob = random_blob(42)
    (expected_hash,) = versioned_hashes(blob_sidecar([blob])[0])
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(bump_percent=100, **FAST))
    receipt, first, _ = send_through_spikes(w3, chain.url, sender, {"to": None, "data": "0x"}, blobs=[blob])

    versions = w3.provider.accepted()
    assert receipt["status"] == 1 and len(versions) > 1
    assert len({v["nonce"] for v in versions}) == 1
    assert_each_version_raised(versions, 100, "maxFeePerBlobGas")
    assert all(v["blobVersionedHashes"] == [expected_hash] for v in versions)
    (mined,) = on_chain_from(w3, account.address, start)
    assert mined["type"] == 3 and mined["hash"] == receipt["transactionHash"] != first["hash"]
    assert [bytes(h) for h in mined["blobVersionedHashes"]] == [expected_hash]
    assert mined["maxFeePerBlobGas"] > first["maxFeePerBlobGas"]
    assert receipt["blobGasUsed"] == 131072


def test_the_fee_cap_stops_the_bumps_and_nothing_above_it_is_signed_or_mined(w3, chain):
    account = dev_account(3)
    start = w3.eth.block_number
    nonce = w3.eth.get_transaction_count(account.address)
    first_fee = 2 * w3.eth.get_block("pending")["baseFeePerGas"] + 10**9  # the sender's estimate
    cap = 3 * first_fee  # the spikes stay at 4x: the fresh estimate is far above the cap
    sender = TransactionSender(w3, account.private_key,
                               ReplacementPolicy(bump_percent=100, max_bumps=5, max_fee_per_gas_cap=cap, **FAST))
    with pytest.raises(StuckTransaction) as stuck:
        send_through_spikes(w3, chain.url, sender, {"to": dev_account(8).address, "value": 1}, times=4, stay=True)

    # the replacement is signed at the cap; the node refuses it (below the base fee); doubling it would pass the cap
    assert [(v["maxFeePerGas"], v["error"]) for v in w3.provider.sent] == [
        (first_fee, None), (cap, "max fee per gas less than block base fee")]
    (first,) = w3.provider.accepted()
    assert stuck.value.nonce == nonce and stuck.value.hashes == [first["hash"]]
    assert f"nonce {nonce}" in str(stuck.value) and first["hash"] in str(stuck.value)
    assert f"maxFeePerGas={cap}" in str(stuck.value) and "allows no further replacement" in str(stuck.value)
    assert on_chain_from(w3, account.address, start) == []
    assert w3.eth.get_transaction_count(account.address) == nonce


def test_a_cap_below_the_base_fee_is_signed_at_the_cap_then_given_up(w3):
    account = dev_account(3)
    nonce = w3.eth.get_transaction_count(account.address)
    cap = w3.eth.get_block("pending")["baseFeePerGas"] - 1
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(max_fee_per_gas_cap=cap, **FAST))
    with pytest.raises(StuckTransaction, match=f"nonce {nonce}.*nothing the node accepted") as stuck:
        sender.send({"to": dev_account(8).address, "value": 1}, gas=21_000)
    (sent,) = w3.provider.sent
    assert sent["maxFeePerGas"] == cap and sent["maxPriorityFeePerGas"] <= cap and sent["error"] is not None
    assert stuck.value.hashes == []


def test_a_transaction_mined_in_time_is_sent_once(chain):
    w3 = Web3(RecordingProvider(chain.url))  # automine on: mined as soon as it arrives
    account = dev_account(4)
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(**FAST))
    receipt = sender.send({"to": dev_account(8).address, "value": 3})
    (sent,) = w3.provider.sent
    assert sent["error"] is None and "0x" + bytes(receipt["transactionHash"]).hex() == sent["hash"]
    assert receipt["status"] == 1


def test_an_underpriced_reply_makes_the_sender_bump_until_the_node_takes_it(w3):
    """Another transaction of the same account already holds the nonce in the pool at a higher fee."""
    account = dev_account(5)
    nonce = w3.eth.get_transaction_count(account.address)
    base = w3.eth.get_block("pending")["baseFeePerGas"]
    rival_fee = 3 * (2 * base + 10**9)
    rival = Account.from_key(account.private_key).sign_transaction(dict(
        chainId=w3.eth.chain_id, nonce=nonce, to=account.address, value=0, gas=21_000,
        maxFeePerGas=rival_fee, maxPriorityFeePerGas=10**9))
    w3.eth.send_raw_transaction(rival.raw_transaction)
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(bump_percent=100, **FAST))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(sender.send, {"to": dev_account(8).address, "value": 5, "nonce": nonce}, gas=21_000)
        wait_for(lambda: len(w3.provider.accepted()) > 1)  # the rival, then our version that outbids it
        rpc(w3, "evm_mine")
        receipt = future.result(timeout=30)

    ours = w3.provider.sent[1:]
    assert [v["error"] for v in ours][:2] == ["replacement transaction underpriced"] * 2
    assert ours[-1]["error"] is None and ours[-1]["maxFeePerGas"] > rival_fee
    assert "0x" + bytes(receipt["transactionHash"]).hex() == ours[-1]["hash"]
    assert w3.eth.get_transaction(receipt["transactionHash"])["value"] == 5


def test_an_already_known_reply_is_taken_as_sent(w3):
    """Signing is deterministic, so the very same bytes can reach the node before the sender sends them."""
    account = dev_account(6)
    nonce = w3.eth.get_transaction_count(account.address)
    tx = {"to": dev_account(8).address, "value": 9, "nonce": nonce, "maxFeePerGas": 50 * 10**9,
          "maxPriorityFeePerGas": 10**9}
    same = Account.from_key(account.private_key).sign_transaction(
        {**tx, "chainId": w3.eth.chain_id, "gas": 21_000, "data": b""})
    w3.eth.send_raw_transaction(same.raw_transaction)
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(**FAST))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(sender.send, tx, gas=21_000)
        wait_for(lambda: len(w3.provider.sent) > 1)
        rpc(w3, "evm_mine")
        receipt = future.result(timeout=30)
    assert w3.provider.sent[1]["error"] == "transaction already imported"
    assert receipt["transactionHash"] == same.hash and len(w3.provider.sent) == 2


def test_a_nonce_taken_by_another_transaction_is_a_clear_error(w3):
    account = dev_account(7)
    nonce = w3.eth.get_transaction_count(account.address)
    sender = TransactionSender(w3, account.private_key, ReplacementPolicy(timeout_s=30, poll_s=0.05))
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(sender.send, {"to": dev_account(8).address, "value": 1}, gas=21_000)
        wait_for(lambda: w3.provider.accepted())
        ours = w3.provider.accepted()[0]
        other = Account.from_key(account.private_key).sign_transaction(dict(
            chainId=w3.eth.chain_id, nonce=nonce, to=account.address, value=0, gas=21_000,
            maxFeePerGas=2 * ours["maxFeePerGas"], maxPriorityFeePerGas=2 * ours["maxPriorityFeePerGas"]))
        w3.eth.send_raw_transaction(other.raw_transaction)  # replaces ours in the pool
        rpc(w3, "evm_mine")
        with pytest.raises(OperationalError, match=f"nonce {nonce} of {account.address} was used by another"):
            future.result(timeout=10)
    assert w3.eth.get_transaction_count(account.address) == nonce + 1
