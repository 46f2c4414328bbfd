"""The sequencer's transaction pool: a smaller cousin of geth's legacypool.

Transactions arrive decoded and signature-checked (`decode_transaction`); the pool adds the checks that
need state (nonce, balance), the economic rules (minimum price, replacement bump, eviction when full)
and the split every Ethereum pool makes:

- pending: a sender's transactions whose nonces run without a hole from its state nonce. Only these
  can go into the next block.
- queued: the transactions behind a hole. They wait until the hole is filled, then are promoted.

Per sender the pool keeps a dict nonce -> transaction and `pending_end`, the first nonce not covered
by the contiguous run; a sender's pending count is therefore `pending_end - state_nonce`, and every
operation touches one sender (at most `max_per_sender` entries) plus O(log n) heap work, never the
whole pool. Refusals raise `InvalidTransaction` with geth's wording, because wallets match on it.

Submissions arrive on the RPC's event loop while the block producer selects and prunes from its
own thread, so every public method holds the pool's lock (`select` takes a snapshot under it).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from linen.errors import InvalidTransaction
from linen.execution.transactions import PooledTransaction

AccountReader = Callable[[bytes], tuple[int, int]]  # address -> (nonce, balance) at the head state

PENDING, QUEUED = "pending", "queued"


def _locked(method):  # type: ignore[no-untyped-def]
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class TxPoolConfig:
    max_pool_size: int = 10_000  # transactions, pending and queued together
    max_per_sender: int = 64
    max_nonce_gap: int = 64  # how far above the sender's next expected nonce a tx may be
    price_bump_percent: int = 10  # a replacement must raise both fee fields by this much
    min_gas_price: int = 0  # wei per gas, compared with the fee cap


class _Sender:
    """The pooled transactions of one address. Invariant: every nonce in `txs` is >= `state_nonce`,
    and `state_nonce .. pending_end - 1` are all present (the pending run)."""

    __slots__ = ("highest", "pending_end", "state_nonce", "txs")

    def __init__(self, state_nonce: int) -> None:
        self.state_nonce = state_nonce
        self.txs: dict[int, PooledTransaction] = {}
        self.pending_end = state_nonce
        self.highest = -1  # highest pooled nonce: the only tx of this sender that eviction may take

    @property
    def pending_count(self) -> int:
        return self.pending_end - self.state_nonce

    def extend_pending(self) -> None:
        while self.pending_end in self.txs:
            self.pending_end += 1


def _bumped(old: int, percent: int) -> int:
    """Smallest acceptable replacement value: old raised by `percent`, rounded up, and strictly higher."""
    return max(old + 1, -(-old * (100 + percent) // 100))


def _eviction_key(ptx: PooledTransaction) -> tuple[int, int, int]:
    # The pool has no base fee of its own, so it ranks by tip, then fee cap. Among equals the most
    # recent arrival goes first, so a flood of copies cannot push out older transactions.
    return (ptx.max_priority_fee_per_gas, ptx.max_fee_per_gas, -ptx.arrival)


class TxPool:
    """Pending and queued transactions of the sequencer, with geth's admission rules."""

    def __init__(self, config: TxPoolConfig, account_reader: AccountReader) -> None:
        self.config = config
        self._read_account = account_reader
        self._senders: dict[bytes, _Sender] = {}
        self._by_hash: dict[bytes, PooledTransaction] = {}
        self._pending = 0
        self._queued = 0
        self._arrivals = itertools.count(1)
        # Min-heap of each sender's highest-nonce tx, the eviction candidates. Entries go stale when a
        # tx leaves or stops being its sender's highest; they are skipped lazily and compacted in bulk.
        self._evictable: list[tuple[int, int, int, int, PooledTransaction]] = []
        self._pushes = itertools.count()  # heap tie-breaker: the same tx may be pushed twice
        self._lock = threading.RLock()

    # ---- admission -------------------------------------------------------------------------------

    @_locked
    def add(self, ptx: PooledTransaction) -> str:
        """Admit `ptx`, returning "pending" or "queued", or raise `InvalidTransaction` saying why not."""
        cfg = self.config
        if ptx.hash in self._by_hash:
            raise InvalidTransaction("already known")
        if ptx.max_fee_per_gas < cfg.min_gas_price:
            raise InvalidTransaction(
                f"transaction underpriced: max fee per gas {ptx.max_fee_per_gas}, minimum needed {cfg.min_gas_price}"
            )
        state_nonce, balance = self._read_account(ptx.sender)
        sender = self._senders.get(ptx.sender)
        if sender is not None and sender.state_nonce != state_nonce:
            # The head moved without on_new_head reaching this sender yet: catch up before judging.
            self._resync(ptx.sender, state_nonce, balance)
            sender = self._senders.get(ptx.sender)
        if ptx.nonce < state_nonce:
            raise InvalidTransaction(f"nonce too low: next nonce {state_nonce}, tx nonce {ptx.nonce}")
        gap = ptx.nonce - (sender.pending_end if sender else state_nonce)
        if gap > cfg.max_nonce_gap:
            raise InvalidTransaction(f"nonce too high: gap of {gap} beyond the pool's limit of {cfg.max_nonce_gap}")
        cost = ptx.max_cost()
        if balance < cost:
            raise InvalidTransaction(
                f"insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, overshot {cost - balance}"
            )
        old = sender.txs.get(ptx.nonce) if sender else None
        if old is not None:
            return self._replace(sender, old, ptx)
        if sender is not None and len(sender.txs) >= cfg.max_per_sender:
            raise InvalidTransaction(
                f"txpool is full for sender 0x{ptx.sender.hex()}: {len(sender.txs)} transactions pooled, "
                f"the limit per sender is {cfg.max_per_sender}"
            )
        if len(self._by_hash) >= cfg.max_pool_size:
            self._make_room_for(ptx)
            sender = self._senders.get(ptx.sender)  # eviction may have emptied it
        if sender is None:
            sender = self._senders[ptx.sender] = _Sender(state_nonce)
        return self._insert(sender, ptx)

    def _replace(self, sender: _Sender, old: PooledTransaction, new: PooledTransaction) -> str:
        """Swap a same-nonce tx in place if it pays enough more; its pending/queued status is unchanged.

        Both fee fields must rise, as in geth: raising only the cap (or only the tip) would let a sender
        churn the pool and the network for free.
        """
        bump = self.config.price_bump_percent
        need_fee, need_tip = _bumped(old.max_fee_per_gas, bump), _bumped(old.max_priority_fee_per_gas, bump)
        if new.max_fee_per_gas < need_fee or new.max_priority_fee_per_gas < need_tip:
            raise InvalidTransaction(
                f"replacement transaction underpriced: needs max fee per gas >= {need_fee} and max priority fee "
                f"per gas >= {need_tip} ({bump}% above the pooled transaction)"
            )
        del self._by_hash[old.hash]
        new.arrival = next(self._arrivals)
        sender.txs[new.nonce] = new
        self._by_hash[new.hash] = new
        if new.nonce == sender.highest:
            self._push_evictable(new)
        return PENDING if new.nonce < sender.pending_end else QUEUED

    def _insert(self, sender: _Sender, ptx: PooledTransaction) -> str:
        ptx.arrival = next(self._arrivals)
        sender.txs[ptx.nonce] = ptx
        self._by_hash[ptx.hash] = ptx
        if ptx.nonce > sender.highest:
            sender.highest = ptx.nonce
            self._push_evictable(ptx)
        if ptx.nonce != sender.pending_end:
            self._queued += 1
            return QUEUED
        before = sender.pending_count
        sender.extend_pending()  # the new tx may close a hole: promote what was queued behind it
        promoted = sender.pending_count - before
        self._pending += promoted
        self._queued -= promoted - 1
        return PENDING

    def _make_room_for(self, ptx: PooledTransaction) -> None:
        """Evict the cheapest sender-tail tx if `ptx` pays more; otherwise refuse `ptx`.

        Only a sender's highest nonce is a candidate, so eviction never opens a hole in anyone's run.
        A tx cannot displace an earlier tx of its own sender: it could not be mined before it anyway.
        """
        victim = self._cheapest_evictable()
        if (
            victim is None
            or _eviction_key(ptx)[:2] <= _eviction_key(victim)[:2]
            or (victim.sender == ptx.sender and victim.nonce < ptx.nonce)
        ):
            raise InvalidTransaction("txpool is full: transaction underpriced")
        self._remove_one(victim)

    def _push_evictable(self, ptx: PooledTransaction) -> None:
        heapq.heappush(self._evictable, (*_eviction_key(ptx), next(self._pushes), ptx))
        if len(self._evictable) > 2 * len(self._senders) + 1024:  # mostly stale: rebuild from the tails
            tails = (s.txs[s.highest] for s in self._senders.values())
            self._evictable = [(*_eviction_key(t), next(self._pushes), t) for t in tails]
            heapq.heapify(self._evictable)

    def _cheapest_evictable(self) -> PooledTransaction | None:
        heap = self._evictable
        while heap:
            ptx = heap[0][-1]
            sender = self._senders.get(ptx.sender)
            if sender is not None and sender.txs.get(sender.highest) is ptx:
                return ptx
            heapq.heappop(heap)
        return None

    # ---- removal ---------------------------------------------------------------------------------

    @_locked
    def remove(self, hashes: Iterable[bytes]) -> int:
        """Drop transactions by hash (unknown hashes are ignored); returns how many were dropped.

        Removing a pending tx demotes the sender's later txs to queued: they cannot run until the
        nonce is filled again, exactly as geth does.
        """
        removed = 0
        for tx_hash in hashes:
            ptx = self._by_hash.get(tx_hash)
            if ptx is not None:
                self._remove_one(ptx)
                removed += 1
        return removed

    def _remove_one(self, ptx: PooledTransaction) -> None:
        sender = self._senders[ptx.sender]
        del self._by_hash[ptx.hash]
        del sender.txs[ptx.nonce]
        if ptx.nonce < sender.pending_end:
            demoted = sender.pending_end - ptx.nonce - 1
            sender.pending_end = ptx.nonce
            self._pending -= demoted + 1
            self._queued += demoted
        else:
            self._queued -= 1
        if not sender.txs:
            del self._senders[ptx.sender]
        elif ptx.nonce == sender.highest:
            sender.highest = max(sender.txs)
            self._push_evictable(sender.txs[sender.highest])

    @_locked
    def on_new_head(self, included: Iterable[PooledTransaction], touched: Iterable[bytes] = ()) -> None:
        """Bring the pool to a new head state after a block.

        Re-reads (nonce, balance) of every sender of `included` plus the addresses in `touched` (for
        changes the caller knows of beyond the senders, e.g. set-code authorities whose nonce moved).
        For those it drops txs below the new state nonce (the included ones among them) and those the
        sender can no longer pay for, then recomputes the pending run, which promotes queued txs.
        """
        addresses = {ptx.sender for ptx in included}
        addresses.update(touched)
        for address in addresses:
            if address in self._senders:
                self._resync(address, *self._read_account(address))

    def _resync(self, address: bytes, state_nonce: int, balance: int) -> None:
        sender = self._senders[address]
        self._pending -= sender.pending_count
        self._queued -= len(sender.txs) - sender.pending_count
        for nonce, ptx in list(sender.txs.items()):
            if nonce < state_nonce or ptx.max_cost() > balance:
                del sender.txs[nonce]
                del self._by_hash[ptx.hash]
        if not sender.txs:
            del self._senders[address]
            return
        sender.state_nonce = sender.pending_end = state_nonce
        sender.extend_pending()
        self._pending += sender.pending_count
        self._queued += len(sender.txs) - sender.pending_count
        highest = max(sender.txs)
        if highest != sender.highest:
            sender.highest = highest
            self._push_evictable(sender.txs[highest])

    # ---- queries ---------------------------------------------------------------------------------

    def get(self, tx_hash: bytes) -> PooledTransaction | None:
        return self._by_hash.get(tx_hash)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    def __len__(self) -> int:
        return len(self._by_hash)

    @_locked
    def next_nonce(self, address: bytes) -> int:
        """Nonce for the sender's next tx, counting its pending run (eth_getTransactionCount "pending")."""
        sender = self._senders.get(address)
        return sender.pending_end if sender is not None else self._read_account(address)[0]

    @_locked
    def status(self) -> dict[str, int]:
        return {PENDING: self._pending, QUEUED: self._queued}

    @_locked
    def content(self) -> dict[str, dict[bytes, dict[int, PooledTransaction]]]:
        """`{"pending": {sender: {nonce: ptx}}, "queued": {...}}`, nonces ascending (txpool_content)."""
        result: dict[str, dict[bytes, dict[int, PooledTransaction]]] = {PENDING: {}, QUEUED: {}}
        for address, sender in self._senders.items():
            for nonce in sorted(sender.txs):
                kind = PENDING if nonce < sender.pending_end else QUEUED
                result[kind].setdefault(address, {})[nonce] = sender.txs[nonce]
        return result

    @_locked
    def select(self, base_fee: int, priority_senders: frozenset[bytes] = frozenset()) -> BlockSelection:
        """Pending transactions in the order the block producer should try them; see `BlockSelection`."""
        runs = [
            [s.txs[n] for n in range(s.state_nonce, s.pending_end)] for s in self._senders.values() if s.pending_count
        ]
        return BlockSelection(runs, base_fee, priority_senders)


