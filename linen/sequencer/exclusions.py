"""Transactions the sequencer refused while building blocks, kept so their senders can ask why.

A refusal at submission is an RPC error the sender sees at once. A refusal during block building
(a trace limit, the time budget, a size overflow) happens after the sender got a hash back, so it is
written here, in the node's store, and served by `linea_getTransactionExclusionStatusV1`. Those
transactions are also "unexecutable": the same hash is refused if it comes back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from linen.chain.kv import KeyValueStore

TABLE = "exclusions"


@dataclass(frozen=True)
class Exclusion:
    tx_hash: bytes
    sender: bytes
    nonce: int
    reason: str  # the selection-result name, e.g. TX_MODULE_LINE_COUNT_OVERFLOW
    message: str
    block_number: int  # the block being built when it was refused
    timestamp: int
    stage: str = "SEQUENCER"

    def encode(self) -> bytes:
        fields = asdict(self)
        fields["tx_hash"], fields["sender"] = self.tx_hash.hex(), self.sender.hex()
        return json.dumps(fields).encode()

    @classmethod
    def decode(cls, data: bytes) -> Exclusion:
        fields = json.loads(data)
        fields["tx_hash"], fields["sender"] = bytes.fromhex(fields["tx_hash"]), bytes.fromhex(fields["sender"])
        return cls(**fields)


class ExclusionStore:
    """The unexecutable list, persisted in the node's LMDB environment."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv

    def record(self, exclusions: list[Exclusion]) -> None:
        if exclusions:
            self.kv.write([(TABLE, e.tx_hash, e.encode()) for e in exclusions])

    def get(self, tx_hash: bytes) -> Exclusion | None:
        data = self.kv.get(TABLE, tx_hash)
        return None if data is None else Exclusion.decode(data)
