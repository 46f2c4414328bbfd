"""The debug_trace* methods (geth's tracers) and eth_createAccessList.

Every trace re-executes on a throwaway overlay of the stored state: a sealed transaction after its
block's earlier transactions, a call on the state of the block it names. Options follow geth's
`TraceConfig`: no `tracer` is the struct logger (disableStack, disableStorage, enableMemory,
enableReturnData, limit), "callTracer" (tracerConfig onlyTopCall, withLog) and "prestateTracer"
(tracerConfig diffMode, disableCode, disableStorage). JavaScript tracers are not supported.
`timeout` (a Go duration, "10s") stops the trace with ExecutionTimeout; the RPC layer's own
deadline, if sooner, still applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from eth._utils.address import generate_contract_address

from linen.errors import InvalidParams
from linen.execution.deadline import execution_deadline
from linen.execution.pyevm_engine import CALL_GAS_CAP
from linen.execution.tracing.access_list import AccessListTracer
from linen.execution.tracing.call_tracer import CallTracer
from linen.execution.tracing.core import Tracer, TracingComputation, error_text
from linen.execution.tracing.prestate import PrestateTracer
from linen.execution.tracing.replay import trace_block, trace_call, trace_transaction
from linen.execution.tracing.struct_logger import MAX_OUTPUT_BYTES, MAX_STEPS, StructLogger
from linen.primitives.hexcodec import parse_hash
from linen.rpc.backend import RpcBackend
from linen.rpc.format import d, q, word
from linen.rpc.params import expect, parse_call_request, parse_overrides, show, state_header

TRACERS = ("callTracer", "prestateTracer")
_CONFIG_FIELDS = {
    "tracer", "tracerConfig", "timeout", "reexec", "disableStack", "disableStorage", "enableMemory",
    "enableReturnData", "limit", "debug", "overrides",
}  # fmt: skip
_CALL_CONFIG_FIELDS = _CONFIG_FIELDS | {"stateOverrides", "blockOverrides", "txIndex"}
MAX_BLOCK_TRACE_BYTES = MAX_OUTPUT_BYTES


def _flag(config: dict, key: str) -> bool:
    value = config.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidParams(f"{key}: expected true or false, got {show(value)}")
    return value


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_timeout(value: object) -> float | None:
    """geth's `timeout` option, a Go duration ("5s", "1m30s", "500ms"), in seconds."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidParams(f'timeout: expected a duration such as "10s", got {show(value)}')
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(value):
        raise InvalidParams(f'timeout: {show(value)} is not a duration such as "10s" or "500ms"')
    return seconds


