"""Block, transaction, receipt, state and call methods against a real two-block chain, over HTTP.

web3.py parses every answer too: if a shape were off from geth's, its formatters would fail.
"""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address
from test_rpc_support import (
    ADDRESSES,
    CHAIN_ID,
    GWEI,
    LOGGER,
    LOGGER_RUNTIME,
    PING_TOPIC,
    LocalBackend,
    RpcError,
    ServerThread,
    address_hex,
    sign,
    standard_chain,
)
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.middleware import ExtraDataToPOAMiddleware

ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def chain_info(tmp_path_factory):
    chain, info = standard_chain(tmp_path_factory.mktemp("chain") / "db")
    server = ServerThread(LocalBackend(chain, min_gas_price=10))
    yield server, info
    server.close()


@pytest.fixture(scope="module")
def node(chain_info):
    return chain_info[0]


@pytest.fixture(scope="module")
def w3(node):
    web3 = Web3(Web3.HTTPProvider(node.url))
    web3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)  # Clique's 97-byte extraData
    return web3


def h(value: bytes) -> str:
    return "0x" + value.hex()


# -- blocks ------------------------------------------------------------------------------------------
def test_block_tags(node, chain_info):
    _, info = chain_info
    assert node.call("eth_blockNumber") == "0x2"
    assert node.call("eth_getBlockByNumber", "latest", False)["hash"] == h(info["block2"].hash)
    assert node.call("eth_getBlockByNumber", "pending", False)["number"] == "0x2"
    assert node.call("eth_getBlockByNumber", "safe", False)["number"] == "0x2"
    assert node.call("eth_getBlockByNumber", "finalized", False)["number"] == "0x1"
    assert node.call("eth_getBlockByNumber", "earliest", False)["number"] == "0x0"
    assert node.call("eth_getBlockByNumber", "0x1", False)["hash"] == h(info["block1"].hash)
    assert node.call("eth_getBlockByNumber", "0x3", False) is None
    assert node.call("eth_getBlockByNumber", "0x" + "f" * 64, False) is None


def test_block_by_hash_and_full_transactions(node, chain_info):
    _, info = chain_info
    block1 = info["block1"]
    by_hash = node.call("eth_getBlockByHash", h(block1.hash), False)
    assert by_hash == node.call("eth_getBlockByNumber", "0x1", False)
    assert by_hash["transactions"] == [h(tx.hash) for tx in block1.transactions]
    assert by_hash["parentHash"] == node.call("eth_getBlockByNumber", "0x0", False)["hash"]
    full = node.call("eth_getBlockByHash", h(block1.hash), True)
    assert [tx["hash"] for tx in full["transactions"]] == by_hash["transactions"]
    assert [tx["transactionIndex"] for tx in full["transactions"]] == ["0x0", "0x1", "0x2", "0x3", "0x4"]
    assert node.call("eth_getBlockByHash", "0x" + "11" * 32, False) is None


def test_bad_block_params(node):
    error = node.error("eth_getBlockByNumber", "newest", False)
    assert error.code == -32602
    assert error.message == (
        "unknown block tag 'newest': use latest, earliest, pending, safe, finalized or a block number"
    )
    for bad in ("0xzz", "0x", 12.5, [], {"blockNumber": "0x1"}):
        assert node.error("eth_getBlockByNumber", bad, False).code == -32602
    assert node.error("eth_getBlockByNumber", "latest", "yes").code == -32602
    assert node.error("eth_getBlockByHash", "0x1234", False).code == -32602
    assert node.error("eth_getBlockByHash", "0x" + "gg" * 32, False).code == -32602


def test_counts_and_uncles(node, chain_info):
    _, info = chain_info
    assert node.call("eth_getBlockTransactionCountByNumber", "0x1") == "0x5"
    assert node.call("eth_getBlockTransactionCountByHash", h(info["block2"].hash)) == "0x2"
    assert node.call("eth_getBlockTransactionCountByNumber", "0x9") is None
    assert node.call("eth_getUncleCountByBlockNumber", "latest") == "0x0"
    assert node.call("eth_getUncleCountByBlockHash", h(info["block2"].hash)) == "0x0"
    assert node.call("eth_getUncleCountByBlockHash", "0x" + "11" * 32) is None
    assert node.call("eth_getUncleByBlockNumberAndIndex", "latest", "0x0") is None


