"""eth_getLogs filtering and limits, and the polling filters' lifecycle (changes, expiry, caps)."""

from __future__ import annotations

import pytest
from test_rpc_support import (
    ADDRESSES,
    LOGGER,
    PING_TOPIC,
    LocalBackend,
    ServerThread,
    address_hex,
    sign,
    standard_chain,
)

from linen.rpc.backend import RpcLimits
from linen.rpc.logs import parse_criteria


def h(value: bytes) -> str:
    return "0x" + value.hex()


def topic_of(address: bytes) -> str:
    return "0x" + "00" * 12 + address.hex()


@pytest.fixture(scope="module")
def chain_info(tmp_path_factory):
    chain, info = standard_chain(tmp_path_factory.mktemp("logs") / "db")
    server = ServerThread(LocalBackend(chain))
    yield server, info
    server.close()


@pytest.fixture(scope="module")
def node(chain_info):
    return chain_info[0]


def logs(node, **criteria):
    return node.call("eth_getLogs", criteria)


def test_get_logs_ranges(node, chain_info):
    _, info = chain_info
    everything = logs(node, fromBlock="earliest", toBlock="latest")
    assert [(entry["blockNumber"], entry["logIndex"]) for entry in everything] == [
        ("0x1", "0x0"), ("0x1", "0x1"), ("0x2", "0x0"), ("0x2", "0x1"),
    ]  # fmt: skip
    assert logs(node) == everything[2:]  # both ends default to latest
    assert logs(node, fromBlock="0x1", toBlock="0x1") == everything[:2]
    assert logs(node, fromBlock="0x1", toBlock="0x99") == everything  # toBlock is clamped to the head
    assert logs(node, fromBlock="0x5") == []
    assert logs(node, blockHash=h(info["block2"].hash)) == everything[2:]
    receipt = node.call("eth_getTransactionReceipt", everything[1]["transactionHash"])
    assert receipt["logs"] == [everything[1]]


def test_get_logs_address_and_topics(node):
    logger, delegated = h(LOGGER), h(ADDRESSES[3])
    assert len(logs(node, fromBlock="earliest", address=logger)) == 3
    assert len(logs(node, fromBlock="earliest", address=[delegated])) == 1
    assert len(logs(node, fromBlock="earliest", address=[logger, delegated])) == 4
    assert len(logs(node, fromBlock="earliest", address=[])) == 4  # empty list: any address
    assert logs(node, fromBlock="earliest", address="0x" + "99" * 20) == []
    ping, other = h(PING_TOPIC), "0x" + "ee" * 32
    assert len(logs(node, fromBlock="earliest", topics=[ping])) == 4
    assert len(logs(node, fromBlock="earliest", topics=[None, topic_of(ADDRESSES[2])])) == 3
    assert len(logs(node, fromBlock="earliest", topics=[[other, ping], topic_of(ADDRESSES[1])])) == 1
    assert len(logs(node, fromBlock="earliest", topics=[[], [topic_of(ADDRESSES[1]), None]])) == 4
    assert logs(node, fromBlock="earliest", topics=[other]) == []
    assert logs(node, fromBlock="earliest", topics=[ping, None, None]) == []  # no log has 3 topics
    only = logs(node, fromBlock="earliest", address=delegated, topics=[ping, topic_of(ADDRESSES[2])])
    assert len(only) == 1 and only[0]["address"] == delegated and only[0]["data"] == "0x"


def test_get_logs_errors(node, chain_info):
    _, info = chain_info
    block_hash = h(info["block2"].hash)
    assert node.error("eth_getLogs", {"blockHash": block_hash, "fromBlock": "0x1"}).code == -32602
    assert node.error("eth_getLogs", {"blockHash": "0x" + "11" * 32}).code == -32001
    assert node.error("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x1"}).code == -32602
    assert node.error("eth_getLogs", {"fromBlock": "yesterday"}).message.startswith("unknown block tag")
    assert node.error("eth_getLogs", {"topics": ["0x1234"]}).code == -32602
    assert node.error("eth_getLogs", {"topics": [None] * 5}).code == -32602
    assert node.error("eth_getLogs", {"address": "0x12"}).code == -32602
    assert node.error("eth_getLogs", {"address": ["0x" + "00" * 20, 5]}).code == -32602
    assert node.error("eth_getLogs", {"topics": "0x" + "00" * 32}).code == -32602
    assert node.error("eth_getLogs", {"fromBlock": "0x0", "limit": 5}).code == -32602
    assert node.error("eth_getLogs", []).code == -32602
    assert node.error("eth_getLogs").code == -32602


def test_get_logs_limits(tmp_path):
    chain, _ = standard_chain(tmp_path / "db")
    node = ServerThread(LocalBackend(chain, limits=RpcLimits(max_logs_block_range=2, max_logs_results=3)))
    try:
        error = node.error("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
        assert error.code == -32005 and "maximum block range of 2 blocks" in error.message
        assert "narrow fromBlock/toBlock" in error.message
        error = node.error("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x2"})
        assert error.code == -32005 and "more than 3 results" in error.message
        assert len(node.call("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x2", "address": h(LOGGER)})) == 3
    finally:
        node.close()


