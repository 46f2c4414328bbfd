"""Linea's own JSON-RPC methods: trace counters and files, linea_estimateGas, exclusion status.

Shapes follow Linea's tracer and sequencer plugins, so a Linea coordinator or SDK can talk to a
Linen node: `linea_getBlockTracesCountersV2([{blockNumber}])`, the conflated variants over
`[{startBlockNumber, endBlockNumber}]`, `linea_estimateGas` like eth_estimateGas but answering gas
plus a base fee and a priority fee that clears the profitability rule, and
`linea_getTransactionExclusionStatusV1(txHash)` for transactions refused during block building.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import rlp
from eth_hash.auto import keccak

from linen.errors import InvalidParams, LimitExceeded, ResourceNotFound
from linen.execution.tracer import conflated
from linen.execution.tracer.counts import conflate_counts
from linen.primitives.hexcodec import parse_hash
from linen.protocol.blob.sizes import compressed_size
from linen.protocol.profitability import profitable_priority_fee_per_gas
from linen.rpc.backend import RpcBackend
from linen.rpc.eth import eth_estimate_gas
from linen.rpc.format import d, q
from linen.rpc.params import expect, parse_call_request, parse_u64, show

MAX_CONFLATED_RANGE = 10_000  # blocks one conflated request may span
MAX_TRACE_FILES = 100_000  # files in the traces dir before trace writing refuses (retention removes old ones)
# v, r, s: 64 bytes with no pattern a compressor could use, as a real signature's (lzss shrinks runs of 0xff)
WORST_CASE_SIGNATURE = [b"\x01", keccak(b"linea_estimateGas: r"), keccak(b"linea_estimateGas: s")]


def _block_number(value: object, name: str) -> int:
    """Linea's tracer takes block numbers as JSON numbers or as decimal/hex strings."""
    if isinstance(value, str) and value.isdigit():
        if len(value) > 20 or int(value) >= 2**64:
            raise InvalidParams(f"{name}: {show(value)} is larger than 64 bits")
        return int(value)
    return parse_u64(value, name)


def _object(params: list, keys: tuple[str, ...]) -> list[int]:
    (request,) = expect(params, 1)
    if not isinstance(request, dict):
        raise InvalidParams(f"expected an object with {', '.join(keys)}, got {show(request)}")
    unknown = set(request) - set(keys)
    if unknown:
        raise InvalidParams(f"unknown field(s) {sorted(unknown)}; expected {', '.join(keys)}")
    missing = [k for k in keys if k not in request]
    if missing:
        raise InvalidParams(f"missing field(s) {', '.join(missing)}")
    return [_block_number(request[k], k) for k in keys]