def _config(value: object, allowed: set[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParams(f"trace config: expected an object, got {show(value)}")
    unknown = set(value) - allowed
    if unknown:
        raise InvalidParams(f"trace config: unknown field(s) {sorted(unknown)}")
    return value


class _Plan:
    """The tracer a trace config asks for: how to make one and how to turn a run into its result."""

    def __init__(self, config: dict, max_bytes: int = MAX_OUTPUT_BYTES) -> None:
        name = config.get("tracer")
        if name is not None and not isinstance(name, str):
            raise InvalidParams(f"tracer: expected a tracer name, got {show(name)}")
        if name == "":
            name = None
        if name is not None and name not in TRACERS:
            raise InvalidParams(
                f"tracer {show(name)} is not supported: use callTracer, prestateTracer or no tracer (struct logs)"
            )
        sub = config.get("tracerConfig")
        if sub is None:
            sub = {}
        if not isinstance(sub, dict):
            raise InvalidParams(f"tracerConfig: expected an object, got {show(sub)}")
        self.name = name
        self.max_bytes = max_bytes
        self.timeout = parse_timeout(config.get("timeout"))
        if name == "callTracer":
            unknown = set(sub) - {"onlyTopCall", "withLog"}
            self.args = {"only_top_call": _flag(sub, "onlyTopCall"), "with_log": _flag(sub, "withLog")}
        elif name == "prestateTracer":
            unknown = set(sub) - {"diffMode", "disableCode", "disableStorage"}
            self.args = {
                "diff_mode": _flag(sub, "diffMode"),
                "disable_code": _flag(sub, "disableCode"),
                "disable_storage": _flag(sub, "disableStorage"),
            }
        else:
            unknown = set()
            limit = config.get("limit") or 0
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise InvalidParams(f"limit: expected a non-negative number of steps, got {show(limit)}")
            self.args = {
                "disable_stack": _flag(config, "disableStack"),
                "disable_storage": _flag(config, "disableStorage"),
                "enable_memory": _flag(config, "enableMemory"),
                "enable_return_data": _flag(config, "enableReturnData"),
                "limit": limit,
            }
        if unknown:
            raise InvalidParams(f"tracerConfig: unknown field(s) for {name}: {sorted(unknown)}")

    def make(self) -> Tracer:
        if self.name == "callTracer":
            return CallTracer(**self.args)
        if self.name == "prestateTracer":
            return PrestateTracer(**self.args)
        return StructLogger(**self.args, max_steps=MAX_STEPS, max_bytes=self.max_bytes)


def debug_trace_transaction(backend: RpcBackend, params: list) -> Any:
    tx_hash, config = expect(params, 1, 1)
    plan = _Plan(_config(config, _CONFIG_FIELDS))
    tracer = plan.make()
    with execution_deadline(plan.timeout):
        run = trace_transaction(backend.engine, parse_hash(tx_hash, "transaction hash"), tracer)
    return tracer.result(run)


def _trace_block(backend: RpcBackend, header: Any, config: object) -> list[dict]:
    plan = _Plan(_config(config, _CONFIG_FIELDS))
    out = []
    budget = MAX_BLOCK_TRACE_BYTES

    def make() -> Tracer:
        plan.max_bytes = budget
        return plan.make()

    with execution_deadline(plan.timeout):
        for btx, tracer, run in trace_block(backend.engine, header, make):
            out.append({"txHash": d(btx.hash), "result": tracer.result(run)})
            if isinstance(tracer, StructLogger):
                budget -= tracer.size
    return out


def debug_trace_block_by_number(backend: RpcBackend, params: list) -> list[dict]:
    block, config = expect(params, 1, 1)
    if isinstance(block, str) and len(block) == 66:
        raise InvalidParams("block number: got a block hash, use debug_traceBlockByHash")
    return _trace_block(backend, state_header(backend, block), config)


def debug_trace_block_by_hash(backend: RpcBackend, params: list) -> list[dict]:
    block_hash, config = expect(params, 1, 1)
    return _trace_block(backend, state_header(backend, {"blockHash": d(parse_hash(block_hash, "block hash"))}), config)


def debug_trace_call(backend: RpcBackend, params: list) -> Any:
    tx, block, config = expect(params, 1, 2)
    request = parse_call_request(tx, backend.chain_id)
    options = _config(config, _CALL_CONFIG_FIELDS)
    if options.get("blockOverrides"):
        raise InvalidParams("blockOverrides is not supported by debug_traceCall yet")
    if options.get("txIndex") is not None:
        raise InvalidParams("txIndex is not supported: debug_traceCall runs on the state after the whole block")
    overrides = parse_overrides(options.get("stateOverrides"))
    plan = _Plan(options)
    tracer = plan.make()
    header = state_header(backend, block)
    with execution_deadline(plan.timeout):
        run = trace_call(backend.engine, request, header, overrides, tracer)
    return tracer.result(run)


# -- eth_createAccessList ------------------------------------------------------------------------------
MAX_ACCESS_LIST_ROUNDS = 16


PRECOMPILES = frozenset(bytes(address) for address in TracingComputation.get_precompiles())


def eth_create_access_list(backend: RpcBackend, params: list) -> dict:
    """geth's algorithm: trace, re-run with the list found, until the list stops changing."""
    tx, block, overrides = expect(params, 1, 2)
    request = parse_call_request(tx, backend.chain_id)
    override_set = parse_overrides(overrides)
    header = state_header(backend, block)
    if request.gas is not None and request.gas > CALL_GAS_CAP:
        request = replace(request, gas=CALL_GAS_CAP)
    if request.to is not None:
        target = request.to
    else:  # a creation: the new contract's address follows the sender's nonce (calls run at the state's nonce)
        nonce = backend.engine.get_nonce(request.sender, header)
        override = override_set.get(request.sender)
        if override is not None and override.nonce is not None:
            nonce = override.nonce
        target = generate_contract_address(request.sender, nonce)
    excluded = frozenset({request.sender, target}) | PRECOMPILES
    previous = AccessListTracer(request.access_list, excluded)
    for _ in range(MAX_ACCESS_LIST_ROUNDS):
        access_list = previous.access_list()
        tracer = AccessListTracer(access_list, excluded)
        run = trace_call(backend.engine, replace(request, access_list=access_list), header, override_set, tracer)
        if tracer.same_as(previous):
            result: dict[str, Any] = {
                "accessList": [{"address": d(a), "storageKeys": [word(s) for s in slots]} for a, slots in access_list],
                "gasUsed": q(run.gas_used),
            }
            if not run.success:
                result["error"] = error_text(run.computation.error)
            return result
        previous = tracer
    raise InvalidParams(f"access list did not settle after {MAX_ACCESS_LIST_ROUNDS} rounds")


METHODS: dict[str, Callable[[RpcBackend, list], Any]] = {
    "debug_traceTransaction": debug_trace_transaction,
    "debug_traceCall": debug_trace_call,
    "debug_traceBlockByNumber": debug_trace_block_by_number,
    "debug_traceBlockByHash": debug_trace_block_by_hash,
    "eth_createAccessList": eth_create_access_list,
}
