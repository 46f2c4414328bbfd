"""Unit tests of the sequencer's transaction pool, with real signed transactions."""

from __future__ import annotations

from functools import cache

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linen.errors import InvalidTransaction
from linen.execution.transactions import PooledTransaction, decode_transaction
from linen.sequencer.txpool import TxPool, TxPoolConfig

CHAIN_ID = 1337
GWEI = 10**9
GAS = 21_000
RICH = 10**24
RECIPIENT = "0x" + "42" * 20
KEYS = [bytes([i + 1]) * 32 for i in range(6)]
ADDRESSES = [bytes.fromhex(Account.from_key(key).address[2:]) for key in KEYS]
A, B, C, D, E, F = range(6)


@cache
def _raw(sender: int, nonce: int, fee: int, tip: int, value: int) -> bytes:
    fields = {"chainId": CHAIN_ID, "nonce": nonce, "to": RECIPIENT, "value": value, "gas": GAS, "type": 2}
    fields.update(maxFeePerGas=fee, maxPriorityFeePerGas=tip)
    return bytes(Account.sign_transaction(fields, KEYS[sender]).raw_transaction)


def tx(sender: int, nonce: int, tip: int = 1 * GWEI, fee: int | None = None, value: int = 0) -> PooledTransaction:
    """A decoded dynamic-fee transfer; the fee cap defaults to the tip plus 100 gwei of headroom."""
    return decode_transaction(_raw(sender, nonce, fee if fee is not None else tip + 100 * GWEI, tip, value), CHAIN_ID)


class Chain:
    """Dict-backed head state: address -> [nonce, balance]; unknown accounts are rich and fresh."""

    def __init__(self) -> None:
        self.accounts: dict[bytes, list[int]] = {}

    def set(self, sender: int, nonce: int | None = None, balance: int | None = None) -> None:
        account = self.accounts.setdefault(ADDRESSES[sender], [0, RICH])
        if nonce is not None:
            account[0] = nonce
        if balance is not None:
            account[1] = balance

    def read(self, address: bytes) -> tuple[int, int]:
        nonce, balance = self.accounts.get(address, (0, RICH))
        return nonce, balance


@pytest.fixture
def chain() -> Chain:
    return Chain()


def make_pool(chain: Chain, **config: int) -> TxPool:
    return TxPool(TxPoolConfig(**config), chain.read)


def nonces(pool: TxPool, kind: str, sender: int) -> list[int]:
    return list(pool.content()[kind].get(ADDRESSES[sender], {}))


def order(selection) -> list[tuple[int, int]]:
    return [(ADDRESSES.index(ptx.sender), ptx.nonce) for ptx in selection]


# ---- admission ---------------------------------------------------------------------------------


def test_contiguous_nonces_are_pending(chain):
    pool = make_pool(chain)
    assert [pool.add(tx(A, n)) for n in range(3)] == ["pending"] * 3
    assert pool.status() == {"pending": 3, "queued": 0}
    assert len(pool) == 3


def test_gapped_tx_is_queued_then_promoted_when_the_gap_fills(chain):
    pool = make_pool(chain)
    assert pool.add(tx(A, 0)) == "pending"
    assert pool.add(tx(A, 2)) == "queued"
    assert pool.add(tx(A, 3)) == "queued"
    assert pool.status() == {"pending": 1, "queued": 2}
    assert pool.add(tx(A, 1)) == "pending"
    assert pool.status() == {"pending": 4, "queued": 0}
    assert nonces(pool, "pending", A) == [0, 1, 2, 3]


def test_tx_at_a_later_state_nonce_is_pending(chain):
    chain.set(A, nonce=7)
    pool = make_pool(chain)
    assert pool.add(tx(A, 7)) == "pending"
    assert pool.add(tx(A, 9)) == "queued"


def test_already_known(chain):
    pool = make_pool(chain)
    ptx = tx(A, 0)
    pool.add(ptx)
    with pytest.raises(InvalidTransaction, match="^already known$"):
        pool.add(tx(A, 0))


