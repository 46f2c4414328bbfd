"""Linea's sequencer rules and the linea_* methods through a real `linen node` process and its RPC.

One node runs with a small HUB limit, three transactions per block, a deny list, a minimum gas
price and a high L1 data price, so each rule can be hit and told apart by its error.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from linen.devaccounts import dev_accounts
from linen.execution.tracer import conflated
from linen.execution.tracer.modules import ALL_MODULES
from tests.helpers import NodeProcess, rpc
from tests.unit.test_rpc_support import deploy_code
from tests.unit.test_sequencer_rules import LOOP_RUNTIME, limits_file

pytestmark = pytest.mark.slow
CHAIN_ID = 59139
GWEI = 10**9
ACCOUNTS = dev_accounts()
DENIED = "0x000000000000000000000000000000000000dEaD"
MIN_GAS_PRICE = GWEI // 10


RANDOM_DATA = "0x" + random.Random(7).randbytes(200).hex()  # incompressible calldata


class Sender:
    """A dev account whose nonce advances only when the node accepts a transaction."""

    def __init__(self, index: int) -> None:
        self.account = ACCOUNTS[index]
        self.nonce = 0

    def raw(self, **fields: object) -> str:
        tx = {"chainId": CHAIN_ID, "nonce": self.nonce, "maxFeePerGas": 2 * GWEI, "maxPriorityFeePerGas": GWEI,
              "gas": 21_000, "to": ACCOUNTS[9].address, "value": 1}
        tx.update(fields)
        return "0x" + bytes(Account.sign_transaction(tx, self.account.private_key).raw_transaction).hex()


SENDERS = [Sender(i) for i in range(9)]  # account 9 only receives


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    base: Path = tmp_path_factory.mktemp("rules")
    config = base / "node.toml"
    config.write_text(
        "[sequencer]\n"
        f'deny-list = "{DENIED}"\n'
        f"min-gas-price = {MIN_GAS_PRICE}\n"
        "variable-cost-wei = 100000000000\n"  # 1e11 wei per compressed byte
        "[tracer]\n"
        f'limits-file = "{limits_file(base, HUB=10_000, BLOCK_TRANSACTIONS=3)}"\n'
        f'traces-dir = "{base / "traces"}"\n'
    )
    node = NodeProcess(base / "node", block_period=0.3, extra=["--config", str(config)]).start()
    yield node
    node.stop()


def send(node: NodeProcess, sender: Sender, **fields: object) -> dict:
    response = rpc(node.url, "eth_sendRawTransaction", [sender.raw(**fields)])
    if "result" in response:
        sender.nonce += 1
    return response


def test_each_rule_refuses_with_its_own_error(live):
    sender = SENDERS[0]
    denied = send(live, sender, to=DENIED)["error"]
    underpriced = send(live, sender, maxFeePerGas=MIN_GAS_PRICE // 2, maxPriorityFeePerGas=1)["error"]
    # Pays the minimum gas price, but 1e8 wei of tip is below 0.5 * 1e11 * ~110 bytes / 21000 gas.
    unprofitable = send(live, sender, maxFeePerGas=GWEI, maxPriorityFeePerGas=MIN_GAS_PRICE)["error"]
    reasons = [e["data"]["reason"] for e in (denied, underpriced, unprofitable)]
    assert reasons == ["TX_DENIED_ADDRESS", "TX_PRICE_BELOW_MIN", "TX_UNPROFITABLE"]
    assert {e["code"] for e in (denied, underpriced, unprofitable)} == {-32003}
    assert "deny list" in denied["message"] and "minimum mineable" in underpriced["message"]
    assert "compressed bytes" in unprofitable["message"]
    ok = send(live, sender)
    assert "result" in ok
    assert live.wait_receipt(ok["result"])["status"] == "0x1"


def test_hub_overflow_is_refused_and_never_retried(live):
    owner = SENDERS[1]
    deployed = live.wait_receipt(send(live, owner, to=None, data=deploy_code(LOOP_RUNTIME), gas=100_000, value=0)["result"])
    loop = to_checksum_address(deployed["contractAddress"])
    raw = owner.raw(to=loop, gas=100_000, value=0)
    tx_hash = send(live, owner, to=loop, gas=100_000, value=0)["result"]
    status = None
    deadline = time.time() + 20
    while status is None and time.time() < deadline:
        status = rpc(live.url, "linea_getTransactionExclusionStatusV1", [tx_hash])["result"]
        time.sleep(0.1)
    assert status["reason"] == "TX_MODULE_LINE_COUNT_OVERFLOW" and "HUB" in status["reasonMessage"]
    assert status["txHash"] == tx_hash and status["from"].lower() == owner.account.address.lower()
    assert rpc(live.url, "eth_getTransactionReceipt", [tx_hash])["result"] is None
    again = rpc(live.url, "eth_sendRawTransaction", [raw])["error"]
    assert again["data"]["reason"] == "TX_MODULE_LINE_COUNT_OVERFLOW" and "unexecutable" in again["message"]
    time.sleep(1)
    assert rpc(live.url, "eth_getTransactionReceipt", [tx_hash])["result"] is None


def test_blocks_fill_up_and_the_rest_waits(live):
    hashes = [send(live, SENDERS[i], value=7)["result"] for i in range(2, 9)]
    receipts = [live.wait_receipt(h) for h in hashes]
    per_block: dict[str, int] = {}
    for receipt in receipts:
        per_block[receipt["blockNumber"]] = per_block.get(receipt["blockNumber"], 0) + 1
    assert max(per_block.values()) <= 3 and len(per_block) >= 3
    for number in per_block:
        counters = rpc(live.url, "linea_getBlockTracesCountersV2", [{"blockNumber": int(number, 16)}])["result"]
        assert set(counters["tracesCounters"]) == set(ALL_MODULES)
        assert counters["tracesCounters"]["BLOCK_TRANSACTIONS"] <= 3


def test_conflated_traces_counters_and_file(live):
    head = int(rpc(live.url, "eth_blockNumber")["result"], 16)
    assert head >= 2
    span = {"startBlockNumber": 1, "endBlockNumber": head}
    summed = rpc(live.url, "linea_getConflatedTracesCountersV2", [span])["result"]["tracesCounters"]
    assert rpc(live.url, "linea_generateConflatedTracesToFileV2", [span])["error"]["code"] == -32601  # not public
    written = live.auth_rpc("linea_generateConflatedTracesToFileV2", [span])["result"]
    assert written["conflatedTracesFileName"] == f"1-{head}.conflated.v{written['tracesEngineVersion']}.lt"
    path = live.data_dir.parent / "traces" / written["conflatedTracesFileName"]
    traces = conflated.decode(path.read_bytes())
    assert (traces.start, traces.end, traces.chain_id) == (1, head, CHAIN_ID)
    assert traces.total_counts == summed
    assert keccak(LOOP_RUNTIME) in traces.codes or not any(traces.codes)  # the loop contract, when in range
    missing = rpc(live.url, "linea_getBlockTracesCountersV2", [{"blockNumber": head + 1000}])["error"]
    assert missing["code"] == -32001
    backwards = rpc(live.url, "linea_getConflatedTracesCountersV2", [{"startBlockNumber": 3, "endBlockNumber": 2}])
    assert backwards["error"]["code"] == -32602


def test_linea_estimate_gas_fee_passes_profitability(live):
    sender = SENDERS[0]
    call = {"from": sender.account.address, "to": ACCOUNTS[9].address, "value": "0x1", "data": RANDOM_DATA}
    estimate = rpc(live.url, "linea_estimateGas", [call])["result"]
    gas, base_fee, tip = (int(estimate[k], 16) for k in ("gasLimit", "baseFeePerGas", "priorityFeePerGas"))
    assert gas > 21_000 and tip > GWEI // 10  # 200 bytes of calldata at 1e11 wei per byte need a real tip
    sent = send(live, sender, gas=gas, maxPriorityFeePerGas=tip, maxFeePerGas=2 * base_fee + tip, data=RANDOM_DATA)
    assert live.wait_receipt(sent["result"])["status"] == "0x1"
    stingy = send(live, sender, gas=gas, maxPriorityFeePerGas=tip // 4, maxFeePerGas=2 * base_fee + tip // 4,
                  data=RANDOM_DATA)
    assert stingy["error"]["data"]["reason"] == "TX_UNPROFITABLE"
