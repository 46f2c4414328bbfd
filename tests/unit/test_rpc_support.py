"""A tiny real node for the RPC tests: LMDB store, py-evm engine, real pool, hand-built blocks.

The real wiring (`node.py`, the block producer) is written elsewhere; these tests build the same
objects from real parts so the RPC layer is checked against real blocks, receipts and state. The
server runs on its own event loop in a background thread, so tests can use synchronous clients
(requests, web3.py) and hand work to the loop with `ServerThread.on_loop`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth.constants import BLANK_ROOT_HASH
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from linen.chain.codec import encode_state_diff
from linen.chain.genesis import GenesisAccount
from linen.chain.kv import KeyValueStore
from linen.chain.store import ChainStore
from linen.chain.types import Block, BlockHeader
from linen.execution.pyevm_engine import PyEvmEngine
from linen.execution.transactions import decode_transaction
from linen.protocol.fees import next_base_fee
from linen.rpc.backend import RpcLimits
from linen.rpc.server import RpcServer
from linen.sequencer.txpool import TxPool, TxPoolConfig

CHAIN_ID = 1337
GWEI = 10**9
KEYS = [bytes([i + 1]) * 32 for i in range(4)]
ADDRESSES = [bytes.fromhex(Account.from_key(key).address[2:]) for key in KEYS]
LOGGER = bytes.fromhex("c0de" * 10)  # the log-emitting contract, placed at genesis
PING_TOPIC = keccak(b"Ping(address)")
GENESIS_BASE_FEE = 7
COINBASE = b"\xcb" * 20

# -- a tiny assembler, so the test contract's bytecode is readable ---------------------------------
_OPS = {
    "STOP": 0x00, "ADD": 0x01, "EQ": 0x14, "ISZERO": 0x15, "SHR": 0x1C, "CALLER": 0x33, "CALLDATALOAD": 0x35,
    "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37, "CODECOPY": 0x39, "MSTORE": 0x52, "SLOAD": 0x54,
    "SSTORE": 0x55, "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80, "LOG2": 0xA2, "RETURN": 0xF3, "REVERT": 0xFD,
}  # fmt: skip


def assemble(program: list[Any]) -> bytes:
    """Ops are names, ("PUSH", int_or_bytes, width) or ("LABEL", name) / ("JUMPTO", name) (2-byte push)."""
    labels: dict[str, int] = {}
    for _ in range(2):  # the first pass learns the label offsets
        out = bytearray()
        for item in program:
            if isinstance(item, str):
                out.append(_OPS[item])
            elif item[0] == "LABEL":
                labels[item[1]] = len(out)
                out.append(_OPS["JUMPDEST"])
            elif item[0] == "JUMPTO":
                out += bytes([0x61]) + labels.get(item[1], 0).to_bytes(2, "big")
            else:
                _, value, width = item
                raw = value if isinstance(value, bytes) else value.to_bytes(width, "big")
                out += bytes([0x5F + width]) + raw.rjust(width, b"\x00")
    return bytes(out)


def _push(value: int | bytes, width: int = 1) -> tuple:
    return ("PUSH", value, width)


_ERROR_NOPE = bytes.fromhex("08c379a0").ljust(32, b"\x00")
LOGGER_RUNTIME = assemble(
    [
        "CALLDATASIZE", "ISZERO", ("JUMPTO", "log"), "JUMPI",
        _push(0), "CALLDATALOAD", _push(0xF8), "SHR", _push(0xFF), "EQ", ("JUMPTO", "revert"), "JUMPI",
        ("LABEL", "log"),
        "CALLDATASIZE", _push(0), _push(0), "CALLDATACOPY",
        "CALLER", _push(PING_TOPIC, 32), "CALLDATASIZE", _push(0), "LOG2",
        _push(0), "SLOAD", _push(1), "ADD", "DUP1", _push(0), "SSTORE",
        _push(0), "MSTORE", _push(32), _push(0), "RETURN",
        ("LABEL", "revert"),
        _push(_ERROR_NOPE, 32), _push(0), "MSTORE", _push(0x20), _push(4), "MSTORE", _push(4), _push(0x24), "MSTORE",
        _push(b"nope".ljust(32, b"\x00"), 32), _push(0x44), "MSTORE", _push(0x64), _push(0), "REVERT",
    ]
)  # fmt: skip


def deploy_code(runtime: bytes) -> bytes:
    """Init code that returns `runtime`."""
    header_len = 14
    init = assemble(
        [_push(len(runtime), 2), _push(header_len, 1), _push(0), "CODECOPY", _push(len(runtime), 2), _push(0), "RETURN"]
    )
    assert len(init) == header_len
    return init + runtime


def sign(sender: int, **fields: Any) -> bytes:
    """A signed raw transaction from test key `sender` (EIP-155 for legacy)."""
    fields.setdefault("chainId", CHAIN_ID)
    fields.setdefault("gas", 100_000)
    fields.setdefault("value", 0)
    if "gasPrice" not in fields:
        fields.setdefault("maxFeePerGas", 2 * GWEI)
        fields.setdefault("maxPriorityFeePerGas", GWEI)
    return bytes(Account.sign_transaction(fields, KEYS[sender]).raw_transaction)


def address_hex(address: bytes) -> str:
    return to_checksum_address(address)


class TestChain:
    """Genesis plus blocks built by hand with the real engine and committed to the real store."""

    __test__ = False

    def __init__(self, path: Path) -> None:
        self.kv = KeyValueStore(path)
        self.store = ChainStore(self.kv)
        self.engine = PyEvmEngine(self.store, CHAIN_ID, record_opcodes=False)
        alloc = {address: GenesisAccount(balance=10**24) for address in ADDRESSES}
        alloc[LOGGER] = GenesisAccount(code=LOGGER_RUNTIME, storage={0: 41})
        root, writes = self.engine.genesis_state(alloc)
        header = BlockHeader(
            difficulty=1,
            block_number=0,
            gas_limit=30_000_000,
            timestamp=0,
            state_root=root,
            base_fee_per_gas=GENESIS_BASE_FEE,
            extra_data=b"\x00" * 97,
            withdrawals_root=BLANK_ROOT_HASH,
            parent_beacon_block_root=b"\x00" * 32,
            requests_hash=hashlib.sha256(b"").digest(),
            nonce=b"\x00" * 8,
        )
        self.store.commit_block(Block(header, (), ()), writes, b"\xc0")

    def add_block(self, raws: list[bytes], timestamp: int | None = None) -> Block:
        parent = self.store.head()
        template = BlockHeader(
            difficulty=2,
            block_number=parent.block_number + 1,
            gas_limit=parent.gas_limit,
            timestamp=parent.timestamp + 2 if timestamp is None else timestamp,
            coinbase=COINBASE,
            parent_hash=parent.hash,
            base_fee_per_gas=next_base_fee(
                parent.base_fee_per_gas, parent.gas_used, parent.gas_limit, GENESIS_BASE_FEE
            ),
            extra_data=b"\x00" * 97,
            withdrawals_root=BLANK_ROOT_HASH,
            parent_beacon_block_root=b"\x00" * 32,
            requests_hash=hashlib.sha256(b"").digest(),
            nonce=b"\x00" * 8,
        )
        builder = self.engine.begin_block(template, parent.state_root)
        for raw in raws:
            builder.apply(decode_transaction(raw, CHAIN_ID))
        sealed = builder.finish()
        block = sealed.to_block(sealed.header)
        self.store.commit_block(block, sealed.state_writes, encode_state_diff(sealed.state_diff))
        return block


@dataclass
class LocalBackend:
    """An `RpcBackend` made of real parts; `submit_raw_transaction` pools like the node will."""

    chain: TestChain
    limits: RpcLimits = field(default_factory=RpcLimits)
    min_gas_price: int = 0
    client_version: str = "linen/test"
    listeners: list[Callable[[Block], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chain_id = CHAIN_ID
        self.store = self.chain.store
        self.engine = self.chain.engine
        self.pool = TxPool(TxPoolConfig(min_gas_price=self.min_gas_price), self._account)

    def _account(self, address: bytes) -> tuple[int, int]:
        head = self.store.head()
        return self.engine.get_nonce(address, head), self.engine.get_balance(address, head)

    def submit_raw_transaction(self, raw: bytes) -> bytes:
        ptx = decode_transaction(raw, self.chain_id)
        self.pool.add(ptx)
        return ptx.hash

    def add_block_listener(self, listener: Callable[[Block], None]) -> None:
        self.listeners.append(listener)

    def safe_block_number(self) -> int:
        return self.store.head().block_number

    def finalized_block_number(self) -> int:
        return max(0, self.store.head().block_number - 1)

    def seal(self, raws: list[bytes]) -> Block:
        """Build, commit and announce a block (call on the server loop, as the producer would)."""
        block = self.chain.add_block(raws)
        for listener in self.listeners:
            listener(block)
        return block


class RpcError(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data")


class ServerThread:
    """An `RpcServer` on port 0, on its own event loop in a daemon thread."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.loop = asyncio.new_event_loop()
        self.server = RpcServer(backend, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.on_loop(self.server.start())
        self.session = requests.Session()
        self._ids = iter(range(1, 1 << 62))

    @property
    def url(self) -> str:
        return self.server.url

    def on_loop(self, work: Any, timeout: float = 30) -> Any:
        """Run a coroutine, or a plain function, on the server's loop and return its result."""
        if asyncio.iscoroutine(work):
            return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

        async def wrapper() -> Any:
            return work()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def post(self, payload: Any, raw: bytes | None = None) -> requests.Response:
        """POST `payload` as JSON, or `raw` bytes as they are."""
        body = json.dumps(payload).encode() if raw is None else raw
        return self.session.post(self.url, data=body, headers={"Content-Type": "application/json"}, timeout=30)

    def request(self, method: str, *params: Any) -> dict:
        response = self.post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        assert response.status_code == 200, response.text
        return response.json()

    def call(self, method: str, *params: Any) -> Any:
        reply = self.request(method, *params)
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply["result"]

    def error(self, method: str, *params: Any) -> RpcError:
        reply = self.request(method, *params)
        assert "error" in reply, f"{method} {params} answered {reply}"
        assert set(reply) == {"jsonrpc", "id", "error"}, reply
        return RpcError(reply["error"])

    def seal(self, raws: list[bytes]) -> Block:
        return self.on_loop(lambda: self.backend.seal(raws))

    def close(self) -> None:
        self.session.close()
        self.on_loop(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.backend.chain.kv.close()


def standard_chain(path: Path) -> tuple[TestChain, dict[str, Any]]:
    """Genesis and two blocks covering every transaction type, a deployment, logs and a revert.

    Block 1: legacy transfer, access-list call (logs), dynamic-fee call (logs), deployment, reverted call.
    Block 2: set-code (type 4) transaction and one more logging call.
    """
    chain = TestChain(path)
    info: dict[str, Any] = {}
    to_logger = address_hex(LOGGER)
    block1 = [
        sign(0, nonce=0, to=address_hex(ADDRESSES[3]), value=12345, gasPrice=GWEI, gas=21_000),
        sign(1, nonce=0, to=to_logger, data="0x" + "aa" * 4, gasPrice=3 * GWEI, type=1,
             accessList=[{"address": to_logger, "storageKeys": ["0x" + "00" * 32]}]),
        sign(2, nonce=0, to=to_logger, data="0x" + "bb" * 40),
        sign(0, nonce=1, data="0x" + deploy_code(LOGGER_RUNTIME).hex(), gas=300_000),
        sign(1, nonce=1, to=to_logger, data="0xff", type=2, maxFeePerGas=2 * GWEI, maxPriorityFeePerGas=GWEI // 2),
    ]  # fmt: skip
    info["block1"] = chain.add_block(block1)
    auth = Account.sign_authorization({"chainId": CHAIN_ID, "address": to_logger, "nonce": 0}, KEYS[3])
    block2 = [
        sign(2, nonce=1, to=address_hex(ADDRESSES[3]), type=4, authorizationList=[auth], gas=100_000),
        sign(2, nonce=2, to=to_logger, data="0xcc"),
    ]
    info["block2"] = chain.add_block(block2)
    return chain, info