def _traces_or_error(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except conflated.TracesUnavailable as exc:
        raise ResourceNotFound(str(exc)) from None


def _range(backend: RpcBackend, params: list) -> tuple[int, int]:
    start, end = _object(params, ("startBlockNumber", "endBlockNumber"))
    if end < start:
        raise InvalidParams(f"endBlockNumber {end} is before startBlockNumber {start}")
    if end - start + 1 > MAX_CONFLATED_RANGE:
        raise InvalidParams(f"range of {end - start + 1} blocks is over the maximum of {MAX_CONFLATED_RANGE}")
    head = backend.store.head().block_number
    if end > head:
        raise ResourceNotFound(f"block {end} is not sealed yet (head is {head})")
    return start, end


def linea_get_block_traces_counters_v2(backend: RpcBackend, params: list) -> dict[str, Any]:
    (number,) = _object(params, ("blockNumber",))
    counts = _traces_or_error(conflated.block_counts, backend.store, number)
    return {"tracesEngineVersion": conflated.TRACES_ENGINE_VERSION, "blockNumber": str(number), "tracesCounters": counts}


def linea_get_conflated_traces_counters_v2(backend: RpcBackend, params: list) -> dict[str, Any]:
    start, end = _range(backend, params)
    totals: dict[str, int] = {}
    for number in range(start, end + 1):
        totals = conflate_counts(totals, _traces_or_error(conflated.block_counts, backend.store, number))
    return {
        "tracesEngineVersion": conflated.TRACES_ENGINE_VERSION,
        "startBlockNumber": str(start),
        "endBlockNumber": str(end),
        "tracesCounters": totals,
    }


def linea_generate_conflated_traces_to_file_v2(backend: RpcBackend, params: list) -> dict[str, Any]:
    """Write the range's conflated trace file (atomically; an existing file is reused) and name it."""
    start, end = _range(backend, params)
    name = conflated.file_name(start, end)
    path = backend.traces_dir / name
    if not path.exists():
        if backend.traces_dir.is_dir() and _count_files(backend.traces_dir) >= MAX_TRACE_FILES:
            raise LimitExceeded(f"{backend.traces_dir} already holds {MAX_TRACE_FILES} trace files: remove old ones")
        traces = _traces_or_error(conflated.collect, backend.store, backend.chain_id, start, end)
        backend.traces_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_bytes(conflated.encode(traces))
        tmp.replace(path)
    return {"tracesEngineVersion": conflated.TRACES_ENGINE_VERSION, "conflatedTracesFileName": name}


def _count_files(folder: Path) -> int:
    with os.scandir(folder) as entries:
        return sum(1 for _ in entries)


def _estimated_envelope(backend: RpcBackend, request, gas: int, tip: int, max_fee: int) -> bytes:  # type: ignore[no-untyped-def]
    """A stand-in for the signed transaction the caller will send, to price its compressed size."""
    access_list = [[address, [slot.to_bytes(32, "big") for slot in slots]] for address, slots in request.access_list]
    fields = [backend.chain_id, request.nonce or 0, tip, max_fee, gas, request.to or b"", request.value, request.data,
              access_list, *WORST_CASE_SIGNATURE]
    return b"\x02" + rlp.encode(fields)


def linea_estimate_gas(backend: RpcBackend, params: list) -> dict[str, str]:
    """Gas like eth_estimateGas, plus the fees at which the transaction passes the profitability rule."""
    gas = int(eth_estimate_gas(backend, params), 16)
    request = parse_call_request(params[0], backend.chain_id)
    rules = backend.rules
    base_fee = backend.pending_base_fee()
    tip = 0
    for _ in range(3):  # the tip is inside the envelope it prices: iterate to a fixed point
        envelope = _estimated_envelope(backend, request, gas, tip, 2 * base_fee + tip)
        needed = profitable_priority_fee_per_gas(compressed_size(envelope), gas, rules.estimate_gas_min_margin,
                                                 rules.profitability)
        needed = max(needed, rules.min_gas_price - base_fee, 0)
        if needed <= tip:
            break
        tip = needed
    return {"gasLimit": q(gas), "baseFeePerGas": q(base_fee), "priorityFeePerGas": q(tip)}


def linea_get_transaction_exclusion_status_v1(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    (value,) = expect(params, 1)
    tx_hash = parse_hash(value, "transaction hash")
    exclusion = backend.exclusions.get(tx_hash)
    if exclusion is None:
        return None
    return {
        "txHash": d(exclusion.tx_hash),
        "from": d(exclusion.sender),
        "nonce": q(exclusion.nonce),
        "txRejectionStage": exclusion.stage,
        "reason": exclusion.reason,
        "reasonMessage": exclusion.message,
        "blockNumber": q(exclusion.block_number),
        "timestamp": q(exclusion.timestamp),
    }


METHODS = {
    "linea_getBlockTracesCountersV2": linea_get_block_traces_counters_v2,
    "linea_getConflatedTracesCountersV2": linea_get_conflated_traces_counters_v2,
    "linea_estimateGas": linea_estimate_gas,
    "linea_getTransactionExclusionStatusV1": linea_get_transaction_exclusion_status_v1,
}

# Writes files into the node's data dir: only on the authenticated local endpoint (see linen.rpc.auth).
WRITE_METHODS = {"linea_generateConflatedTracesToFileV2": linea_generate_conflated_traces_to_file_v2}
