"""What the `exec` prover reads besides the traces: the trace file, the block RLPs, the bridge logs.

The request only names the conflated trace file; everything in it is checked against the request
(each block's `rlp` must be exactly the file's header and transactions) and against itself (parent
hashes chain from the parent header, which must be the file's last ancestor hash). Bridge logs are
compared in a normalised form, so hex case and quantity padding do not matter, only content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import rlp
from eth_hash.auto import keccak

from linen.execution.tracer import conflated
from linen.protocol.messaging import MESSAGE_SENT_TOPIC
from linen.prover.backends.stateless_exec import ExecutedBlock
from linen.state.trace_replay import InvalidExecutionRequest, hex_bytes, parse_hex

L1_L2_HASHES_ADDED_TOPIC = keccak(b"L1L2MessageHashesAddedToInbox(bytes32[])")
ROLLING_HASH_UPDATED_TOPIC = keccak(b"RollingHashUpdated(uint256,bytes32)")
BRIDGE_TOPICS = frozenset((MESSAGE_SENT_TOPIC, L1_L2_HASHES_ADDED_TOPIC, ROLLING_HASH_UPDATED_TOPIC))
LEGACY_TX_FIRST_BYTE = 0xC0


class TracesFileMissing(InvalidExecutionRequest):
    """The conflated trace file the request names is not where the prover can read it."""


# -- the request ---------------------------------------------------------------------------------


def field(request: dict, name: str, kind: type) -> Any:
    value = request.get(name)
    if not isinstance(value, kind):
        raise InvalidExecutionRequest(f"{name}: missing or not a {kind.__name__}")
    return value


def traces_path(name: str, settings: object) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    traces_dir = getattr(settings, "traces_dir", None)
    if traces_dir:
        candidate = Path(traces_dir) / path.name
        if candidate.is_file():
            return candidate
    raise TracesFileMissing(f"conflatedExecutionTracesFile {name!r}: no such file (traces dir: {traces_dir})")


def service_address(request: dict, settings: object) -> bytes:
    configured = getattr(settings, "l2_message_service", None)
    named = request.get("l2MessageServiceAddress")
    values = []
    for what, value in (("the prover settings", configured), ("l2MessageServiceAddress", named)):
        if value:
            raw = value if isinstance(value, bytes) else parse_hex(value, what, (20,))
            values.append(raw)
    if not values:
        raise InvalidExecutionRequest(
            "no L2 message service address: set it in the prover settings or in l2MessageServiceAddress"
        )
    if len(values) == 2 and values[0] != values[1]:
        raise InvalidExecutionRequest(
            f"l2MessageServiceAddress 0x{values[1].hex()} is not the configured service 0x{values[0].hex()}"
        )
    return values[0]


def check_block_rlp(number: int, encoded: bytes, block: conflated.ConflatedBlock) -> None:
    """The request's block RLP is exactly the trace file's header and transactions."""
    try:
        header, transactions, uncles, withdrawals = rlp.decode(encoded)
        raws = [rlp.encode(t) if isinstance(t, list) else t for t in transactions]
    except (rlp.exceptions.DecodingError, ValueError, TypeError):
        raise InvalidExecutionRequest(f"blocksData of block {number}: rlp is not a block") from None
    if rlp.encode(header) != rlp.encode(block.header):
        raise InvalidExecutionRequest(f"blocksData of block {number}: the header differs from the trace file's")
    if raws != [bytes(t) for t in block.transactions] or uncles or withdrawals:
        raise InvalidExecutionRequest(f"blocksData of block {number}: the transactions differ from the trace file's")


def load_traces(request: dict, settings: object, blocks_data: list) -> conflated.ConflatedTraces:
    path = traces_path(field(request, "conflatedExecutionTracesFile", str), settings)
    try:
        traces = conflated.decode(path.read_bytes())
    except ValueError as exc:
        raise InvalidExecutionRequest(f"conflated trace file {path.name}: {exc}") from None
    version = request.get("tracesEngineVersion")
    if version != traces.version:
        raise InvalidExecutionRequest(f"tracesEngineVersion {version!r} is not the trace file's {traces.version!r}")
    chain_id = getattr(settings, "l2_chain_id", 0)
    if chain_id and traces.chain_id != chain_id:
        raise InvalidExecutionRequest(f"the trace file is of chain {traces.chain_id}, this prover proves {chain_id}")
    if len(traces.blocks) != len(blocks_data) or traces.end - traces.start + 1 != len(blocks_data):
        raise InvalidExecutionRequest(
            f"the trace file holds blocks {traces.start}-{traces.end}, the request {len(blocks_data)} blocks"
        )
    parent = traces.parent_header
    if parent.block_number != traces.start - 1 or not traces.ancestor_hashes:
        raise InvalidExecutionRequest("the trace file's parent header is not block start-1")
    if bytes(parent.hash) != traces.ancestor_hashes[-1]:
        raise InvalidExecutionRequest("the trace file's parent header is not its last ancestor hash")
    expected_ancestors = traces.start - max(0, traces.start - conflated.ANCESTOR_WINDOW)
    if len(traces.ancestor_hashes) != expected_ancestors:
        raise InvalidExecutionRequest(
            f"the trace file has {len(traces.ancestor_hashes)} ancestor hashes, not {expected_ancestors}"
        )
    previous = parent
    for offset, (block, data) in enumerate(zip(traces.blocks, blocks_data, strict=True)):
        number = traces.start + offset
        header = block.header
        if header.block_number != number or header.parent_hash != previous.hash:
            raise InvalidExecutionRequest(f"block {number} of the trace file does not follow block {number - 1}")
        if header.timestamp <= previous.timestamp or header.gas_used > header.gas_limit:
            raise InvalidExecutionRequest(f"block {number}: header timestamp or gas used is out of bounds")
        if len(block.senders) != len(block.transactions):
            raise InvalidExecutionRequest(f"block {number}: the trace file lists {len(block.senders)} senders")
        if not isinstance(data, dict):
            raise InvalidExecutionRequest(f"blocksData[{offset}]: expected an object")
        check_block_rlp(number, parse_hex(data.get("rlp"), f"blocksData[{offset}].rlp"), block)
        previous = header
    return traces


# -- the bridge logs -----------------------------------------------------------------------------


class BridgeLog(NamedTuple):
    """A bridge log's content, comparable whatever the hex case or quantity padding of its JSON."""

    removed: bool
    log_index: int
    transaction_index: int
    block_number: int
    transaction_hash: bytes
    block_hash: bytes
    address: bytes
    data: bytes
    topics: tuple[bytes, ...]


