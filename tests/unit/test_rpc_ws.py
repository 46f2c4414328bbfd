"""WebSocket: requests on the same port and path as HTTP, and eth_subscribe newHeads / logs.

Blocks are announced the way the node will: the backend calls its block listeners on the server's
event loop after committing the block (`ServerThread.seal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

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
from websockets.sync.client import connect

from linen.rpc.backend import RpcLimits


def h(value: bytes) -> str:
    return "0x" + value.hex()


@pytest.fixture
def node(tmp_path):
    chain, _ = standard_chain(tmp_path / "db")
    server = ServerThread(LocalBackend(chain, limits=RpcLimits(max_request_bytes=4096)))
    yield server
    server.close()


class Client:
    def __init__(self, url: str) -> None:
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, max_size=None))
        self.ids = iter(range(1, 10**9))

    def send(self, payload) -> None:
        self.ws.send(json.dumps(payload))

    def recv(self, timeout: float = 10):
        return json.loads(self.ws.recv(timeout=timeout))

    def call(self, method, *params):
        request_id = next(self.ids)
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
        reply = self.recv()
        assert reply["id"] == request_id, reply
        return reply

    def quiet(self, seconds: float = 0.3) -> bool:
        """True if nothing arrives within `seconds`."""
        try:
            self.ws.recv(timeout=seconds)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def client(node):
    c = Client(node.server.ws_url)
    yield c
    c.close()


def test_requests_over_websocket(node, client):
    assert node.server.ws_url.startswith("ws://127.0.0.1:")
    assert client.call("eth_chainId")["result"] == "0x539"
    client.send([{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}, {"jsonrpc": "2.0", "id": 2, "method": "x"}])
    batch = client.recv()
    assert batch[0]["result"] == "0x2" and batch[1]["error"]["code"] == -32601
    client.ws.send("{not json")
    assert client.recv()["error"]["code"] == -32700
    client.ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "web3_sha3", "params": ["0x" + "00" * 2500]}))
    assert client.recv()["error"]["code"] == -32005
    client.send({"jsonrpc": "2.0", "method": "eth_chainId"})  # notification: nothing comes back
    assert client.quiet()
    assert client.call("eth_chainId")["result"] == "0x539"


def test_new_heads(node, client):
    subscription = client.call("eth_subscribe", "newHeads")["result"]
    block = node.seal([])
    message = client.recv()
    assert message["method"] == "eth_subscription" and message["jsonrpc"] == "2.0" and "id" not in message
    assert message["params"]["subscription"] == subscription
    head = message["params"]["result"]
    assert head["hash"] == h(block.hash) and head["number"] == "0x3"
    assert head["parentHash"] == node.call("eth_getBlockByNumber", "0x2", False)["hash"]
    assert {"logsBloom", "stateRoot", "baseFeePerGas", "timestamp", "miner"} <= set(head)
    assert client.call("eth_unsubscribe", subscription)["result"] is True
    assert client.call("eth_unsubscribe", subscription)["result"] is False
    node.seal([])
    assert client.quiet()


def test_logs_subscription_filters(node, client):
    by_address = client.call("eth_subscribe", "logs", {"address": h(LOGGER)})["result"]
    by_topic = client.call("eth_subscribe", "logs", {"topics": [h(PING_TOPIC), "0x" + "00" * 12 + ADDRESSES[1].hex()]})[
        "result"
    ]
    block = node.seal(
        [
            sign(0, nonce=2, to=address_hex(LOGGER), data="0x0102"),
            sign(1, nonce=2, to=address_hex(ADDRESSES[3]), data="0x"),  # account 3 delegates to the logger
            sign(2, nonce=3, to=address_hex(ADDRESSES[0]), value=1),  # no logs
        ]
    )
    received = [client.recv() for _ in range(2)]
    assert client.quiet()
    by_id = {m["params"]["subscription"]: m["params"]["result"] for m in received}
    assert by_id[by_address]["address"] == h(LOGGER) and by_id[by_address]["data"] == "0x0102"
    assert by_id[by_topic]["address"] == h(ADDRESSES[3]) and by_id[by_topic]["logIndex"] == "0x1"
    assert by_id[by_topic]["blockHash"] == h(block.hash) and by_id[by_topic]["removed"] is False
    logs = node.call("eth_getLogs", {"blockHash": h(block.hash)})
    assert sorted(by_id.values(), key=lambda entry: entry["logIndex"]) == logs


def test_subscribe_errors(client):
    assert client.call("eth_subscribe", "newPendingTransactions")["error"]["code"] == -32602
    assert client.call("eth_subscribe", "syncing")["error"]["message"].startswith("unsupported subscription type")
    assert client.call("eth_subscribe", "logs", {"address": "0x12"})["error"]["code"] == -32602
    assert client.call("eth_subscribe", "logs", {"blockHash": "0x" + "00" * 32})["error"]["code"] == -32602
    # cast sends fromBlock/toBlock with every log subscription: geth ignores them, and so does Linen
    assert client.call("eth_subscribe", "logs", {"fromBlock": "0x0", "toBlock": "latest"})["result"].startswith("0x")
    assert client.call("eth_subscribe")["error"]["code"] == -32602
    assert client.call("eth_unsubscribe", 5)["error"]["code"] == -32602


def test_fan_out_and_disconnect(node, client):
    other = Client(node.server.ws_url)
    first = client.call("eth_subscribe", "newHeads")["result"]
    second = other.call("eth_subscribe", "newHeads")["result"]
    assert first != second
    block = node.seal([])
    assert client.recv()["params"]["result"]["hash"] == h(block.hash)
    assert other.recv()["params"]["result"]["hash"] == h(block.hash)
    other.close()
    deadline = time.monotonic() + 5
    while node.on_loop(lambda: len(node.server.hub.connections)) != 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert node.on_loop(lambda: len(node.server.hub.connections)) == 1
    node.seal([])  # publishing with a departed client is harmless
    assert client.recv()["params"]["subscription"] == first


def test_web3_websocket_provider_subscription(node):
    """web3.py's own WebSocket client subscribes to newHeads against ws://host:port."""
    from web3 import AsyncWeb3, WebSocketProvider

    async def scenario():
        async with AsyncWeb3(WebSocketProvider(node.server.ws_url)) as w3:
            assert await w3.eth.chain_id == 1337
            subscription_id = await w3.eth.subscribe("newHeads")
            asyncio.get_running_loop().call_later(0.1, lambda: node.loop.call_soon_threadsafe(node.backend.seal, []))
            async for message in w3.socket.process_subscriptions():
                assert message["subscription"] == subscription_id
                return message["result"]["number"]

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == 3


def test_server_stop_closes_websockets(tmp_path):
    chain, _ = standard_chain(tmp_path / "db")
    node = ServerThread(LocalBackend(chain))
    ws_client = Client(node.server.ws_url)
    ws_client.call("eth_subscribe", "newHeads")
    node.close()
    with pytest.raises(Exception):  # noqa: B017 - any closed-connection error will do
        ws_client.call("eth_chainId")
