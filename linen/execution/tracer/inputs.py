"""What the line-count rules read: one executed transaction, and the block around transactions.

Plain frozen data, independent of py-evm, so the rules stay pure functions that tests can feed by
hand and the sequencer can build cheaply from an execution result.
"""

from __future__ import annotations

from dataclasses import dataclass

from linen.execution.types import ExecutedFrame, ExecutedOpcode
from linen.primitives.diffs import Log


@dataclass(frozen=True, slots=True)
class TracedTransaction:
    """One executed transaction as the tracer sees it.

    `raw` is the signed envelope as sent to eth_sendRawTransaction (legacy RLP, or type byte ||
    RLP); `access_list` holds (address, (slot, ...)) pairs; `authorizations` counts EIP-7702
    authorizations; `receipt_rlp` is the consensus encoding of the receipt; `opcodes` and `frames`
    are the execution record (see `linen.execution.types`); the state-diff sizes count the accounts
    and storage slots the transaction touched.
    """

    raw: bytes
    tx_type: int
    sender: bytes
    to: bytes | None
    calldata: bytes
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...]
    authorizations: int
    success: bool
    gas_used: int
    logs: tuple[Log, ...]
    receipt_rlp: bytes
    opcodes: tuple[ExecutedOpcode, ...]
    frames: tuple[ExecutedFrame, ...]
    state_diff_accounts: int
    state_diff_slots: int


@dataclass(frozen=True, slots=True)
class TracedBlock:
    """The block-level facts the block counters need.

    `logs` are all the block's logs in order; `l2_message_service` is the address whose
    MessageSent events are the L2->L1 messages (None: no such messages are counted).
    """

    number: int
    timestamp: int
    coinbase: bytes
    gas_limit: int
    base_fee: int
    transactions_raw: tuple[bytes, ...]
    logs: tuple[Log, ...]
    l2_message_service: bytes | None
