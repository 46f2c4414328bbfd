"""A minimal JSON-RPC client: how the coordinator reaches the node and the state manager.

Services talk to each other only through their public RPC (DESIGN.md), so the coordinator needs
nothing more than `call(method, *params)`. A transport failure and an error reply are both
operational faults from the coordinator's side (it retries the job later); the reply's code,
message and data are kept so the log says what the other service refused.
"""

from __future__ import annotations

import itertools
import urllib.error
import urllib.request
from typing import Any

import orjson

from linen.errors import OperationalError
from linen.rpc.auth import auth_header


class RpcCallFailed(OperationalError):
    """The service answered with a JSON-RPC error (or nothing usable)."""

    def __init__(self, method: str, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(f"{method}: {message}" + (f" (code {code})" if code is not None else ""))
        self.method = method
        self.code = code
        self.data = data


class RpcUnreachable(OperationalError):
    """The service could not be reached or its answer was not JSON-RPC."""


class RpcClient:
    """Calls one JSON-RPC endpoint over HTTP; thread-safe (one request per call)."""

    def __init__(self, url: str, timeout: float = 60.0, secret: bytes | None = None) -> None:
        """`secret`: sign each request with a JWT, for a service's authenticated endpoint (linen.rpc.auth)."""
        self.url = url
        self.timeout = timeout
        self.secret = secret
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        body = orjson.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers.update(auth_header(self.secret))
        request = urllib.request.Request(self.url, body, headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if not raw:
                raise RpcUnreachable(f"{method} at {self.url}: HTTP {exc.code}") from None
        except OSError as exc:
            raise RpcUnreachable(f"{method} at {self.url}: {exc}") from None
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise RpcUnreachable(f"{method} at {self.url}: the answer is not JSON: {raw[:120]!r}") from None
        if not isinstance(answer, dict):
            raise RpcUnreachable(f"{method} at {self.url}: the answer is not a JSON-RPC object")
        error = answer.get("error")
        if error is not None:
            if isinstance(error, dict):
                raise RpcCallFailed(method, str(error.get("message", error)), error.get("code"), error.get("data"))
            raise RpcCallFailed(method, str(error))
        if "result" not in answer:
            raise RpcUnreachable(f"{method} at {self.url}: the answer has neither result nor error")
        return answer["result"]
