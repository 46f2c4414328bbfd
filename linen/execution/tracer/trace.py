"""The tracer at work in block building: counts each transaction and keeps the block's running total.

The line-count rules (`rules.py`) are pure functions of one transaction and of one block. Block
selection needs, for each candidate, the block's counts with and without it; the block-level terms
(transaction count, L1 size, L2->L1 logs...) are additive per transaction, so each transaction's
whole contribution is `count_block` of a block holding it alone minus that of an empty block, and
the running total never re-counts earlier transactions.
"""

from __future__ import annotations

from linen.chain.types import BlockHeader
from linen.execution.tracer.counts import add_counts
from linen.execution.tracer.inputs import TracedBlock, TracedTransaction
from linen.execution.tracer.modules import ALL_MODULES
from linen.execution.tracer.rules import count_block, count_transaction
from linen.execution.transactions import PooledTransaction
from linen.execution.types import TransactionExecution

SET_CODE_TX_TYPE = 4  # the only type that carries authorizations (py-evm raises on the others)


def traced_transaction(ptx: PooledTransaction, execution: TransactionExecution) -> TracedTransaction:
    """The tracer's view of one executed transaction."""
    tx = ptx.tx
    to = bytes(tx.to) if tx.to else None
    access_list = tuple(
        (bytes(address), tuple(int(slot) for slot in slots)) for address, slots in getattr(tx, "access_list", ())
    )
    return TracedTransaction(
        raw=ptx.raw,
        tx_type=ptx.type,
        sender=ptx.sender,
        to=to,
        calldata=bytes(tx.data),
        access_list=access_list,
        authorizations=len(tx.authorization_list) if ptx.type == SET_CODE_TX_TYPE else 0,
        success=execution.success,
        gas_used=execution.gas_used,
        logs=execution.logs,
        receipt_rlp=execution.receipt_rlp,
        opcodes=execution.opcodes,
        frames=execution.frames,
        state_diff_accounts=len(execution.state_diff),
        state_diff_slots=sum(len(a.storage) for a in execution.state_diff.values()),
    )


def traced_block(header: BlockHeader, raws: tuple[bytes, ...], logs: tuple, message_service: bytes | None) -> TracedBlock:
    return TracedBlock(
        number=header.block_number,
        timestamp=header.timestamp,
        coinbase=bytes(header.coinbase),
        gas_limit=header.gas_limit,
        base_fee=header.base_fee_per_gas,
        transactions_raw=raws,
        logs=logs,
        l2_message_service=message_service,
    )


class BlockTracer:
    """Line counts of one block under construction."""

    def __init__(self, header: BlockHeader, message_service: bytes | None) -> None:
        self.header = header
        self.message_service = message_service
        self.empty_block = count_block([], traced_block(header, (), (), message_service))
        self.running = dict(self.empty_block)
        self.tx_counts: list[dict[str, int]] = []
        self._raws: list[bytes] = []
        self._logs: list = []
        self._pending: tuple[PooledTransaction, dict[str, int]] | None = None

    def count(self, ptx: PooledTransaction, execution: TransactionExecution) -> dict[str, int]:
        """The transaction's own lines per module (rules only; block-level terms come in `block_counts_with`)."""
        counts = count_transaction(traced_transaction(ptx, execution))
        alone = count_block([counts], traced_block(self.header, (ptx.raw,), execution.logs, self.message_service))
        contribution = {m: alone[m] - self.empty_block[m] for m in ALL_MODULES}
        self._pending = (ptx, contribution)
        return counts

    def block_counts_with(self, tx_counts: dict[str, int], alone: bool = False) -> dict[str, int]:
        """The block's counts if the last counted transaction joins it (or is the block's only one)."""
        assert self._pending is not None, "count() the transaction first"
        contribution = self._pending[1]
        return add_counts(self.empty_block if alone else self.running, contribution)

    def accept(self, ptx: PooledTransaction, execution: TransactionExecution, tx_counts: dict[str, int]) -> None:
        assert self._pending is not None and self._pending[0] is ptx
        self.running = add_counts(self.running, self._pending[1])
        self.tx_counts.append(tx_counts)
        self._raws.append(ptx.raw)
        self._logs.extend(execution.logs)
        self._pending = None

    def block_counts(self, header: BlockHeader | None = None) -> dict[str, int]:
        """The sealed block's counts, counted afresh over all its transactions."""
        block = traced_block(header or self.header, tuple(self._raws), tuple(self._logs), self.message_service)
        return count_block(self.tx_counts, block)