def test_bloom_screens_blocks(chain_info):
    _, info = chain_info
    bloom = info["block2"].header.bloom
    assert parse_criteria({}).may_match(0)
    assert parse_criteria({"address": h(ADDRESSES[3])}).may_match(bloom)
    assert not parse_criteria({"address": h(ADDRESSES[3])}).may_match(info["block1"].header.bloom)
    assert not parse_criteria({"address": h(LOGGER)}).may_match(0)
    assert parse_criteria({"topics": [None, [topic_of(ADDRESSES[2]), "0x" + "ee" * 32]]}).may_match(bloom)
    assert not parse_criteria({"topics": [None, topic_of(ADDRESSES[0])]}).may_match(bloom)


# -- filters -----------------------------------------------------------------------------------------
@pytest.fixture
def fresh(tmp_path):
    chain, _ = standard_chain(tmp_path / "db")
    node = ServerThread(LocalBackend(chain, limits=RpcLimits(max_filters=3, filter_timeout_seconds=60)))
    yield node
    node.close()


def call_logger(sender: int, nonce: int, data: str = "0x01") -> bytes:
    return sign(sender, nonce=nonce, to=address_hex(LOGGER), data=data)


def test_block_filter(fresh):
    fid = fresh.call("eth_newBlockFilter")
    assert fid.startswith("0x") and len(fid) == 34
    assert fresh.call("eth_getFilterChanges", fid) == []
    first = fresh.seal([])
    second = fresh.seal([])
    assert fresh.call("eth_getFilterChanges", fid) == [h(first.hash), h(second.hash)]
    assert fresh.call("eth_getFilterChanges", fid) == []
    assert fresh.call("eth_uninstallFilter", fid) is True
    assert fresh.call("eth_uninstallFilter", fid) is False
    error = fresh.error("eth_getFilterChanges", fid)
    assert (error.code, error.message) == (-32000, "filter not found")


def test_log_filter(fresh):
    fid = fresh.call("eth_newFilter", {"address": h(LOGGER)})
    everything = fresh.call("eth_newFilter", {"fromBlock": "earliest"})
    assert fresh.call("eth_getFilterChanges", fid) == []
    block = fresh.seal([call_logger(0, 2), sign(1, nonce=2, to=address_hex(ADDRESSES[3]), value=1)])
    fresh.seal([call_logger(0, 3, "0x0203")])
    changes = fresh.call("eth_getFilterChanges", fid)
    assert [c["blockNumber"] for c in changes] == ["0x3", "0x4"]
    assert changes[0]["blockHash"] == h(block.hash) and changes[1]["data"] == "0x0203"
    assert fresh.call("eth_getFilterChanges", fid) == []
    # eth_getFilterLogs re-runs the whole query; "latest" means the current head
    assert fresh.call("eth_getFilterLogs", fid) == changes[1:]
    assert len(fresh.call("eth_getFilterLogs", everything)) == 4 + 2 + 1  # delegated account 3 logs too
    block_filter = fresh.call("eth_newBlockFilter")
    assert fresh.error("eth_getFilterLogs", block_filter).message == "filter not found"


def test_pending_transaction_filter(fresh):
    fid = fresh.call("eth_newPendingTransactionFilter")
    assert fresh.call("eth_getFilterChanges", fid) == []
    tx_hash = fresh.call("eth_sendRawTransaction", h(call_logger(0, 2)))
    assert fresh.call("eth_getFilterChanges", fid) == [tx_hash]
    assert fresh.call("eth_getFilterChanges", fid) == []


def test_filter_cap_and_bad_params(fresh):
    for _ in range(3):
        fresh.call("eth_newBlockFilter")
    error = fresh.error("eth_newBlockFilter")
    assert error.code == -32005 and "eth_uninstallFilter" in error.message
    assert fresh.error("eth_getFilterChanges", 7).code == -32602
    assert fresh.error("eth_getFilterChanges", "0x1234").code == -32000
    assert fresh.error("eth_newFilter", {"blockHash": "0x" + "11" * 32}).code == -32602
    assert fresh.error("eth_newFilter", {"fromBlock": "tomorrow"}).code == -32602


def test_filters_expire_when_not_polled(fresh):
    now = [1000.0]
    fresh.on_loop(lambda: setattr(fresh.server.filters, "clock", lambda: now[0]))
    polled = fresh.call("eth_newBlockFilter")
    idle = fresh.call("eth_newBlockFilter")
    now[0] += 40
    assert fresh.call("eth_getFilterChanges", polled) == []
    now[0] += 40  # idle has now waited 80 s > 60 s; polled only 40 s
    assert fresh.call("eth_getFilterChanges", polled) == []
    assert fresh.error("eth_getFilterChanges", idle).message == "filter not found"
    now[0] += 61
    assert fresh.on_loop(fresh.server.filters.expire) == 1
    assert fresh.error("eth_getFilterChanges", polled).message == "filter not found"
