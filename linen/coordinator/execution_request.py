"""The execution proof request of a closed batch (spec §3 "On batch close", §4 "Exec request").

Everything comes from the other services' public JSON-RPC, never from their stores:

- the node writes the batch's conflated trace file (`linea_generateConflatedTracesToFileV2`); the
  coordinator and the node share the data dir, so the request names that file by its path;
- the state manager serves the zk parent root and the per-block Merkle traces
  (`rollup_getZkEVMStateMerkleProofV0`), copied verbatim;
- `eth_getBlockByNumber` gives the Patricia root of block start-1 and each block's hash;
- `eth_getLogs` gives each block's L2 message service logs (MessageSent,
  L1L2MessageHashesAddedToInbox, RollingHashUpdated).

Each block's RLP is assembled here from the sealed header and signed transactions in the trace
file, in geth's layout `[header, [txs], uncles=[], withdrawals=[]]` (what `debug_getRawBlock`
serves), and checked against the node's block hash, so a stale or foreign file is refused rather
than proven, and the request agrees with the file the prover re-executes.

Two Linen additions to Linea's request shape, both optional for a reader: `zkEndStateRootHash` (the
state manager's root after the last block, which the prover checks its replay against) and
`l2MessageServiceAddress` (whose logs are the bridge logs; a prover prefers its own configured value).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rlp
from eth_hash.auto import keccak

from linen.errors import OperationalError
from linen.execution.tracer import conflated
from linen.primitives.hexcodec import to_data
from linen.protocol.messaging import MESSAGE_SENT_TOPIC
from linen.rpc.client import RpcCallFailed, RpcClient

L1_L2_HASHES_ADDED_TOPIC = keccak(b"L1L2MessageHashesAddedToInbox(bytes32[])")
ROLLING_HASH_UPDATED_TOPIC = keccak(b"RollingHashUpdated(uint256,bytes32)")
BRIDGE_TOPICS = (MESSAGE_SENT_TOPIC, L1_L2_HASHES_ADDED_TOPIC, ROLLING_HASH_UPDATED_TOPIC)
BRIDGE_LOG_FIELDS = (
    "removed",
    "logIndex",
    "transactionIndex",
    "transactionHash",
    "blockHash",
    "blockNumber",
    "address",
    "data",
    "topics",
)
LOGS_CHUNK = 100  # blocks per eth_getLogs call, well under any node's range limit
LEGACY_TX_FIRST_BYTE = 0xC0  # a legacy envelope is an RLP list; a typed one starts with its type (< 0x80)


class ExecutionRequestUnavailable(OperationalError):
    """The services cannot (yet) give what the request needs; the coordinator retries later."""



def encode_block_rlp(header: Any, transactions: list[bytes] | tuple[bytes, ...]) -> bytes:
    """geth's block RLP: `[header, [txs], [], []]`; a legacy tx is its own list, a typed one a string."""
    items: list[Any] = [rlp.decode(raw) if raw[0] >= LEGACY_TX_FIRST_BYTE else raw for raw in transactions]
    return rlp.encode([header, items, [], []])


