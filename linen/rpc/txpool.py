"""txpool_status and txpool_content: what the sequencer has not sealed yet, in geth's shapes.

geth keys txpool_content by checksummed sender and by the nonce as a decimal string; tools such as
block explorers and test harnesses index into it that way.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from linen.rpc.backend import RpcBackend
from linen.rpc.format import format_pooled_transaction, q
from linen.rpc.params import expect


def txpool_status(backend: RpcBackend, params: list) -> dict[str, str]:
    expect(params, 0)
    status = backend.pool.status()
    return {"pending": q(status["pending"]), "queued": q(status["queued"])}


def txpool_content(backend: RpcBackend, params: list) -> dict[str, Any]:
    expect(params, 0)
    content = backend.pool.content()
    return {
        kind: {
            to_checksum_address(sender): {str(nonce): format_pooled_transaction(ptx) for nonce, ptx in txs.items()}
            for sender, txs in content.get(kind, {}).items()
        }
        for kind in ("pending", "queued")
    }


METHODS = {"txpool_status": txpool_status, "txpool_content": txpool_content}