def parse_bridge_log(log: object, where: str) -> BridgeLog:
    if not isinstance(log, dict) or not isinstance(log.get("topics"), list) or not isinstance(log.get("removed"), bool):
        raise InvalidExecutionRequest(f"{where}: expected a log object with removed and topics")
    quantities = []
    for name in ("logIndex", "transactionIndex", "blockNumber"):
        value = log.get(name)
        if not isinstance(value, str) or not value.startswith("0x"):
            raise InvalidExecutionRequest(f"{where}.{name}: expected a hex quantity")
        try:
            quantities.append(int(value, 16))
        except ValueError:
            raise InvalidExecutionRequest(f"{where}.{name}: invalid hex quantity") from None
    return BridgeLog(
        log["removed"],
        *quantities,
        hex_bytes(log, "transactionHash", (32,)),
        hex_bytes(log, "blockHash", (32,)),
        hex_bytes(log, "address", (20,)),
        hex_bytes(log, "data"),
        tuple(parse_hex(t, f"{where}.topics[]", (32,)) for t in log["topics"]),
    )


def bridge_logs(executed: ExecutedBlock, service: bytes) -> list[BridgeLog]:
    """The re-executed block's logs of the service that carry one of the three bridge topics."""
    out = []
    log_index = 0
    block_hash = bytes(executed.header.hash)
    for tx_index, (ptx, execution) in enumerate(zip(executed.transactions, executed.sealed.executions, strict=True)):
        for log in execution.logs:
            if log.address == service and log.topics and log.topics[0] in BRIDGE_TOPICS:
                out.append(
                    BridgeLog(
                        False,
                        log_index,
                        tx_index,
                        executed.header.block_number,
                        ptx.hash,
                        block_hash,
                        log.address,
                        log.data,
                        log.topics,
                    )
                )
            log_index += 1
    return out


def check_bridge_logs(number: int, data: dict, computed: list[BridgeLog]) -> None:
    given = data.get("bridgeLogs")
    if not isinstance(given, list):
        raise InvalidExecutionRequest(f"blocksData of block {number}: bridgeLogs must be a list")
    claimed = [parse_bridge_log(log, f"bridgeLogs of block {number}[{i}]") for i, log in enumerate(given)]
    if claimed != computed:
        for index, (a, b) in enumerate(zip(claimed, computed, strict=False)):
            if a != b:
                raise InvalidExecutionRequest(f"bridgeLogs of block {number}: log {index} is not what the block emits")
        raise InvalidExecutionRequest(
            f"bridgeLogs of block {number}: {len(claimed)} logs listed, the block emits {len(computed)}"
        )
