"""The block producer: the sequencer's one actor that turns pooled transactions into sealed blocks.

One tick = at most one block: pick transactions from the pool best-first, execute them, seal the
header with the Clique key, and commit block + state atomically. Transactions that cannot run
(stale nonce, no funds left) are dropped from the pool; ones that merely do not fit wait.
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
from linen.errors import InvalidTransaction
from linen.execution.pyevm_engine import PyEvmEngine
from linen.protocol.fees import next_base_fee
from linen.sequencer.clique import DIFF_IN_TURN, seal_header
from linen.sequencer.txpool import TxPool

log = logging.getLogger(__name__)

EMPTY_REQUESTS_HASH = hashlib.sha256(b"").digest()
MIN_TX_GAS = 21_000


@dataclass(frozen=True)
class ProducerConfig:
    block_period: float = 2.0
    create_empty_blocks: bool = False
    fee_recipient: bytes | None = None  # None: the sequencer's own address
    min_base_fee: int = 7
    vanity: bytes = b"linen"
    priority_senders: frozenset[bytes] = field(default_factory=frozenset)


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
    ) -> None:
        self.store = store
        self.engine = engine
        self.pool = pool
        self.key = sequencer_key
        self.config = config
        self.fee_recipient = config.fee_recipient or sequencer_key.public_key.to_canonical_address()
        self.listeners: list[Callable[[Block], None]] = []
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

    def produce_block(self, now: float | None = None) -> Block | None:
        """Build, seal and commit one block; None if there was nothing to include (and no empty blocks)."""
        if not len(self.pool) and not self.config.create_empty_blocks:
            return None
        timings = BlockTimings()
        started = time.perf_counter()
        parent = self.store.head()
        header = self.next_header(parent, time.time() if now is None else now)
        builder = self.engine.begin_block(header, parent.state_root)
        selection = self.pool.select(header.base_fee_per_gas, self.config.priority_senders)
        dropped: list[bytes] = []
        for ptx in selection:
            if builder.gas_remaining < MIN_TX_GAS:
                break
            if ptx.gas > builder.gas_remaining:
                selection.pop_sender()  # does not fit this block; it waits for the next one
                continue
            try:
                builder.apply(ptx)
            except InvalidTransaction as exc:
                log.info("dropping transaction 0x%s from the pool: %s", ptx.hash.hex(), exc)
                dropped.append(ptx.hash)
                selection.pop_sender()
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
        self.store.commit_block(block, sealed.state_writes, encode_state_diff(sealed.state_diff))
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
