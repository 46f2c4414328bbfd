"""Blob data for submitBlobs: KZG commitment, the opening (x, y) the rollup checks, and type-3 transactions.

For each blob the rollup derives x = keccak(snarkHash || versionedHash) and asks the point-evaluation
precompile whether the blob polynomial takes the value y at x mod r381, with the proof we supply
(`kzgProofContract`). The network separately checks the whole blob against its commitment with the
blob proof in the transaction's sidecar, which eth-account computes when it signs.
"""

from __future__ import annotations

from web3 import Web3

from linen.l1.sender import TransactionSender


def _web3(endpoint: str | Web3) -> Web3:
    return endpoint if isinstance(endpoint, Web3) else Web3(Web3.HTTPProvider(endpoint, request_kwargs={"timeout": 60}))


def send_blob_transaction(
    endpoint: str | Web3,
    private_key: str,
    to: str | None,
    data: bytes,
    blobs: list[bytes],
    gas: int | None = None,
    wait: bool = True,
) -> dict:
    """Sign and send a type-3 transaction carrying `blobs`; returns the receipt (or {'hash': ...}).

    `to=None` sends to the sender itself (a blob transaction cannot create a contract). Waiting goes
    through `TransactionSender`, so a version priced out by rising fees is replaced (default policy).
    """
    sender = TransactionSender(_web3(endpoint), private_key)
    tx = {"to": to, "data": "0x" + bytes(data).hex()}
    if not wait:
        return {"hash": sender.broadcast(tx, blobs=blobs, gas=gas)}
    return sender.send(tx, blobs=blobs, gas=gas)
