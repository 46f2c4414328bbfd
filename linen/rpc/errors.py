"""JSON-RPC error classes the RPC layer adds to `linen.errors`, and revert-reason decoding.

They subclass `InvalidInput`, so the dispatcher maps every one of them the same way: EIP-1474 `code`
plus the message as written. Codes and wording follow geth, because clients (ethers, web3.py,
viem) match on them, e.g. ethers re-installs a filter on "filter not found".
"""

from __future__ import annotations

from linen.errors import InvalidInput, InvalidParams, LimitExceeded, ResourceNotFound

__all__ = [
    "InvalidParams",
    "InvalidRequest",
    "LimitExceeded",
    "MethodNotFound",
    "ParseError",
    "ResourceNotFound",
    "ServerError",
    "header_not_found",
]


class ParseError(InvalidInput):
    code = -32700


class InvalidRequest(InvalidInput):
    code = -32600


class MethodNotFound(InvalidInput):
    code = -32601


class ServerError(InvalidInput):
    """geth's generic -32000: a call that failed for a reason other than REVERT, an unknown filter."""

    code = -32000


def header_not_found() -> ResourceNotFound:
    return ResourceNotFound("header not found")
