"""Per-block transaction selection: Linea's rules that need the transaction executed first.

For each candidate the producer asks `BlockSelector.consider`, which runs the transaction on the
block under construction, then judges it: over the time budget, over a trace limit on its own, or
unprofitable at the gas it really used, it is taken back out; if it fits alone but not in this
block (trace lines or compressed size), it is taken back out and the block is closed. The verdict
says what the producer does with the transaction and with the block.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from linen.chain.types import BlockHeader
from linen.errors import ExecutionTimeout, InvalidTransaction, TransactionRefused
from linen.execution.engine import BlockBuilderAPI
from linen.execution.pyevm_engine import UnexecutableTransaction
from linen.execution.tracer.limits import first_exceeded
from linen.execution.tracer.trace import BlockTracer
from linen.execution.transactions import PooledTransaction
from linen.execution.types import TransactionExecution
from linen.protocol.blob.sizes import BlockSizes, compressed_size
from linen.sequencer import rules as r


class Action(enum.Enum):
    SELECTED = "selected"
    SKIP = "skip"  # not now: the sender's later transactions wait too, this one stays pooled
    DROP = "drop"  # can never run as it is (invalid nonce, no funds): out of the pool
    EXCLUDE = "exclude"  # refused by a rule for good: out of the pool and on the unexecutable list
    CLOSE_BLOCK = "close"  # fits alone but not in this block: it waits, the block is sealed now


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str = ""
    message: str = ""


SELECTED = Verdict(Action.SELECTED)


class BlockSelector:
    """Judges candidates for one block; keeps the block's running line counts and compressed size."""

    def __init__(
        self,
        rules: r.SequencerRules,
        header: BlockHeader,
        limits: dict[str, int] | None,
        tracer: BlockTracer | None,
        provable: Callable[[PooledTransaction], None] | None = None,
    ) -> None:
        self.rules = rules
        self.provable = provable  # raises TX_NOT_PROVABLE (sequencer.provable = "transfers"); None: all go
        self.base_fee = header.base_fee_per_gas
        self.limits = limits
        self.tracer = tracer
        self.compressed_bytes = 0
        self.raw_transactions: list[bytes] = []
        self._block_sizes: BlockSizes | None = None  # the block's lzss size, once the sizes alone no longer fit

    def consider(self, ptx: PooledTransaction, builder: BlockBuilderAPI) -> Verdict:
        try:
            r.check_static_rules(ptx, self.rules)
            if self.provable is not None:
                self.provable(ptx)
        except TransactionRefused as exc:
            return Verdict(Action.EXCLUDE, exc.reason, str(exc))
        try:
            r.check_min_gas_price(ptx, self.rules, self.base_fee)
        except TransactionRefused as exc:  # the base fee may fall: it may be mineable later
            return Verdict(Action.SKIP, exc.reason, str(exc))

        started = time.perf_counter()
        budget = self.rules.max_tx_selection_time
        try:
            # Besu's selection interrupts a transaction at its time budget: without the deadline a looping
            # creation with 24M gas runs for 14 s before being judged, and costs its sender nothing.
            execution = builder.apply(ptx, deadline=time.monotonic() + budget, budget=budget)
        except InvalidTransaction as exc:
            return Verdict(Action.DROP, "TX_INVALID", str(exc))
        except ExecutionTimeout:
            return Verdict(
                Action.EXCLUDE,
                r.TX_EVALUATION_TOO_LONG,
                f"executing the transaction was stopped at the selection budget of {budget} s",
            )
        except UnexecutableTransaction as exc:
            return Verdict(Action.EXCLUDE, r.TX_UNEXECUTABLE, str(exc))
        verdict = self._judge_executed(ptx, execution, started)
        if verdict.action is not Action.SELECTED:
            builder.undo_last()
        return verdict

    def _judge_executed(self, ptx: PooledTransaction, execution: TransactionExecution, started: float) -> Verdict:
        tx_counts = None
        if self.tracer is not None:
            tx_counts = self.tracer.count(ptx, execution)
        elapsed = time.perf_counter() - started
        if elapsed > self.rules.max_tx_selection_time:
            return Verdict(
                Action.EXCLUDE,
                r.TX_EVALUATION_TOO_LONG,
                f"executing and tracing the transaction took {elapsed:.3f} s, over the selection budget of "
                f"{self.rules.max_tx_selection_time} s",
            )
        if tx_counts is not None and self.limits is not None:
            verdict = self._judge_lines(tx_counts)
            if verdict is not SELECTED:
                return verdict
        size = compressed_size(ptx.raw)
        try:
            r.check_profitability(ptx, self.rules, self.base_fee, max(execution.gas_used, 1), self.rules.min_margin, size)
        except TransactionRefused as exc:  # a later base fee or a fee bump may make it worth it
            return Verdict(Action.SKIP, exc.reason, str(exc))
        verdict = self._judge_compressed_size(ptx, size)
        if verdict is not SELECTED:
            return verdict
        if self.tracer is not None and tx_counts is not None:
            self.tracer.accept(ptx, execution, tx_counts)
        return SELECTED

    def _judge_lines(self, tx_counts: dict[str, int]) -> Verdict:
        assert self.tracer is not None and self.limits is not None
        together = first_exceeded(self.tracer.block_counts_with(tx_counts), self.limits)
        if together is None:  # counts are never negative: fitting with the others, it fits alone
            return SELECTED
        alone = first_exceeded(self.tracer.block_counts_with(tx_counts, alone=True), self.limits)
        if alone is not None:
            module, count, limit = alone
            return Verdict(
                Action.EXCLUDE,
                r.TX_MODULE_LINE_COUNT_OVERFLOW,
                f"the transaction alone needs {count} {module} lines, over the limit of {limit}: it can never be proven",
            )
        module, count, limit = together
        return Verdict(
            Action.CLOSE_BLOCK,
            r.BLOCK_MODULE_LINE_COUNT_FULL,
            f"the block would hold {count} {module} lines, over the limit of {limit}",
        )

    def _judge_compressed_size(self, ptx: PooledTransaction, size: int) -> Verdict:
        """Linea's compression rule: the sum of compressed sizes is checked first, the block's only if needed."""
        budget = self.rules.compressed_block_budget
        if size > budget and not self.raw_transactions:
            return Verdict(
                Action.EXCLUDE,
                r.BLOCK_COMPRESSED_SIZE_OVERFLOW,
                f"the transaction compresses to {size} bytes, more than a block may carry ({budget})",
            )
        estimate = self.compressed_bytes + size
        if estimate > budget:
            if self._block_sizes is None:  # built once the sum of sizes alone first passes the budget
                self._block_sizes = BlockSizes(self.raw_transactions)
            estimate = self._block_sizes.with_(ptx.raw)
            if estimate > budget:
                self._block_sizes.drop()
                return Verdict(
                    Action.CLOSE_BLOCK,
                    r.BLOCK_COMPRESSED_SIZE_OVERFLOW,
                    f"the block would compress to {estimate} bytes, over the budget of {budget}",
                )
            self._block_sizes.keep()
        elif self._block_sizes is not None:
            self._block_sizes.append(ptx.raw)
        self.compressed_bytes = estimate
        self.raw_transactions.append(ptx.raw)
        return SELECTED
