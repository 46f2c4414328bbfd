"""The benchmarks' HTTP JSON-RPC client: pooled aiohttp connections and a raw eth_sendRawTransaction body."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import orjson

SEND_PREFIX = b'{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["'
SEND_SUFFIX = b'"]}'
JSON_HEADERS = {"Content-Type": "application/json"}


# -- JSON-RPC over HTTP ---------------------------------------------------------------------------
class RpcError(Exception):
    pass


class Client:
    """JSON-RPC over one aiohttp session (keep-alive connections, at most `connections` of them)."""

    def __init__(self, url: str, connections: int = 1, timeout: float = 60.0) -> None:
        self.url = url
        self.connections = connections
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connections),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def post(self, body: bytes) -> Any:
        assert self.session is not None
        async with self.session.post(self.url, data=body, headers=JSON_HEADERS) as response:
            data = await response.read()
            status = response.status
        try:
            reply = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise RpcError(f"HTTP {status}: {data[:200]!r}") from None
        if not isinstance(reply, dict):
            raise RpcError(f"HTTP {status}: unexpected reply {str(reply)[:200]}")
        if reply.get("error") is not None:
            error = reply["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise RpcError(str(message))
        if "result" not in reply:
            raise RpcError(f"HTTP {status}: reply without result: {str(reply)[:200]}")
        return reply["result"]

    async def call(self, method: str, *params: Any) -> Any:
        return await self.post(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}))


def _sync_rpc(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, JSON_HEADERS)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RpcError(str(reply["error"]))
    return reply["result"]
