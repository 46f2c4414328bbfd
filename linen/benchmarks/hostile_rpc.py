"""How `linen bench hostile` talks to the node and names what came back.

Every request goes on a fresh HTTP connection (a hostile one must not poison the next), and every
answer gets one of `OUTCOMES`, so the counts of all phases add up the same way.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from linen.benchmarks.hostile_fuzz import request_body

REQUEST_TIMEOUT = 8.0  # seconds one request may take before it counts as a timeout (the node's own EVM timeout is 5 s)
BATCH_TIMEOUT = 15.0

HANDLED, INTERNAL, OTHER, NO_ANSWER, MALFORMED = "handled", "internal_error", "other_error", "no_answer", "malformed_answer"
TIMEOUT, CONNECTION, CRASH = "timeout", "connection_error", "crash"
OUTCOMES = (HANDLED, INTERNAL, OTHER, NO_ANSWER, MALFORMED, TIMEOUT, CONNECTION, CRASH)
CLIENT_CODES = {-32700, -32600, -32601, -32602, 3} | set(range(-32099, -31999))
INTERNAL_ERROR = -32603


class RpcFailure(Exception):
    """An answer without a result where the benchmark itself needed one."""


def http_request(port: int, body: bytes, timeout: float = REQUEST_TIMEOUT, headers: dict | None = None,
                 verb: str = "POST", path: str = "/", chunked: bool = False) -> tuple[int, bytes]:
    """One HTTP request on a fresh connection: (status, body). Raises on transport failures."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        if chunked:
            pieces = [body[i : i + 65_536] for i in range(0, len(body), 65_536)]
            conn.request(verb, path, body=iter(pieces), headers=all_headers, encode_chunked=True)
        else:
            conn.request(verb, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def rpc(port: int, method: str, params: list | None = None, timeout: float = REQUEST_TIMEOUT) -> Any:
    """The result of a call the benchmark itself needs (not an attack); RpcFailure without one."""
    _, data = http_request(port, request_body(method, params or []), timeout)
    reply = json.loads(data)
    if not isinstance(reply, dict) or "result" not in reply:
        raise RpcFailure(str(reply)[:300])
    return reply["result"]


def block_number(port: int, timeout: float = REQUEST_TIMEOUT) -> int:
    return int(rpc(port, "eth_blockNumber", timeout=timeout), 16)


def rpc_batch_replies(port: int, calls: list[tuple[str, list]], timeout: float = BATCH_TIMEOUT) -> list[Any]:
    """The whole answer objects of a batch, in call order (None where an item got no answer)."""
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)])
    _, data = http_request(port, body.encode(), timeout)
    replies = json.loads(data)
    if not isinstance(replies, list):
        raise RpcFailure(str(replies)[:300])
    by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
    return [by_id.get(i) for i in range(len(calls))]


def rpc_batch(port: int, calls: list[tuple[str, list]], timeout: float = BATCH_TIMEOUT) -> list[Any]:
    """Results of a batch in call order (None for an item answered with an error)."""
    return [reply.get("result") if reply else None for reply in rpc_batch_replies(port, calls, timeout)]


def classify_item(item: object) -> tuple[str, Any, str]:
    """(outcome, error code, message) of one JSON-RPC answer object."""
    if not isinstance(item, dict):
        return MALFORMED, None, str(item)[:200]
    error = item.get("error")
    if error is not None:
        if not isinstance(error, dict):
            return MALFORMED, None, str(error)[:200]
        code, message = error.get("code"), str(error.get("message", ""))[:300]
        if code == INTERNAL_ERROR:
            return INTERNAL, code, message
        return (HANDLED if code in CLIENT_CODES else OTHER), code, message
    if "result" in item:
        return HANDLED, None, ""
    return MALFORMED, None, str(item)[:200]


def classify(data: bytes, expect_answer: bool = True) -> tuple[str, Any, str]:
    """(outcome, error code, message) of a JSON-RPC answer body (single or batch)."""
    if not data.strip():
        return (NO_ANSWER, None, "empty body") if expect_answer else (HANDLED, None, "")
    try:
        reply = json.loads(data)
    except ValueError:
        return MALFORMED, None, data[:200].decode(errors="replace")
    if isinstance(reply, list):
        if not reply:
            return MALFORMED, None, "empty batch answer"
        results = [classify_item(item) for item in reply]
        for outcome in (INTERNAL, MALFORMED, OTHER):
            for result in results:
                if result[0] == outcome:
                    return outcome, result[1], f"batch of {len(reply)}: {result[2]}"
        return HANDLED, None, f"batch of {len(reply)} answers"
    return classify_item(reply)