class BlockSelection:
    """Best-first walk over pending txs, in nonce order per sender (geth's TransactionsByPriceAndNonce).

    A heap holds each sender's lowest not-yet-taken tx, ranked by: priority sender first, then higher
    effective tip at `base_fee`, then earlier arrival. Once a sender's next tx has a fee cap below the
    base fee, that sender is done: its later nonces could not run before it.

    Iterating is the usual way to use it; a yielded tx counts as accepted when the next one is asked
    for, unless the producer calls `pop_sender()` first because it failed:

        selection = pool.select(base_fee)
        for ptx in selection:
            if not fits_or_succeeds(ptx):
                selection.pop_sender()  # the rest of this sender's txs are skipped for this block

    The explicit form is `peek()` for the current best tx, then `shift()` (accepted: move on to the
    sender's next nonce) or `pop_sender()` (failed: drop the sender). The selection works on a snapshot
    taken by `TxPool.select`, so the pool may change meanwhile.
    """

    def __init__(self, runs: list[list[PooledTransaction]], base_fee: int, priority_senders: frozenset[bytes]) -> None:
        self._base_fee = base_fee
        self._priority = priority_senders
        self._heap: list[tuple[int, int, int, int, int, list[PooledTransaction]]] = []
        self._pushes = itertools.count()  # tie-breaker so the heap never compares lists
        self._yielded = False  # the head was handed out by __next__ and not yet shifted or popped
        for run in runs:
            self._push(run, 0)

    def _push(self, run: list[PooledTransaction], index: int) -> None:
        if index >= len(run):
            return
        ptx = run[index]
        if ptx.max_fee_per_gas < self._base_fee:
            return
        rank = 0 if ptx.sender in self._priority else 1
        tip = ptx.effective_tip(self._base_fee)
        heapq.heappush(self._heap, (rank, -tip, ptx.arrival, next(self._pushes), index, run))

    def peek(self) -> PooledTransaction | None:
        """The best tx to try next, or None when nothing is left."""
        if not self._heap:
            return None
        *_, index, run = self._heap[0]
        return run[index]

    def shift(self) -> None:
        """The current tx was accepted: its sender's next nonce takes its place."""
        self._yielded = False
        if self._heap:
            *_, index, run = heapq.heappop(self._heap)
            self._push(run, index + 1)

    def pop_sender(self) -> None:
        """The current tx failed: skip it and all later txs of its sender for this block."""
        self._yielded = False
        if self._heap:
            heapq.heappop(self._heap)

    def __iter__(self) -> Iterator[PooledTransaction]:
        return self

    def __next__(self) -> PooledTransaction:
        if self._yielded:
            self.shift()
        ptx = self.peek()
        if ptx is None:
            raise StopIteration
        self._yielded = True
        return ptx
