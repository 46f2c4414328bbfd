"""JSON-RPC 2.0 envelopes: parsing, batches, notifications, and errors as EIP-1474 codes.

Transport-independent (HTTP and WebSocket share it): bytes in, bytes (or nothing) out. Whatever a
client sends, the answer is well-formed JSON-RPC; a handler that fails unexpectedly is logged with
its traceback and answered -32603, and the server keeps serving.

Methods that run the EVM (calls, estimates, traces, proofs, log scans) are answered from a small
thread pool under a wall-clock deadline (`RpcLimits.evm_timeout_seconds`), never on the event loop:
the loop must stay free for the cheap methods, the WebSockets and the block producer's hand-offs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from linen.errors import ExecutionReverted, InvalidInput
from linen.execution.deadline import execution_deadline
from linen.execution.revert import revert_reason
from linen.rpc.backend import RpcBackend
from linen.rpc.format import d
from linen.rpc.params import show
from linen.rpc.waiting import WaitingHandler

log = logging.getLogger("linen.rpc")

Handler = Callable[[RpcBackend, list], Any]

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
LIMIT_EXCEEDED = -32005
_NO_EXTRA: Mapping[str, Handler] = {}
EVM_THREADS = 4  # threads answering offloaded methods; more would only share the GIL
OFFLOADED_METHODS = frozenset({
    "eth_call", "eth_estimateGas", "eth_createAccessList", "eth_getProof", "eth_getLogs", "linea_estimateGas",
    "debug_traceTransaction", "debug_traceCall", "debug_traceBlockByNumber", "debug_traceBlockByHash",
    "linea_generateConflatedTracesToFileV2", "linen_pipelineStatus", "prover_submitProof", "prover_submitTree",
})
# Submissions wait while a block is being built (the backend's `build_idle` event, if it has one): decoding
# and recovering them on the loop would take the builder's CPU, through the GIL, during its selection budget.
WAIT_FOR_BUILD_METHODS = frozenset({"eth_sendRawTransaction"})


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _valid_id(value: object) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _error_from_exception(request_id: Any, method: str, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ExecutionReverted):
        reason = revert_reason(exc.data)
        message = f"execution reverted: {reason}" if reason is not None else str(exc) or "execution reverted"
        return error_response(request_id, exc.code, message, d(exc.data) if exc.data else None)
    if isinstance(exc, InvalidInput):
        return error_response(request_id, exc.code, str(exc) or type(exc).__name__, getattr(exc, "rpc_data", None))
    log.exception("internal error in %s", show(method, 100))
    return error_response(request_id, INTERNAL_ERROR, "internal error")


@dataclass
class _Parsed:
    request_id: Any
    is_call: bool
    method: str
    params: list
    handler: Handler

    def reply(self, result: Any = None, error: Exception | None = None) -> dict[str, Any] | None:
        if error is not None:
            response = _error_from_exception(self.request_id, self.method, error)
        else:
            response = {"jsonrpc": "2.0", "id": self.request_id, "result": result}
        return response if self.is_call else None


class Dispatcher:
    """Routes requests to handlers `(backend, params) -> result` by method name."""

    def __init__(self, backend: RpcBackend, registry: Mapping[str, Handler]) -> None:
        self.backend = backend
        self.registry = registry
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0  # offloaded calls running or queued (only touched on the event loop)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def answer(self, item: object, extra: Mapping[str, Handler] = _NO_EXTRA,
                     single: bool = False) -> dict[str, Any] | None:
        """`call`, but EVM-heavy methods run on a worker thread under the EVM deadline, and a
        `WaitingHandler` may hold a `single` request (not a batch item) open; counted in the backend's
        metrics (when it has them) by method and outcome."""
        reply = await self._answer(item, extra, single)
        metrics = getattr(self.backend, "metrics", None)
        if metrics is not None:
            method = item.get("method") if isinstance(item, dict) else None
            known = isinstance(method, str) and (method in extra or method in self.registry)
            error = reply.get("error") if isinstance(reply, dict) else None
            outcome = str(error.get("code")) if isinstance(error, dict) else "ok"
            metrics.rpc_requests.labels(method if known else "(other)", outcome).inc()
        return reply

    async def _answer(self, item: object, extra: Mapping[str, Handler], single: bool) -> dict[str, Any] | None:
        method = item.get("method") if isinstance(item, dict) else None
        if not isinstance(method, str):  # not a request at all: `call` words the error
            return self.call(item, extra)
        if single and isinstance(extra.get(method) or self.registry.get(method), WaitingHandler):
            assert isinstance(item, dict)
            return await self._call_waiting(item, extra)
        if method in WAIT_FOR_BUILD_METHODS:
            idle = getattr(self.backend, "build_idle", None)
            if idle is not None and not idle.is_set():
                await idle.wait()
        if method not in OFFLOADED_METHODS:
            return self.call(item, extra)
        limits = self.backend.limits
        if self._in_flight >= limits.max_offloaded_calls:
            assert isinstance(item, dict)
            if "id" not in item:
                return None
            request_id = item.get("id") if _valid_id(item.get("id")) else None
            return error_response(
                request_id, LIMIT_EXCEEDED,
                f"too many calls in flight ({self._in_flight}, the limit is {limits.max_offloaded_calls}): retry later",
            )
        if self._executor is None:
            self._executor = ThreadPoolExecutor(EVM_THREADS, thread_name_prefix="rpc-evm")
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._call_with_deadline, item, extra, limits.evm_timeout_seconds
            )
        finally:
            self._in_flight -= 1

    def _call_with_deadline(self, item: object, extra: Mapping[str, Handler], seconds: float) -> dict[str, Any] | None:
        with execution_deadline(seconds):
            return self.call(item, extra)

    def call(self, item: object, extra: Mapping[str, Handler] = _NO_EXTRA) -> dict[str, Any] | None:
        """Answer one request object; `None` for a notification (a request without "id")."""
        parsed = self._parse(item, extra)
        if not isinstance(parsed, _Parsed):
            return parsed
        try:
            result = parsed.handler(self.backend, parsed.params)
        except Exception as exc:  # every failure must become an answer, never a crash
            return parsed.reply(error=exc)
        return parsed.reply(result)

    async def _call_waiting(self, item: dict, extra: Mapping[str, Handler]) -> dict[str, Any] | None:
        """`call` for a `WaitingHandler`: its wait is awaited on the loop, holding no thread."""
        parsed = self._parse(item, extra)
        if not isinstance(parsed, _Parsed):
            return parsed
        assert isinstance(parsed.handler, WaitingHandler)
        try:
            result = await parsed.handler.waiting(self.backend, parsed.params)
        except Exception as exc:  # every failure must become an answer, never a crash
            return parsed.reply(error=exc)
        return parsed.reply(result)

    def _parse(self, item: object, extra: Mapping[str, Handler]) -> _Parsed | dict[str, Any] | None:
        """The request's handler and params, or the error answer (None: a notification of no method)."""
        if not isinstance(item, dict):
            return error_response(None, INVALID_REQUEST, "invalid request: expected a JSON object")
        is_call = "id" in item
        request_id = item.get("id")
        if not _valid_id(request_id):
            return error_response(None, INVALID_REQUEST, "invalid request: id must be a string, a number or null")
        if item.get("jsonrpc") != "2.0":
            return error_response(request_id, INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"')
        method = item.get("method")
        if not isinstance(method, str) or not method:
            return error_response(request_id, INVALID_REQUEST, 'invalid request: "method" must be a non-empty string')
        params = item.get("params", [])
        if params is None:
            params = []
        elif isinstance(params, dict):
            return error_response(
                request_id, INVALID_PARAMS, "params must be an array: methods take positional parameters"
            )
        elif not isinstance(params, list):
            return error_response(request_id, INVALID_REQUEST, "invalid request: params must be an array")
        handler = extra.get(method) or self.registry.get(method)
        if handler is None:
            if not is_call:
                return None
            return error_response(
                request_id, METHOD_NOT_FOUND, f"the method {show(method, 100)} does not exist/is not available"
            )
        return _Parsed(request_id, is_call, method, params, handler)

    async def handle(self, body: bytes, extra: Mapping[str, Handler] = _NO_EXTRA) -> bytes | None:
        """Answer a request body (single or batch); `None` when nothing is to be sent back."""
        limits = self.backend.limits
        if len(body) > limits.max_request_bytes:
            return _dumps(
                error_response(
                    None,
                    LIMIT_EXCEEDED,
                    f"request of {len(body)} bytes exceeds the limit of {limits.max_request_bytes} bytes: "
                    "split it into smaller requests",
                )
            )
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _dumps(error_response(None, PARSE_ERROR, f"parse error: {exc}"))
        if not isinstance(payload, list):
            response = await self.answer(payload, extra, single=True)
            return None if response is None else _dumps(response)
        if not payload:
            return _dumps(error_response(None, INVALID_REQUEST, "invalid request: empty batch"))
        if len(payload) > limits.max_batch_size:
            return _dumps(
                error_response(
                    None,
                    LIMIT_EXCEEDED,
                    f"batch of {len(payload)} requests exceeds the limit of {limits.max_batch_size}: "
                    "split it into smaller batches",
                )
            )
        responses = []
        for index, item in enumerate(payload):
            if index:
                await asyncio.sleep(0)  # let block production and other clients run between items
            response = await self.answer(item, extra)
            if response is not None:
                responses.append(response)
        return _dumps(responses) if responses else None


def _dumps(payload: Any) -> bytes:
    """Serialize an answer; a result orjson cannot encode (a handler bug) becomes -32603 for that item."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        if isinstance(payload, list):
            return b"[" + b",".join(_dumps(item) for item in payload) + b"]"
        log.exception("cannot serialize the answer to request id %r", payload.get("id"))
        return orjson.dumps(error_response(payload.get("id"), INTERNAL_ERROR, "internal error"))