# -- transactions ------------------------------------------------------------------------------------
def test_transaction_objects_per_type(node, chain_info):
    _, info = chain_info
    block1, block2 = info["block1"], info["block2"]
    legacy, access_list, dynamic, create, reverted = (
        node.call("eth_getTransactionByHash", h(tx.hash)) for tx in block1.transactions
    )
    set_code = node.call("eth_getTransactionByHash", h(block2.transactions[0].hash))

    assert legacy["type"] == "0x0" and legacy["chainId"] == hex(CHAIN_ID)
    assert legacy["v"] == hex(CHAIN_ID * 2 + 35) or legacy["v"] == hex(CHAIN_ID * 2 + 36)
    assert "yParity" not in legacy and "accessList" not in legacy
    assert legacy["gasPrice"] == hex(GWEI) and legacy["value"] == hex(12345)
    assert legacy["from"] == h(ADDRESSES[0]) and legacy["to"] == h(ADDRESSES[3])
    assert legacy["blockHash"] == h(block1.hash) and legacy["blockNumber"] == "0x1"

    assert access_list["type"] == "0x1" and access_list["yParity"] == access_list["v"]
    assert access_list["accessList"] == [{"address": h(LOGGER), "storageKeys": ["0x" + "00" * 32]}]
    assert access_list["gasPrice"] == hex(3 * GWEI) and access_list["input"] == "0xaaaaaaaa"

    base_fee = block1.header.base_fee_per_gas
    assert dynamic["type"] == "0x2"
    assert dynamic["maxFeePerGas"] == hex(2 * GWEI) and dynamic["maxPriorityFeePerGas"] == hex(GWEI)
    assert dynamic["gasPrice"] == hex(base_fee + GWEI)  # effective price once mined

    assert create["to"] is None
    assert reverted["maxPriorityFeePerGas"] == hex(GWEI // 2)

    assert set_code["type"] == "0x4"
    (auth,) = set_code["authorizationList"]
    assert auth["address"] == h(LOGGER) and auth["chainId"] == hex(CHAIN_ID) and auth["nonce"] == "0x0"
    assert set(auth) == {"chainId", "address", "nonce", "yParity", "r", "s"}


def test_transaction_by_block_and_index(node, chain_info):
    _, info = chain_info
    tx = info["block2"].transactions[1]
    by_number = node.call("eth_getTransactionByBlockNumberAndIndex", "latest", "0x1")
    by_hash = node.call("eth_getTransactionByBlockHashAndIndex", h(info["block2"].hash), "0x1")
    assert by_number == by_hash == node.call("eth_getTransactionByHash", h(tx.hash))
    assert node.call("eth_getTransactionByBlockNumberAndIndex", "latest", "0x2") is None
    assert node.call("eth_getTransactionByBlockNumberAndIndex", "0x7", "0x0") is None
    assert node.call("eth_getTransactionByHash", "0x" + "42" * 32) is None
    assert node.error("eth_getTransactionByHash", "0x42").code == -32602


def test_web3_parses_blocks_and_transactions(w3, chain_info):
    _, info = chain_info
    block = w3.eth.get_block("latest", full_transactions=True)
    assert block["number"] == 2 and len(block["transactions"]) == 2
    assert block["transactions"][0]["type"] == 4
    for tx in info["block1"].transactions:
        assert w3.eth.get_transaction(tx.hash)["hash"] == tx.hash
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.eth.block_number == 2


# -- receipts ----------------------------------------------------------------------------------------
def test_receipts(node, chain_info, w3):
    _, info = chain_info
    block1 = info["block1"]
    receipts = [node.call("eth_getTransactionReceipt", h(tx.hash)) for tx in block1.transactions]
    assert [r["status"] for r in receipts] == ["0x1", "0x1", "0x1", "0x1", "0x0"]
    assert [r["type"] for r in receipts] == ["0x0", "0x1", "0x2", "0x2", "0x2"]
    assert [len(r["logs"]) for r in receipts] == [0, 1, 1, 0, 0]
    assert receipts[1]["logs"][0]["logIndex"] == "0x0" and receipts[2]["logs"][0]["logIndex"] == "0x1"
    log = receipts[2]["logs"][0]
    assert log["topics"] == [h(PING_TOPIC), "0x" + "00" * 12 + ADDRESSES[2].hex()]
    assert log["transactionIndex"] == "0x2" and log["removed"] is False and log["blockNumber"] == "0x1"
    assert receipts[3]["contractAddress"] is not None and receipts[3]["to"] is None
    assert receipts[0]["contractAddress"] is None and receipts[0]["to"] == h(ADDRESSES[3])
    assert receipts[-1]["cumulativeGasUsed"] == hex(block1.header.gas_used)
    assert int(receipts[0]["logsBloom"], 16) == 0 and int(receipts[1]["logsBloom"], 16) != 0
    assert node.call("eth_getBlockReceipts", "0x1") == receipts
    assert node.call("eth_getBlockReceipts", h(block1.hash)) == receipts
    assert node.call("eth_getBlockReceipts", {"blockHash": h(block1.hash)}) == receipts
    assert node.call("eth_getBlockReceipts", "0x9") is None
    assert node.call("eth_getTransactionReceipt", "0x" + "42" * 32) is None
    parsed = w3.eth.get_transaction_receipt(block1.transactions[3].hash)
    assert parsed["contractAddress"] == to_checksum_address(receipts[3]["contractAddress"])


# -- state -------------------------------------------------------------------------------------------
def test_state_reads_and_tags(node, chain_info):
    _, info = chain_info
    recipient = h(ADDRESSES[3])
    assert int(node.call("eth_getBalance", recipient, "0x0"), 16) == 10**24
    assert int(node.call("eth_getBalance", recipient, "0x1"), 16) == 10**24 + 12345
    assert node.call("eth_getBalance", recipient) == node.call("eth_getBalance", recipient, "latest")
    assert node.call("eth_getCode", h(LOGGER), "earliest") == h(LOGGER_RUNTIME)
    deployed = node.call("eth_getTransactionReceipt", h(info["block1"].transactions[3].hash))["contractAddress"]
    assert node.call("eth_getCode", deployed, "latest") == h(LOGGER_RUNTIME)
    assert node.call("eth_getCode", recipient, "0x2") == "0xef0100" + LOGGER.hex()  # EIP-7702 delegation
    assert node.call("eth_getStorageAt", h(LOGGER), "0x0", "0x0") == "0x" + (41).to_bytes(32, "big").hex()
    assert int(node.call("eth_getStorageAt", h(LOGGER), "0x" + "00" * 32, "0x1"), 16) == 43
    assert node.call("eth_getTransactionCount", h(ADDRESSES[0]), "latest") == "0x2"
    assert node.call("eth_getTransactionCount", h(ADDRESSES[2]), "0x1") == "0x1"
    # EIP-1898 objects and bare hashes name a block for state methods
    block1 = h(info["block1"].hash)
    assert node.call("eth_getBalance", recipient, {"blockHash": block1}) == hex(10**24 + 12345)
    assert node.call("eth_getBalance", recipient, {"blockHash": block1, "requireCanonical": True})
    assert node.call("eth_getBalance", recipient, {"blockNumber": "0x0"}) == hex(10**24)
    assert node.call("eth_getBalance", recipient, block1) == hex(10**24 + 12345)


def test_state_errors(node):
    address = h(ADDRESSES[0])
    error = node.error("eth_getBalance", address, "0x3")
    assert (error.code, error.message) == (-32001, "header not found")
    assert node.error("eth_getBalance", address, {"blockHash": "0x" + "11" * 32}).code == -32001
    assert node.error("eth_getBalance", address, {"blockHash": "0x" + "11" * 32, "blockNumber": "0x0"}).code == -32602
    assert node.error("eth_getBalance", address, "newest").message.startswith("unknown block tag 'newest'")
    assert node.error("eth_getBalance", "0x1234", "latest").code == -32602
    assert node.error("eth_getBalance", address[:-1] + "z", "latest").code == -32602
    assert node.error("eth_getStorageAt", address, "0x" + "1" * 65, "latest").code == -32602
    assert node.error("eth_getCode", 42, "latest").code == -32602


# -- calls -------------------------------------------------------------------------------------------
def test_call_and_overrides(node):
    logger = h(LOGGER)
    assert int(node.call("eth_call", {"to": logger, "data": "0x01"}, "latest"), 16) == 45
    assert int(node.call("eth_call", {"to": logger, "input": "0x01"}, "0x0"), 16) == 42
    slot0 = "0x" + "00" * 32
    state = {logger: {"stateDiff": {slot0: "0x" + (99).to_bytes(32, "big").hex()}}}
    assert int(node.call("eth_call", {"to": logger}, "latest", state), 16) == 100
    elsewhere = "0x" + "77" * 20
    override = {elsewhere: {"code": h(LOGGER_RUNTIME), "state": {}, "balance": "0x1"}}
    assert int(node.call("eth_call", {"to": elsewhere, "from": ZERO}, "latest", override), 16) == 1
    assert node.call("eth_call", {"to": h(ADDRESSES[1]), "from": h(ADDRESSES[0]), "value": "0x1"}) == "0x"


def test_call_errors(node):
    logger = h(LOGGER)
    error = node.error("eth_call", {"to": logger, "data": "0xff"}, "latest")
    assert (error.code, error.message) == (3, "execution reverted: nope")
    assert error.data.startswith("0x08c379a0")
    out_of_gas = node.error("eth_call", {"to": logger, "gas": hex(21_100), "data": "0x01"}, "latest")
    assert out_of_gas.code == -32000 and "out of gas" in out_of_gas.message.lower()
    assert node.error("eth_call", {"to": h(ADDRESSES[1]), "value": "0x1"}).code == -32602  # zero address is broke
    assert node.error("eth_call", {"to": logger, "data": "0x01", "input": "0x02"}).code == -32602
    assert node.error("eth_call", {"to": logger, "gasPrice": "0x1", "maxFeePerGas": "0x1"}).code == -32602
    assert node.error("eth_call", {"to": logger, "bogus": 1}).code == -32602
    unsupported = node.error("eth_call", {"to": logger, "authorizationList": [{"address": logger}]})
    assert unsupported.code == -32602 and "authorizationList is not supported" in unsupported.message
    assert node.call("eth_call", {"to": logger, "authorizationList": [], "blobVersionedHashes": None})
    assert node.error("eth_call", "0x00").code == -32602
    overrides = {logger: {"state": {}, "stateDiff": {}}}
    assert node.error("eth_call", {"to": logger}, "latest", overrides).code == -32602
    assert node.error("eth_call", {"to": logger}, "latest", {logger: {"balance": "lots"}}).code == -32602
    assert node.error("eth_call", {"to": logger}, "0x9").code == -32001


def test_estimate_gas(node, w3):
    logger = h(LOGGER)
    assert int(node.call("eth_estimateGas", {"to": h(ADDRESSES[1]), "from": h(ADDRESSES[0])}), 16) == 21_000
    estimate = int(node.call("eth_estimateGas", {"to": logger, "data": "0x01"}), 16)
    assert 21_000 < estimate < 100_000
    error = node.error("eth_estimateGas", {"to": logger, "data": "0xff"})
    assert (error.code, error.message) == (3, "execution reverted: nope")
    with pytest.raises(ContractLogicError, match="nope"):
        w3.eth.call({"to": Web3.to_checksum_address(logger), "data": "0xff"})


# -- fees --------------------------------------------------------------------------------------------
def test_gas_price_suggestions(node, w3):
    tip = int(node.call("eth_maxPriorityFeePerGas"), 16)
    assert tip == GWEI  # 60th percentile of the recent blocks' lowest tips
    assert int(node.call("eth_gasPrice"), 16) == 7 + GWEI
    assert w3.eth.gas_price == 7 + GWEI
    assert node.call("eth_blobBaseFee") == "0x1"


def test_fee_history(node, w3):
    history = node.call("eth_feeHistory", "0x2", "latest", [25, 75])
    assert history["oldestBlock"] == "0x1"
    assert len(history["baseFeePerGas"]) == 3 and len(history["gasUsedRatio"]) == 2
    assert len(history["baseFeePerBlobGas"]) == 3 and len(history["blobGasUsedRatio"]) == 2
    assert len(history["reward"]) == 2 and all(len(r) == 2 for r in history["reward"])
    # block 1 tips by gas: 0.5 gwei (21120 gas), 1 gwei x3, 3 gwei - 7 (the access-list tx)
    assert history["reward"][0] == [hex(GWEI), hex(GWEI)]
    assert 0 < history["gasUsedRatio"][0] < 1
    whole = node.call("eth_feeHistory", 100, "0x1", [])
    assert whole["oldestBlock"] == "0x0" and len(whole["baseFeePerGas"]) == 3 and "reward" not in whole
    assert node.call("eth_feeHistory", "0x0", "latest")["baseFeePerGas"] == []
    assert node.error("eth_feeHistory", "0x1", "0x5").code == -32602
    assert node.error("eth_feeHistory", "0x1", "latest", [50, 10]).code == -32602
    assert node.error("eth_feeHistory", "0x1", "latest", [101]).code == -32602
    assert node.error("eth_feeHistory", "many", "latest").code == -32602
    parsed = w3.eth.fee_history(2, "latest", [50])
    assert parsed["oldestBlock"] == 1


# -- submission and the pool -------------------------------------------------------------------------
def test_send_raw_transaction_pending_and_txpool(tmp_path):
    chain, _ = standard_chain(tmp_path / "db")
    node = ServerThread(LocalBackend(chain))
    try:
        sender = h(ADDRESSES[0])
        raw = sign(0, nonce=2, to=address_hex(ADDRESSES[1]), value=5, gas=21_000)
        queued_raw = sign(0, nonce=4, to=address_hex(ADDRESSES[1]), value=5, gas=21_000)
        tx_hash = node.call("eth_sendRawTransaction", h(raw))
        node.call("eth_sendRawTransaction", h(queued_raw))
        pending = node.call("eth_getTransactionByHash", tx_hash)
        assert pending["hash"] == tx_hash and pending["from"] == sender
        assert pending["blockHash"] is None and pending["blockNumber"] is None and pending["transactionIndex"] is None
        assert pending["gasPrice"] == hex(2 * GWEI)  # the fee cap until mined
        assert node.call("eth_getTransactionReceipt", tx_hash) is None
        assert node.call("eth_getTransactionCount", sender, "pending") == "0x3"
        assert node.call("eth_getTransactionCount", sender, "latest") == "0x2"
        assert node.call("txpool_status") == {"pending": "0x1", "queued": "0x1"}
        content = node.call("txpool_content")
        checksummed = to_checksum_address(sender)
        assert content["pending"][checksummed]["2"]["hash"] == tx_hash
        assert list(content["queued"][checksummed]) == ["4"]
        again = node.error("eth_sendRawTransaction", h(raw))
        assert (again.code, again.message) == (-32003, "already known")
        assert node.error("eth_sendRawTransaction", "0x1234").code == -32003
        assert node.error("eth_sendRawTransaction", "0xzz").code == -32602
        node.seal([raw])
        assert node.call("eth_getTransactionReceipt", tx_hash)["status"] == "0x1"
        assert node.call("eth_getTransactionByHash", tx_hash)["blockNumber"] == "0x3"
    finally:
        node.close()


def test_rpc_error_helper_is_raised_for_errors(node):
    with pytest.raises(RpcError):
        node.call("eth_nope")


def test_raw_block_and_header(node, chain_info):
    """debug_getRawBlock is the consensus RLP: its header hashes to the block hash, its txs are the envelopes."""
    import rlp
    from eth_hash.auto import keccak

    _, info = chain_info
    block1 = info["block1"]
    raw = bytes.fromhex(node.call("debug_getRawBlock", "0x1")[2:])
    header, transactions, ommers, withdrawals = rlp.decode(raw)
    assert keccak(rlp.encode(header)) == block1.hash
    assert node.call("debug_getRawHeader", "0x1") == "0x" + rlp.encode(header).hex()
    assert [item if isinstance(item, bytes) else rlp.encode(item) for item in transactions] == [
        tx.raw for tx in block1.transactions
    ]
    assert any(isinstance(item, list) for item in transactions)  # the legacy one stays a list
    assert ommers == [] and withdrawals == []
    with pytest.raises(RpcError):
        node.call("debug_getRawBlock", "0x99")