def test_replacement_needs_ten_percent_on_both_fee_fields(chain):
    pool = make_pool(chain)
    old = tx(A, 0, tip=10 * GWEI, fee=100 * GWEI)
    pool.add(old)
    for tip, fee in [(11 * GWEI - 1, 110 * GWEI), (11 * GWEI, 110 * GWEI - 1), (10 * GWEI, 200 * GWEI)]:
        with pytest.raises(InvalidTransaction, match="^replacement transaction underpriced"):
            pool.add(tx(A, 0, tip=tip, fee=fee))
    new = tx(A, 0, tip=11 * GWEI, fee=110 * GWEI)
    assert pool.add(new) == "pending"
    assert pool.get(old.hash) is None and pool.get(new.hash) is new
    assert len(pool) == 1 and pool.status() == {"pending": 1, "queued": 0}


def test_replacement_bump_rounds_up_and_keeps_queued_status(chain):
    pool = make_pool(chain)
    pool.add(tx(A, 1, tip=15, fee=15))  # 16.5 rounds up to 17
    with pytest.raises(InvalidTransaction, match="needs max fee per gas >= 17 and max priority fee per gas >= 17"):
        pool.add(tx(A, 1, tip=16, fee=16))
    assert pool.add(tx(A, 1, tip=17, fee=17)) == "queued"


def test_nonce_too_low(chain):
    chain.set(A, nonce=5)
    pool = make_pool(chain)
    with pytest.raises(InvalidTransaction, match="^nonce too low: next nonce 5, tx nonce 4$"):
        pool.add(tx(A, 4))


def test_nonce_gap_beyond_the_limit(chain):
    pool = make_pool(chain, max_nonce_gap=4)
    pool.add(tx(A, 0))
    assert pool.add(tx(A, 5)) == "queued"  # next expected is 1: a gap of 4 is allowed
    with pytest.raises(InvalidTransaction, match="^nonce too high: gap of 5 beyond the pool's limit of 4$"):
        pool.add(tx(A, 6))


def test_insufficient_funds(chain):
    cost = GAS * 20 * GWEI + 5
    chain.set(A, balance=cost - 1)
    pool = make_pool(chain)
    with pytest.raises(
        InvalidTransaction, match=f"^insufficient funds for gas \\* price \\+ value: balance {cost - 1}, tx cost {cost}"
    ):
        pool.add(tx(A, 0, tip=GWEI, fee=20 * GWEI, value=5))
    chain.set(A, balance=cost)
    assert pool.add(tx(A, 0, tip=GWEI, fee=20 * GWEI, value=5)) == "pending"


def test_fee_cap_below_minimum_is_underpriced(chain):
    pool = make_pool(chain, min_gas_price=GWEI)
    with pytest.raises(InvalidTransaction, match="^transaction underpriced: max fee per gas"):
        pool.add(tx(A, 0, tip=1, fee=GWEI - 1))
    assert pool.add(tx(A, 0, tip=1, fee=GWEI)) == "pending"


def test_per_sender_limit(chain):
    pool = make_pool(chain, max_per_sender=3)
    for n in range(3):
        pool.add(tx(A, n))
    with pytest.raises(InvalidTransaction, match="^txpool is full for sender 0x" + ADDRESSES[A].hex()):
        pool.add(tx(A, 3))
    assert pool.add(tx(A, 2, tip=2 * GWEI, fee=202 * GWEI)) == "pending"  # replacing is still allowed
    assert pool.add(tx(B, 0)) == "pending"


