"""The block producer: the sequencer's one actor that turns pooled transactions into sealed blocks.

One tick = at most one block: pick transactions from the pool best-first (priority senders
first), let the `BlockSelector` run and judge each one against Linea's rules, seal the header with
the Clique key, and commit block, state and trace counts atomically. Transactions that cannot run
(stale nonce, no funds left) are dropped from the pool; ones a rule refuses for good are dropped
and remembered as unexecutable; ones that merely do not fit this block wait.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eth.constants import BLANK_ROOT_HASH
from eth_keys import keys

from linen.chain.codec import encode_state_diff
from linen.chain.store import ChainStore
from linen.chain.types import Block, BlockHeader
from linen.config import SequencerRules
from linen.execution.pyevm_engine import PyEvmEngine
from linen.execution.tracer.counts import encode_counts
from linen.execution.tracer.trace import BlockTracer
from linen.execution.transactions import PooledTransaction
from linen.protocol.fees import next_base_fee
from linen.sequencer.clique import DIFF_IN_TURN, seal_header
from linen.sequencer.exclusions import Exclusion, ExclusionStore
from linen.sequencer.rules import check_provable
from linen.sequencer.selection import Action, BlockSelector
from linen.sequencer.txpool import TxPool

log = logging.getLogger(__name__)

EMPTY_REQUESTS_HASH = hashlib.sha256(b"").digest()
MIN_TX_GAS = 21_000


@dataclass(frozen=True)
class ProducerConfig:
    block_period: float = 2.0
    create_empty_blocks: bool = False
    # Seconds to spend picking transactions before sealing what was picked (None: the pool's whole
    # selection). Without it a block started late takes everything that piled up, overruns the period, and
    # is followed by near-empty blocks: uneven blocks that also reach the state manager in lumps.
    selection_budget_s: float | None = None
    fee_recipient: bytes | None = None  # None: the sequencer's own address
    min_base_fee: int = 7
    vanity: bytes = b"linen"
    rules: SequencerRules = field(default_factory=SequencerRules)
    trace_limits: dict[str, int] | None = None  # None: no tracing, no line limits (benchmarks only)
    l2_message_service: bytes | None = None  # whose MessageSent logs count as L2->L1 messages


@dataclass
class BlockTimings:
    """Where the time of the last block went (for the throughput benchmark's breakdown)."""

    execute: float = 0.0
    finish: float = 0.0  # state root, tx and receipt tries
    seal: float = 0.0
    commit: float = 0.0
    pool: float = 0.0


class BlockProducer:
    def __init__(
        self,
        store: ChainStore,
        engine: PyEvmEngine,
        pool: TxPool,
        sequencer_key: keys.PrivateKey,
        config: ProducerConfig,
        exclusions: ExclusionStore | None = None,
    ) -> None:
        self.store = store
        self.exclusions = exclusions or ExclusionStore(store.kv)
        self.engine = engine
        self.pool = pool
        self.key = sequencer_key
        self.config = config
        self.fee_recipient = config.fee_recipient or sequencer_key.public_key.to_canonical_address()
        self.listeners: list[Callable[[Block], None]] = []
        self.exclusion_listeners: list[Callable[[list[Exclusion]], None]] = []  # after each block's exclusions
        self.last_timings = BlockTimings()

    def next_header(self, parent: BlockHeader, now: float) -> BlockHeader:
        return BlockHeader(
            difficulty=DIFF_IN_TURN,
            block_number=parent.block_number + 1,
            gas_limit=parent.gas_limit,
            timestamp=max(int(now), parent.timestamp + 1),
            coinbase=self.fee_recipient,
            parent_hash=parent.hash,
            extra_data=b"",
            mix_hash=b"\x00" * 32,
            nonce=b"\x00" * 8,
            base_fee_per_gas=next_base_fee(
                parent.base_fee_per_gas, parent.gas_used, parent.gas_limit, self.config.min_base_fee
            ),
            withdrawals_root=BLANK_ROOT_HASH,
            blob_gas_used=0,
            excess_blob_gas=0,
            parent_beacon_block_root=b"\x00" * 32,
            requests_hash=EMPTY_REQUESTS_HASH,
        )

    def provable_check(self, header: BlockHeader, parent: BlockHeader) -> Callable[[PooledTransaction], None] | None:
        """With `provable = "transfers"`: the check of each candidate against the block's coinbase and the
        parent state's code (no code appears within such a block: creations and type 4 are refused)."""
        if not self.config.rules.transfers_only:
            return None
        chain_id, coinbase = self.engine.chain_id, bytes(header.coinbase)
        return lambda ptx: check_provable(ptx, chain_id, coinbase, lambda a: self.engine.get_code(a, parent))

    def produce_block(self, now: float | None = None) -> Block | None:
        """Build, seal and commit one block; None if there was nothing to include (and no empty blocks)."""
        if not len(self.pool) and not self.config.create_empty_blocks:
            return None
        timings = BlockTimings()
        started = time.perf_counter()
        parent = self.store.head()
        header = self.next_header(parent, time.time() if now is None else now)
        builder = self.engine.begin_block(header, parent.state_root)
        tracer = BlockTracer(header, self.config.l2_message_service) if self.config.trace_limits is not None else None
        selector = BlockSelector(self.config.rules, header, self.config.trace_limits, tracer,
                                 self.provable_check(header, parent))
        selection = self.pool.select(header.base_fee_per_gas, self.config.rules.priority_senders)
        dropped: list[bytes] = []
        excluded: list[Exclusion] = []
        budget = self.config.selection_budget_s
        for ptx in selection:
            if builder.gas_remaining < MIN_TX_GAS:
                break
            if budget is not None and builder.transactions and time.perf_counter() - started > budget:
                break  # the rest waits for the next block, which starts on time
            if ptx.gas > builder.gas_remaining:
                selection.pop_sender()  # does not fit this block; it waits for the next one
                continue
            verdict = selector.consider(ptx, builder)
            if verdict.action is Action.SELECTED:
                continue
            if verdict.action is Action.CLOSE_BLOCK:
                log.info("closing block %d before 0x%s: %s", header.block_number, ptx.hash.hex(), verdict.message)
                break
            selection.pop_sender()
            if verdict.action is Action.DROP:
                log.info("dropping transaction 0x%s from the pool: %s", ptx.hash.hex(), verdict.message)
                dropped.append(ptx.hash)
            elif verdict.action is Action.EXCLUDE:
                log.warning("excluding transaction 0x%s (%s): %s", ptx.hash.hex(), verdict.reason, verdict.message)
                dropped.append(ptx.hash)
                excluded.append(
                    Exclusion(ptx.hash, ptx.sender, ptx.nonce, verdict.reason, verdict.message, header.block_number,
                              header.timestamp)
                )
        self.exclusions.record(excluded)
        if excluded:
            for on_excluded in self.exclusion_listeners:
                on_excluded(excluded)
        if not builder.transactions and not self.config.create_empty_blocks:
            if dropped:
                self.pool.remove(dropped)
            return None
        timings.execute = time.perf_counter() - started

        mark = time.perf_counter()
        sealed = builder.finish()
        timings.finish = time.perf_counter() - mark

        mark = time.perf_counter()
        signed_header = seal_header(sealed.header, self.config.vanity, self.key)
        timings.seal = time.perf_counter() - mark

        block = sealed.to_block(signed_header)
        mark = time.perf_counter()
        traces = None if tracer is None else encode_counts(tracer.block_counts(signed_header))
        self.store.commit_block(block, sealed.state_writes, encode_state_diff(sealed.state_diff), traces)
        timings.commit = time.perf_counter() - mark

        mark = time.perf_counter()
        if dropped:
            self.pool.remove(dropped)
        self.pool.on_new_head(sealed.transactions, touched=sealed.state_diff.keys())
        timings.pool = time.perf_counter() - mark
        self.last_timings = timings
        log.info(
            "sealed block %d with %d txs, gas %d (exec %.0f ms, roots %.0f ms, commit %.0f ms)",
            block.number,
            len(block.transactions),
            signed_header.gas_used,
            timings.execute * 1e3,
            timings.finish * 1e3,
            timings.commit * 1e3,
        )
        for listener in self.listeners:
            try:
                listener(block)
            except Exception:  # a listener's bug must not stop block production
                log.exception("block listener failed")
        return block