def _address(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 20:
        raise ValueError(f"l2_message_service: expected a 20-byte address, got {len(raw)} bytes")
    return to_data(raw)


def _bridge_logs(node: RpcClient, service: str, start: int, end: int) -> dict[int, list[dict]]:
    """The service's bridge logs of every block in [start, end], per block, in log order."""
    by_block: dict[int, list[dict]] = {n: [] for n in range(start, end + 1)}
    for first in range(start, end + 1, LOGS_CHUNK):
        last = min(end, first + LOGS_CHUNK - 1)
        logs = node.call(
            "eth_getLogs",
            {
                "fromBlock": hex(first),
                "toBlock": hex(last),
                "address": service,
                "topics": [[to_data(t) for t in BRIDGE_TOPICS]],
            },
        )
        for log in logs:
            number = int(log["blockNumber"], 16)
            if number not in by_block:
                raise ExecutionRequestUnavailable(
                    f"eth_getLogs answered a log of block {number}, outside {first}-{last}"
                )
            by_block[number].append({field: log[field] for field in BRIDGE_LOG_FIELDS})
    for logs in by_block.values():
        logs.sort(key=lambda log: int(log["logIndex"], 16))
    return by_block


def _block(node: RpcClient, number: int) -> dict:
    block = node.call("eth_getBlockByNumber", hex(number), False)
    if block is None:
        raise ExecutionRequestUnavailable(f"the node has no block {number}")
    return block


def build_execution_request(
    node: RpcClient,
    state_manager: RpcClient,
    start: int,
    end: int,
    traces_dir: Path | str | None = None,
    *,
    l2_message_service: str | bytes,
    state_manager_version: str = "test",
) -> dict:
    """The execution request of blocks [start, end] (spec §4), ready to be written as JSON.

    `traces_dir` is the node's traces folder as the coordinator sees it (the devnet's
    `<data-dir>/traces`); the request carries the file's path there. `state_manager_version` is what
    the state manager is asked for (`"test"` accepts any); the version it answers goes in the request.
    Raises `ExecutionRequestUnavailable` (or the client's `OperationalError`s) when a service cannot
    answer yet, e.g. the state manager has not applied block `end`.
    """
    if not 1 <= start <= end:
        raise ValueError(f"invalid block range {start}-{end}: need 1 <= start <= end")
    if traces_dir is None:
        raise ExecutionRequestUnavailable(
            "the node serves no raw blocks, so the block RLP is read from the conflated trace file: "
            "pass the node's traces folder (traces_dir)"
        )
    service = _address(l2_message_service)
    try:
        generated = node.call(
            "linea_generateConflatedTracesToFileV2", {"startBlockNumber": start, "endBlockNumber": end}
        )
        proofs = state_manager.call(
            "rollup_getZkEVMStateMerkleProofV0",
            {"startBlockNumber": start, "endBlockNumber": end, "zkStateManagerVersion": state_manager_version},
        )
    except RpcCallFailed as exc:
        raise ExecutionRequestUnavailable(f"blocks {start}-{end}: {exc}") from None
    path = Path(traces_dir) / generated["conflatedTracesFileName"]
    try:
        traces = conflated.decode(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ExecutionRequestUnavailable(f"cannot read the conflated trace file {path}: {exc}") from None
    if (traces.start, traces.end) != (start, end):
        raise ExecutionRequestUnavailable(f"{path} covers blocks {traces.start}-{traces.end}, not {start}-{end}")
    if len(proofs["zkStateMerkleProof"]) != end - start + 1:
        raise ExecutionRequestUnavailable(
            f"the state manager sent traces of {len(proofs['zkStateMerkleProof'])} blocks"
        )

    parent = _block(node, start - 1)
    logs = _bridge_logs(node, service, start, end)
    blocks_data = []
    for offset, block in enumerate(traces.blocks):
        number = start + offset
        expected_hash = _block(node, number)["hash"]
        if to_data(bytes(block.header.hash)) != expected_hash:
            raise ExecutionRequestUnavailable(
                f"block {number} in {path} has hash {to_data(bytes(block.header.hash))}, the node's is {expected_hash}"
            )
        blocks_data.append(
            {"rlp": to_data(encode_block_rlp(block.header, block.transactions)), "bridgeLogs": logs[number]}
        )

    return {
        "zkParentStateRootHash": proofs["zkParentStateRootHash"],
        "zkEndStateRootHash": proofs["zkEndStateRootHash"],
        "keccakParentStateRootHash": parent["stateRoot"],
        "conflatedExecutionTracesFile": str(path),
        "tracesEngineVersion": generated["tracesEngineVersion"],
        "type2StateManagerVersion": proofs["zkStateManagerVersion"],
        "zkStateMerkleProof": proofs["zkStateMerkleProof"],
        "blocksData": blocks_data,
        "l2MessageServiceAddress": service,
    }