def test_full_pool_evicts_the_cheapest_sender_tail(chain):
    pool = make_pool(chain, max_pool_size=3)
    pool.add(tx(A, 0, tip=1))  # the cheapest tx, but not A's highest nonce: evicting it would open a gap
    pool.add(tx(A, 1, tip=9))
    cheap_tail = tx(B, 0, tip=5)
    pool.add(cheap_tail)
    with pytest.raises(InvalidTransaction, match="^txpool is full: transaction underpriced$"):
        pool.add(tx(C, 0, tip=5))  # paying the same is not enough
    assert pool.add(tx(C, 0, tip=6)) == "pending"
    assert pool.get(cheap_tail.hash) is None
    assert nonces(pool, "pending", A) == [0, 1] and len(pool) == 3


def test_full_pool_tx_cannot_displace_its_own_senders_earlier_tx(chain):
    pool = make_pool(chain, max_pool_size=2)
    pool.add(tx(A, 0, tip=1))
    pool.add(tx(B, 0, tip=9))
    with pytest.raises(InvalidTransaction, match="^txpool is full: transaction underpriced$"):
        pool.add(tx(A, 1, tip=50))


def test_full_pool_can_evict_a_queued_tail(chain):
    pool = make_pool(chain, max_pool_size=3)
    pool.add(tx(A, 0, tip=8))
    pool.add(tx(A, 5, tip=1))  # queued tail
    pool.add(tx(B, 0, tip=3))
    assert pool.add(tx(C, 0, tip=2)) == "pending"
    assert nonces(pool, "queued", A) == [] and pool.status() == {"pending": 3, "queued": 0}


# ---- removal and new heads -----------------------------------------------------------------------


def test_remove_demotes_later_nonces(chain):
    pool = make_pool(chain)
    txs = [tx(A, n) for n in range(4)]
    for ptx in txs:
        pool.add(ptx)
    assert pool.remove([txs[1].hash, b"\x00" * 32]) == 1
    assert nonces(pool, "pending", A) == [0] and nonces(pool, "queued", A) == [2, 3]
    assert pool.status() == {"pending": 1, "queued": 2}
    assert pool.add(tx(A, 1)) == "pending"
    assert pool.status() == {"pending": 4, "queued": 0}


def test_on_new_head_drops_included_and_promotes(chain):
    pool = make_pool(chain)
    txs = {n: tx(A, n) for n in (0, 1, 2, 4)}
    for ptx in txs.values():
        pool.add(ptx)
    chain.set(A, nonce=2)
    pool.on_new_head([txs[0], txs[1]])
    assert nonces(pool, "pending", A) == [2] and nonces(pool, "queued", A) == [4]
    chain.set(A, nonce=4)  # nonce 3 came from elsewhere (e.g. a forced L1 transaction)
    pool.on_new_head([txs[2]])
    assert nonces(pool, "pending", A) == [4] and pool.status() == {"pending": 1, "queued": 0}
    chain.set(A, nonce=5)
    pool.on_new_head([txs[4]])
    assert len(pool) == 0 and pool.content() == {"pending": {}, "queued": {}}


def test_on_new_head_drops_what_the_sender_can_no_longer_afford(chain):
    pool = make_pool(chain)
    cheap, dear, after = tx(A, 0), tx(A, 1, tip=GWEI, fee=500 * GWEI), tx(A, 2)
    for ptx in (cheap, dear, after):
        pool.add(ptx)
    chain.set(A, balance=GAS * 200 * GWEI)
    pool.on_new_head([], touched=[ADDRESSES[A]])
    assert pool.get(dear.hash) is None
    assert nonces(pool, "pending", A) == [0] and nonces(pool, "queued", A) == [2]


def test_add_catches_up_with_a_head_not_yet_announced(chain):
    pool = make_pool(chain)
    pool.add(tx(A, 0))
    pool.add(tx(A, 1))
    chain.set(A, nonce=1)
    assert pool.add(tx(A, 2)) == "pending"
    assert nonces(pool, "pending", A) == [1, 2] and pool.status() == {"pending": 2, "queued": 0}


def test_next_nonce(chain):
    chain.set(B, nonce=9)
    pool = make_pool(chain)
    assert pool.next_nonce(ADDRESSES[A]) == 0
    assert pool.next_nonce(ADDRESSES[B]) == 9
    for n in (0, 1, 3):
        pool.add(tx(A, n))
    assert pool.next_nonce(ADDRESSES[A]) == 2


