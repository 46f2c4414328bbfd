"""The authenticated endpoint under `linen bench hostile`: which methods live only there, and forged tokens.

The write methods are served on the JWT port alone, so a token the node accepts by mistake is an
authentication bypass: it is recorded as `other_error` with `AUTH BYPASS` in the message.
"""

from __future__ import annotations

import base64
import http.client
import json
import time

from linen.benchmarks.hostile_fuzz import request_body
from linen.benchmarks.hostile_rpc import HANDLED, OTHER, REQUEST_TIMEOUT, http_request, rpc_batch_replies
from linen.benchmarks.hostile_session import Bench, Tally

METHOD_NOT_FOUND = -32601


def auth_only_methods(bench: Bench, names: list[str]) -> list[str]:
    """The registry's methods the public port says do not exist: served on the authenticated endpoint only."""
    if bench.node.auth() is None:
        return []
    try:
        replies = rpc_batch_replies(bench.node.port, [(n, []) for n in names])
    except Exception:  # noqa: BLE001
        return []
    return [n for n, r in zip(names, replies, strict=True)
            if isinstance(r, dict) and (r.get("error") or {}).get("code") == METHOD_NOT_FOUND]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_headers(good: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers a correct endpoint refuses, each named, made from a valid one."""
    token = good["Authorization"].removeprefix("Bearer ")
    head, payload, signature = token.split(".")
    stale = _b64({"iat": int(time.time()) - 3600})
    tampered = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    return {
        "no Authorization header": {},
        "Bearer with an empty token": {"Authorization": "Bearer "},
        "Basic scheme": {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
        "alg none": {"Authorization": f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."},
        "tampered signature": {"Authorization": f"Bearer {head}.{payload}.{tampered}"},
        "stale iat, old signature": {"Authorization": f"Bearer {head}.{stale}.{signature}"},
        "a 100 KB token": {"Authorization": "Bearer " + "a" * 50_000 + "." + "b" * 50_000 + ".c"},
    }


def auth_attacks(bench: Bench, tally: Tally, auth_only: list[str]) -> None:
    """Write methods on the authenticated endpoint without a valid token: each must be refused."""
    auth = bench.node.auth()
    if auth is None or not auth_only:
        return
    port, good = auth
    method = auth_only[0]
    for name, header in forged_headers(good).items():
        label = f"(auth attack) {name}"
        request = {"method": method, "headers": header}
        begin = time.monotonic()
        try:
            status, data = http_request(port, request_body(method, []), REQUEST_TIMEOUT, headers=header)
        except (OSError, http.client.HTTPException) as exc:
            tally.add(label, request, bench.transport_failure(exc), message=str(exc))
            continue
        seconds = time.monotonic() - begin
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and "result" in reply:  # the write went through: an authentication bypass
            tally.add(label, request, OTHER, None, f"AUTH BYPASS: HTTP {status} answered with a result", seconds)
        elif status >= 500:
            tally.add(label, request, OTHER, None, f"HTTP {status}", seconds)
        else:
            tally.add(label, request, HANDLED, seconds=seconds)
