"""Execution proving end to end: the coordinator's request over RPC, the `exec` prover's stateless re-run.

An in-process node (with its state manager) serves JSON-RPC; the batch holds ETH transfers, an ERC-20
deploy and transfers, a transfer that clears a storage slot (a DELETE trace), L2→L1 messages through
a deployed L2 message service and an L1→L2 anchoring (a RollingHashUpdated event). The response must
agree with the node and the state manager; every kind of tampering must be refused by name.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3

from linen.coordinator.execution_request import build_execution_request
from linen.devaccounts import operator_dev_account
from linen.execution.tracer import conflated
from linen.l1.artifacts import compile_contracts as compile_linen_contracts
from linen.prover.backends.execution import InvalidExecutionRequest, prove_execution
from linen.rpc.auth import read_secret
from linen.rpc.client import RpcCallFailed, RpcClient
from tests.helpers import ROOT, compile_contracts
from tests.unit.chainkit import CHAIN_ID, Signer, make_node, signers

pytestmark = pytest.mark.slow

MIN_FEE = 10**14
PROVER_KEY = "0x" + "5a" * 32
MESSAGE_SENT = keccak(b"MessageSent(address,address,uint256,uint256,uint256,bytes,bytes32)")
FIRST, LAST = 2, 5


@dataclass(frozen=True)
class Settings:
    """A stand-in for ProverSettings: the attributes the backend reads."""

    key: str
    l2_chain_id: int
    l2_message_service: str | None = None
    traces_dir: Path | None = None


class InProcessNode:
    """A `Node` with its RPC server and state manager on a background event loop; blocks on demand."""

    def __init__(self, data_dir: Path) -> None:
        self.node = make_node(data_dir, sequencer__block_period=3600.0)  # the producer never ticks by itself
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._run(self.node.start())
        self.url = self.node.rpc.url
        self.client = RpcClient(self.url)
        # the coordinator's view: the authenticated endpoint, where trace files can be asked for
        self.auth_client = RpcClient(self.node.rpc.auth_url, secret=read_secret(self.node.config.jwt_secret))

    def _run(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def produce(self, *raws: bytes) -> list[dict]:
        """Submit `raws` over RPC, seal one block with them (on the node's loop), return the receipts."""
        hashes = [self.client.call("eth_sendRawTransaction", "0x" + raw.hex()) for raw in raws]

        async def produce():  # type: ignore[no-untyped-def]
            return self.node.producer.produce_block()

        block = self._run(produce())
        assert block is not None and len(block.transactions) == len(raws)
        receipts = [self.client.call("eth_getTransactionReceipt", h) for h in hashes]
        assert all(r["status"] == "0x1" for r in receipts), receipts
        return receipts

    def wait_state(self, number: int, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while True:
            try:
                if int(self.client.call("rollup_getZkEVMBlockNumber"), 16) >= number:
                    return
            except RpcCallFailed as exc:  # the state store's reads race its writer thread (reported); retry
                assert exc.code == -32603, exc
            assert time.time() < deadline, f"the state manager did not reach block {number}"
            time.sleep(0.1)

    def stop(self) -> None:
        self._run(self.node.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Batch:
    request: dict
    response: dict
    settings: Settings
    client: RpcClient
    service: str
    messages: list[bytes]
    rolling: tuple[int, bytes]
    seconds: float
    harness: InProcessNode


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    harness = InProcessNode(tmp_path_factory.mktemp("exec") / "node")
    try:
        yield _run_batch(harness)
    finally:
        harness.stop()


def _run_batch(harness: InProcessNode) -> Batch:
    w3 = Web3()
    linen = compile_linen_contracts(ROOT / ".pytest_cache" / "l1-contracts")["L2MessageService"]
    token_artifact = compile_contracts("TestToken")["TestToken"]
    alice, bob, carol = signers()[:3]
    op = operator_dev_account()
    operator = Signer(op.address, op.private_key)

    # block 1, before the batch: the L2 message service (the operator administers and anchors)
    service_factory = w3.eth.contract(abi=linen.abi, bytecode=linen.bytecode)
    deploy = service_factory.constructor(op.address, op.address, 86400, 10_000 * 10**18, MIN_FEE).data_in_transaction
    (receipt,) = harness.produce(operator.sign(data=deploy, gas=6_000_000))
    service_address = receipt["contractAddress"]
    service = w3.eth.contract(address=Web3.to_checksum_address(service_address), abi=linen.abi)

    # block 2: ETH transfers (one to a fresh account) and the ERC-20 deploy
    token_deploy = w3.eth.contract(abi=token_artifact["abi"], bytecode=token_artifact["bytecode"])
    fresh = "0x00000000000000000000000000000000000f2e51"
    token_address = Web3.to_checksum_address(keccak(rlp.encode([carol.raw_address, carol.nonce]))[12:])
    harness.produce(
        alice.sign(to=bob.address, value=10**18),
        bob.sign(to=Web3.to_checksum_address(fresh), value=5),
        carol.sign(data=token_deploy.constructor(10**24).data_in_transaction, gas=1_500_000),
    )
    token = w3.eth.contract(address=token_address, abi=token_artifact["abi"])

    # block 3: token transfers and an L2→L1 message
    send_fee = MIN_FEE + 10**15
    receipts = harness.produce(
        carol.sign(to=token_address, data=token.encode_abi("transfer", [alice.address, 1000]), gas=100_000),
        carol.sign(to=token_address, data=token.encode_abi("transfer", [bob.address, 7]), gas=100_000),
        alice.sign(
            to=service.address,
            value=send_fee + 10**16,
            gas=300_000,
            data=service.encode_abi("sendMessage", [carol.address, send_fee, b"hi L1"]),
        ),
    )
    messages = [
        bytes.fromhex(log["topics"][3][2:])
        for log in receipts[2]["logs"]
        if log["topics"][0] == "0x" + MESSAGE_SENT.hex()
    ]

    # block 4: alice's whole token balance moves (her slot goes to zero), an anchoring, another message
    l1_message = keccak(b"an L1 message")
    rolling_hash = keccak(bytes(32) + l1_message)
    receipts = harness.produce(
        alice.sign(to=token_address, data=token.encode_abi("transfer", [bob.address, 1000]), gas=100_000),
        operator.sign(
            to=service.address,
            gas=300_000,
            data=service.encode_abi("anchorL1L2MessageHashes", [[l1_message], 1, 1, rolling_hash]),
        ),
        bob.sign(
            to=service.address,
            value=MIN_FEE + 1,
            gas=300_000,
            data=service.encode_abi("sendMessage", [alice.address, MIN_FEE, b""]),
        ),
    )
    messages += [
        bytes.fromhex(log["topics"][3][2:])
        for log in receipts[2]["logs"]
        if log["topics"][0] == "0x" + MESSAGE_SENT.hex()
    ]

    # block 5: a plain transfer, and a 0-value one that only reads its recipient (an account READ)
    harness.produce(alice.sign(to=bob.address, value=1), alice.sign(to=carol.address, value=0))
    harness.wait_state(LAST)

    request = build_execution_request(
        harness.auth_client, harness.client, FIRST, LAST, harness.node.traces_dir, l2_message_service=service_address
    )
    settings = Settings(PROVER_KEY, CHAIN_ID, service_address)
    started = time.perf_counter()
    response = prove_execution(request, settings)
    seconds = time.perf_counter() - started
    print(f"\nexec prover: {LAST - FIRST + 1} blocks in {seconds:.2f} s ({seconds / (LAST - FIRST + 1):.3f} s/block)")
    return Batch(
        request, response, settings, harness.client, service_address, messages, (1, rolling_hash), seconds, harness
    )


def test_the_request_has_linea_shape_and_carries_what_the_services_served(batch):
    request, client = batch.request, batch.client
    assert set(request) >= {
        "zkParentStateRootHash",
        "keccakParentStateRootHash",
        "conflatedExecutionTracesFile",
        "tracesEngineVersion",
        "type2StateManagerVersion",
        "zkStateMerkleProof",
        "blocksData",
    }
    assert Path(request["conflatedExecutionTracesFile"]).name == conflated.file_name(FIRST, LAST)
    assert (
        request["keccakParentStateRootHash"] == client.call("eth_getBlockByNumber", hex(FIRST - 1), False)["stateRoot"]
    )
    assert request["zkParentStateRootHash"] == client.call("linen_getZkStateRoot", FIRST - 1)["zkStateRootHash"]
    assert request["type2StateManagerVersion"] == "2.5.2"
    assert len(request["blocksData"]) == len(request["zkStateMerkleProof"]) == LAST - FIRST + 1
    for offset, data in enumerate(request["blocksData"]):
        block = client.call("eth_getBlockByNumber", hex(FIRST + offset), False)
        header = rlp.decode(bytes.fromhex(data["rlp"][2:]))[0]
        assert "0x" + keccak(rlp.encode(header)).hex() == block["hash"]
        assert int(block["size"], 16) == len(bytes.fromhex(data["rlp"][2:]))  # geth's block RLP, byte for byte
    kinds = {t["type"] for block in request["zkStateMerkleProof"] for t in block}
    assert kinds >= {0, 1, 2, 3, 4}  # READ, READ_ZERO, INSERT, UPDATE and the cleared slot's DELETE
    assert len(request["blocksData"][1]["bridgeLogs"]) == 1  # block 3: one MessageSent
    assert len(request["blocksData"][2]["bridgeLogs"]) == 3  # block 4: hashes added, rolling hash, MessageSent


def test_the_response_agrees_with_the_node_and_the_state_manager(batch):
    response, client = batch.response, batch.client
    assert response["firstBlockNumber"] == FIRST
    assert response["parentStateRootHash"] == batch.request["zkParentStateRootHash"]
    for offset, block in enumerate(response["blocksData"]):
        number = FIRST + offset
        node_block = client.call("eth_getBlockByNumber", hex(number), False)
        assert block["blockHash"] == node_block["hash"]
        assert block["timestamp"] == int(node_block["timestamp"], 16)
        assert block["rootHash"] == client.call("linen_getZkStateRoot", number)["zkStateRootHash"]
    assert response["blocksData"][-1]["rootHash"] == batch.request["zkEndStateRootHash"]
    assert response["allL2L1MessageHashes"] == ["0x" + h.hex() for h in batch.messages] and len(batch.messages) == 2
    assert [b["l2ToL1MsgHashes"] for b in response["blocksData"]] == [
        [],
        ["0x" + batch.messages[0].hex()],
        ["0x" + batch.messages[1].hex()],
        [],
    ]
    number, rolling_hash = batch.rolling
    assert response["allRollingHashEvent"] == [{"messageNumber": number, "rollingHash": "0x" + rolling_hash.hex()}]
    assert response["blocksData"][2]["lastRollingHashUpdatedEvent"] == response["allRollingHashEvent"][0]
    assert response["blocksData"][0]["lastRollingHashUpdatedEvent"] == {
        "messageNumber": 0,
        "rollingHash": "0x" + "00" * 32,
    }
    proof = bytes.fromhex(response["proof"][2:])
    assert len(proof) == 65
    signer = Account._recover_hash(bytes.fromhex(response["publicInput"][2:]), signature=proof)
    assert signer == Account.from_key(PROVER_KEY).address
    assert prove_execution(batch.request, batch.settings) == response  # deterministic: a redo gives the same file


def _refused(batch: Batch, request: dict, match: str, settings: Settings | None = None) -> None:
    with pytest.raises(InvalidExecutionRequest, match=match):
        prove_execution(request, settings or batch.settings)


def _find(request: dict, kind: int, storage: bool | None = None) -> dict:
    for block in request["zkStateMerkleProof"]:
        for trace in block:
            if trace["type"] == kind and (storage is None or (trace["location"] != "0x") == storage):
                return trace
    raise AssertionError(f"no trace of type {kind}")


def _flip(hex_text: str, position: int = -1) -> str:
    raw = bytearray(bytes.fromhex(hex_text[2:]))
    raw[position] ^= 0x01
    return "0x" + raw.hex()


def test_a_tampered_trace_value_is_refused(batch):
    request = copy.deepcopy(batch.request)
    trace = _find(request, 3, storage=False)  # an account UPDATE: give it one more wei
    value = bytearray(bytes.fromhex(trace["newValue"][2:]))
    value[63] ^= 0x01
    trace["newValue"] = "0x" + value.hex()
    _refused(batch, request, r"zkStateMerkleProof of block \d+, trace \d+ \(UPDATE\)")

    request = copy.deepcopy(batch.request)
    trace = _find(request, 0, storage=True)  # a storage READ claiming another value
    trace["value"] = _flip(trace["value"])
    _refused(batch, request, r"\(READ\): the leaf does not hold key/value")


def test_a_tampered_proof_sibling_is_refused(batch):
    request = copy.deepcopy(batch.request)
    trace = _find(request, 4)  # the DELETE of the cleared slot
    trace["deletedProof"]["siblings"][7] = _flip(trace["deletedProof"]["siblings"][7])
    _refused(batch, request, r"\(DELETE\): the deleted leaf's path does not chain")

    request = copy.deepcopy(batch.request)
    trace = _find(request, 2)
    trace["leftProof"]["siblings"][0] = _flip(trace["leftProof"]["siblings"][0])
    _refused(batch, request, r"\(INSERT\): the left leaf's path does not reach the old sub-root")


def test_a_missing_read_trace_is_refused(batch):
    request = copy.deepcopy(batch.request)  # reads change no root: without one, the traces still chain
    block = request["zkStateMerkleProof"][-1]
    index = next(i for i, t in enumerate(block) if t["type"] == 0 and t["location"] == "0x")
    carol = block.pop(index)["key"]
    _refused(batch, request, f"block 5: execution touches account {carol}, which the traces do not cover")

    request = copy.deepcopy(batch.request)
    block, index = next(
        (b, i)
        for b in request["zkStateMerkleProof"]
        for i, t in enumerate(b)
        if t["type"] == 0 and t["location"] != "0x"
    )
    del block[index]
    _refused(
        batch, request, r"execution touches slot 0x[0-9a-f]+ of account 0x[0-9a-f]+, which the traces do not cover"
    )


def test_a_tampered_transaction_in_the_trace_file_is_refused(batch, tmp_path):
    path = Path(batch.request["conflatedExecutionTracesFile"])
    traces = conflated.decode(path.read_bytes())
    block = traces.blocks[1]
    raw = bytearray(block.transactions[0])
    raw[-40] ^= 0x01  # inside the signature's s
    tampered_block = conflated.ConflatedBlock(
        block.header, (bytes(raw), *block.transactions[1:]), block.senders, block.counts
    )
    blocks = (traces.blocks[0], tampered_block, *traces.blocks[2:])
    tampered = conflated.ConflatedTraces(
        traces.chain_id,
        traces.version,
        traces.start,
        traces.end,
        traces.parent_header,
        traces.ancestor_hashes,
        blocks,
        traces.codes,
    )
    target = tmp_path / path.name
    target.write_bytes(conflated.encode(tampered))
    request = copy.deepcopy(batch.request)
    request["conflatedExecutionTracesFile"] = str(target)
    _refused(batch, request, r"blocksData of block 3: the transactions differ from the trace file's")

    # the request's RLP tampered the same way: re-execution itself refuses the block
    from linen.coordinator.execution_request import encode_block_rlp

    request["blocksData"][1]["rlp"] = "0x" + encode_block_rlp(block.header, tampered_block.transactions).hex()
    _refused(batch, request, r"block 3, transaction 0: .*(signature|sender)|block 3: re-execution gives another")


def test_a_tampered_bridge_log_is_refused(batch):
    request = copy.deepcopy(batch.request)
    log = request["blocksData"][1]["bridgeLogs"][0]
    log["topics"][3] = _flip(log["topics"][3])  # another message hash
    _refused(batch, request, r"bridgeLogs of block 3: log 0 is not what the block emits")

    request = copy.deepcopy(batch.request)
    request["blocksData"][2]["bridgeLogs"].pop()
    _refused(batch, request, r"bridgeLogs of block 4: 2 logs listed, the block emits 3")


def test_a_tampered_parent_root_is_refused(batch):
    request = copy.deepcopy(batch.request)
    request["zkParentStateRootHash"] = _flip(request["zkParentStateRootHash"])
    _refused(batch, request, r"zkParentStateRootHash is not the root the first account trace starts from")
    settings = Settings(PROVER_KEY, CHAIN_ID, batch.service)
    object.__setattr__(settings, "state_hasher", "poseidon2-bn254")  # a configured hasher: the chain check names it
    _refused(batch, request, r"account-tree traces do not chain", settings)

    request = copy.deepcopy(batch.request)
    request["keccakParentStateRootHash"] = _flip(request["keccakParentStateRootHash"])
    _refused(batch, request, r"keccakParentStateRootHash is not the state root of the parent header")


def test_a_request_naming_another_message_service_is_refused(batch):
    request = copy.deepcopy(batch.request)
    request["l2MessageServiceAddress"] = "0x" + "11" * 20
    _refused(batch, request, r"l2MessageServiceAddress 0x1{40} is not the configured service")


def test_a_block_touching_an_account_that_stays_absent_is_provable(batch):
    harness, sender = batch.harness, signers()[6]  # an account no other step of this module uses
    harness.produce(sender.sign(to=Web3.to_checksum_address("0x" + "de" * 20), value=0))
    number = int(harness.client.call("eth_blockNumber"), 16)
    harness.wait_state(number)
    request = build_execution_request(
        harness.auth_client, harness.client, number, number, harness.node.traces_dir, l2_message_service=batch.service
    )
    assert prove_execution(request, batch.settings)["blocksData"][0]["rootHash"] == request["zkEndStateRootHash"]