def test_content_and_status(chain):
    pool = make_pool(chain)
    a0, a2, b0 = tx(A, 0), tx(A, 2), tx(B, 0)
    for ptx in (a0, a2, b0):
        pool.add(ptx)
    assert pool.content() == {
        "pending": {ADDRESSES[A]: {0: a0}, ADDRESSES[B]: {0: b0}},
        "queued": {ADDRESSES[A]: {2: a2}},
    }
    assert pool.status() == {"pending": 2, "queued": 1}


# ---- block selection -------------------------------------------------------------------------------


def test_select_orders_by_tip_across_senders_and_by_nonce_within(chain):
    pool = make_pool(chain)
    pool.add(tx(A, 0, tip=5))
    pool.add(tx(A, 1, tip=9))
    pool.add(tx(A, 3, tip=99))  # queued: never selected
    pool.add(tx(B, 0, tip=7))
    pool.add(tx(C, 0, tip=3))
    pool.add(tx(D, 0, tip=5))  # same tip as A's nonce 0 but later: after it
    assert order(pool.select(0)) == [(B, 0), (A, 0), (A, 1), (D, 0), (C, 0)]


def test_select_ranks_by_effective_tip_and_skips_senders_under_the_base_fee(chain):
    pool = make_pool(chain)
    pool.add(tx(A, 0, tip=8, fee=10))
    pool.add(tx(B, 0, tip=5, fee=100))
    pool.add(tx(C, 0, tip=50, fee=200))
    pool.add(tx(C, 1, tip=3, fee=3))  # cap below every base fee used here: C stops at it
    pool.add(tx(C, 2, tip=50, fee=200))
    assert order(pool.select(4)) == [(C, 0), (A, 0), (B, 0)]  # A earns min(8, 10 - 4) = 6
    assert order(pool.select(6)) == [(C, 0), (B, 0), (A, 0)]  # A earns 4
    assert order(pool.select(11)) == [(C, 0), (B, 0)]  # A's cap of 10 is below the base fee


def test_pop_sender_skips_the_rest_of_that_sender(chain):
    pool = make_pool(chain)
    for n in range(3):
        pool.add(tx(A, n, tip=9))
    pool.add(tx(B, 0, tip=1))
    pool.add(tx(B, 1, tip=1))
    selection = pool.select(0)
    seen = []
    for ptx in selection:
        seen.append((ADDRESSES.index(ptx.sender), ptx.nonce))
        if ptx.sender == ADDRESSES[A] and ptx.nonce == 1:
            selection.pop_sender()
    assert seen == [(A, 0), (A, 1), (B, 0), (B, 1)]


def test_peek_shift_and_pop_sender(chain):
    pool = make_pool(chain)
    pool.add(tx(A, 0, tip=9))
    pool.add(tx(A, 1, tip=9))
    pool.add(tx(B, 0, tip=5))
    selection = pool.select(0)
    assert (selection.peek().sender, selection.peek().nonce) == (ADDRESSES[A], 0)
    selection.shift()
    assert selection.peek().nonce == 1
    selection.pop_sender()
    assert selection.peek().sender == ADDRESSES[B]
    selection.shift()
    assert selection.peek() is None
    selection.pop_sender()  # harmless when empty
    assert list(selection) == []


def test_priority_senders_come_first(chain):
    pool = make_pool(chain)
    pool.add(tx(A, 0, tip=50))
    pool.add(tx(B, 0, tip=1))
    pool.add(tx(B, 1, tip=1))
    pool.add(tx(C, 0, tip=2))
    pool.add(tx(D, 0, tip=30))
    got = order(pool.select(0, priority_senders=frozenset({ADDRESSES[B], ADDRESSES[C]})))
    assert got == [(C, 0), (B, 0), (B, 1), (A, 0), (D, 0)]


