"""The postman's JSON-RPC: a message's L2→L1 proof and the postman's record of it, on the postman's own port.

Served by the same server the node uses, with only these methods, from a thread running its own
event loop: the handlers read L1 and L2 synchronously, and that must never stall a node sharing
the process (the devnet). Every refusal is an `InvalidInput` with a message saying what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from requests.exceptions import RequestException
from web3 import Web3

from linen.bridge.message_proof import (
    ClaimDataMismatch,
    MessageNotFinalized,
    UnknownMessage,
    build_l2_to_l1_claim,
    claim_to_json,
)
from linen.errors import InvalidInput, InvalidParams, ResourceNotFound
from linen.postman.settings import PostmanSettings
from linen.postman.store import L1_TO_L2, L2_TO_L1, PostmanStore
from linen.primitives.hexcodec import parse_hash

DIRECTIONS = (L1_TO_L2, L2_TO_L1)


class ProofUnavailable(InvalidInput):
    """EIP-1474 "resource unavailable": the proof cannot be given now (not finalized, or a node disagrees)."""

    code = -32002

    def __init__(self, message: str, reason: str, **data: Any) -> None:
        super().__init__(message)
        self.rpc_data = {"reason": reason, **data}


def _message_hash(params: list, method: str, optional: int = 0) -> bytes:
    if not 1 <= len(params) <= 1 + optional:
        extra = " and optionally the direction (L1_TO_L2 or L2_TO_L1)" if optional else ""
        raise InvalidParams(f"{method} takes the message hash (0x + 64 hex digits){extra}")
    return parse_hash(params[0], "messageHash")


def get_message_proof(settings: PostmanSettings, store: PostmanStore, l1: Web3, l2: Web3, params: list) -> dict:
    message_hash = _message_hash(params, "linen_getMessageProof")
    row = store.get(L2_TO_L1, message_hash)
    try:
        claim = build_l2_to_l1_claim(
            l1, settings.rollup, l2, settings.l2_message_service, message_hash,
            l2_block=row.sent_block if row is not None else None, l1_from_block=settings.l1_from_block,
            l2_from_block=settings.l2_from_block, chunk=settings.max_blocks_to_fetch_logs,
        )
    except UnknownMessage:
        if store.get(L1_TO_L2, message_hash) is not None:
            raise InvalidParams(f"message 0x{message_hash.hex()} goes from L1 to L2: it is claimed on L2 with "
                                "claimMessage once anchored, and needs no proof") from None
        raise
    except MessageNotFinalized as exc:
        raise ProofUnavailable(str(exc), "NOT_FINALIZED", l2BlockNumber=hex(exc.l2_block),
                               finalizedL2BlockNumber=hex(exc.finalized_block)) from None
    except ClaimDataMismatch as exc:
        raise ProofUnavailable(str(exc), "ROOT_NOT_ON_L1") from None
    except RequestException as exc:
        raise ProofUnavailable(f"the postman cannot reach L1 or L2 right now ({type(exc).__name__}); retry later",
                               "NODE_UNREACHABLE") from None
    return claim_to_json(claim)


def get_message_status(store: PostmanStore, params: list) -> dict:
    """The postman's row; a hash sent both ways (the hash does not name the chain) needs the direction."""
    message_hash = _message_hash(params, "linen_getMessageStatus", optional=1)
    rows = store.find(message_hash)
    if len(params) == 2:
        if params[1] not in DIRECTIONS:
            raise InvalidParams(f"direction: expected L1_TO_L2 or L2_TO_L1, got {str(params[1])[:40]!r}")
        rows = [r for r in rows if r.direction == params[1]]
    if not rows:
        raise ResourceNotFound(f"the postman has not seen message 0x{message_hash.hex()} (not sent, sent before its "
                               "from-block, or in a block it has not read yet)")
    if len(rows) > 1:
        raise InvalidParams(f"message hash 0x{message_hash.hex()} was sent both from L1 and from L2: pass the "
                            "direction (L1_TO_L2 or L2_TO_L1) as second parameter")
    return rows[0].to_json()


def get_postman_status(store: PostmanStore, params: list) -> dict:
    if params:
        raise InvalidParams("linen_getPostmanStatus takes no parameters")
    return {"messages": store.counts()}


def build_registry(settings: PostmanSettings, store: PostmanStore, l1: Web3, l2: Web3) -> dict[str, Callable]:
    """The methods as `(backend, params)` handlers (the backend is unused)."""
    return {
        "linen_getMessageProof": lambda _b, params: get_message_proof(settings, store, l1, l2, params),
        "linen_getMessageStatus": lambda _b, params: get_message_status(store, params),
        "linen_getPostmanStatus": lambda _b, params: get_postman_status(store, params),
    }