def test_selection_is_a_snapshot(chain):
    pool = make_pool(chain)
    first = tx(A, 0)
    pool.add(first)
    selection = pool.select(0)
    pool.remove([first.hash])
    pool.add(tx(B, 0))
    assert list(selection) == [first]


# ---- property test -------------------------------------------------------------------------------

PRICES = [(10, 100), (11, 110), (50, 200)]  # (tip, fee cap): the second is exactly a 10% bump of the first
BALANCES = [0, GAS * 150, RICH, RICH]
SENDERS = (A, B, C)

add_operation = st.tuples(st.just("add"), st.sampled_from(SENDERS), st.integers(-2, 5), st.integers(0, 2))
operation = st.one_of(
    # add: nonce = the sender's next nonce + an offset, so most adds land near the interesting edge; adds are
    # listed three times so the pool often fills up and evicts
    add_operation,
    add_operation,
    add_operation,
    st.tuples(st.just("remove"), st.sampled_from(SENDERS), st.integers(0, 7)),
    st.tuples(st.just("head"), st.sampled_from(SENDERS), st.integers(1, 3)),
    st.tuples(st.just("balance"), st.sampled_from(SENDERS), st.sampled_from(BALANCES)),
)


def check_invariants(pool: TxPool, chain: Chain, config: TxPoolConfig) -> None:
    content = pool.content()
    pending_total = queued_total = 0
    for sender in SENDERS:
        address = ADDRESSES[sender]
        state_nonce, balance = chain.read(address)
        pending = content["pending"].get(address, {})
        queued = content["queued"].get(address, {})
        assert list(pending) == list(range(state_nonce, state_nonce + len(pending)))
        assert all(n > state_nonce + len(pending) for n in queued)
        assert len(pending) + len(queued) <= config.max_per_sender
        assert pool.next_nonce(address) == state_nonce + len(pending)
        for nonce, ptx in {**pending, **queued}.items():
            assert ptx.nonce == nonce and ptx.sender == address and pool.get(ptx.hash) is ptx
            assert ptx.max_cost() <= balance
        pending_total += len(pending)
        queued_total += len(queued)
    assert pool.status() == {"pending": pending_total, "queued": queued_total}
    assert len(pool) == pending_total + queued_total <= config.max_pool_size
    selected = list(pool.select(0))
    assert len(selected) == pending_total
    for sender in SENDERS:
        own = [ptx.nonce for ptx in selected if ptx.sender == ADDRESSES[sender]]
        assert own == sorted(own)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            TxPoolConfig(max_pool_size=6, max_per_sender=4, max_nonce_gap=3),
            TxPoolConfig(max_pool_size=3, max_per_sender=3, max_nonce_gap=2),  # full most of the time
        ]
    ),
    st.lists(operation, min_size=15, max_size=50),
)
def test_random_operations_keep_the_invariants(config, operations):
    chain = Chain()
    pool = TxPool(config, chain.read)
    for op in operations:
        kind, sender = op[0], op[1]
        address = ADDRESSES[sender]
        if kind == "add":
            tip, fee = PRICES[op[3]]
            try:
                pool.add(tx(sender, max(0, pool.next_nonce(address) + op[2]), tip=tip, fee=fee))
            except InvalidTransaction:
                pass
        elif kind == "remove":
            target = {**pool.content()["pending"].get(address, {}), **pool.content()["queued"].get(address, {})}
            if op[2] in target:
                pool.remove([target[op[2]].hash])
        elif kind == "head":
            state_nonce, _ = chain.read(address)
            included = [ptx for n, ptx in pool.content()["pending"].get(address, {}).items() if n < state_nonce + op[2]]
            chain.set(sender, nonce=state_nonce + op[2])
            pool.on_new_head(included, touched=[address])
        else:
            chain.set(sender, balance=op[2])
            pool.on_new_head([], touched=[address])
        check_invariants(pool, chain, config)
