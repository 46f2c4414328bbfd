"""Witnesses of circuits/segment: plain transfers applied to a Poseidon2 state tree, as the circuit reads them.

`SegmentBuilder` holds a `SparseMerkleTree` at a block's parent state (the prover's copy, rebuilt
from the state manager's traces, or a test's own tree), applies the block's transfers K at a time
exactly as the EVM does (sender: nonce + 1, value and 21000·(baseFee + tip) debited; recipient:
value credited, created if new; coinbase: the segment's tips, once at its end) and records every
leaf opening and path as the circuit consumes them. Each segment comes out as its public statement
(`Range`, the 19 fields of circuits/linen_range) and the Noir input map for `noir_circuit.mjs
execute`. The tree then holds the state after the segment, so the next segment continues from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from eth_hash.auto import keccak
from eth_keys import keys

from linen.errors import InvalidInput
from linen.execution.transactions import DYNAMIC_FEE, LEGACY, PooledTransaction
from linen.protocol.provable import why_not_provable_fields
from linen.state.encoding import (
    EMPTY_KECCAK_CODE_HASH,
    AccountValue,
    account_hkey,
    account_hval,
    code_hash,
    pad32,
    safe_words,
    u256,
)
from linen.state.hashers import Hasher
from linen.state.model import LeafOpening
from linen.state.tree import SparseMerkleTree, empty_root

TRANSFER_GAS = 21_000
RANGE_FIELDS = 19


class NotProvableTransfer(InvalidInput):
    """A transaction outside what circuits/segment proves."""


@dataclass(frozen=True)
class BlockContext:
    number: int
    timestamp: int
    base_fee: int
    coinbase: bytes
    tx_count: int


@dataclass(frozen=True)
class Range:
    """The public statement of a segment or a merge (circuits/linen_range's layout)."""

    parent_root: int
    final_root: int
    tx_hash_start: int
    tx_hash_end: int
    chain_id: int
    first: tuple[int, int, int, int, int, int]  # block_number, timestamp, base_fee, coinbase, tx_count, tx_index
    last: tuple[int, int, int, int, int, int]  # the same; tx_index is the end of the range (exclusive)
    segment_vk_hash: int = 0
    merge_vk_hash: int = 0

    def fields(self) -> list[int]:
        return [self.parent_root, self.final_root, self.tx_hash_start, self.tx_hash_end, self.chain_id,
                *self.first, *self.last, self.segment_vk_hash, self.merge_vk_hash]

    @classmethod
    def from_fields(cls, f: Sequence[int]) -> Range:
        if len(f) != RANGE_FIELDS:
            raise InvalidInput(f"a range statement is {RANGE_FIELDS} fields, got {len(f)}")
        f = [int(x) for x in f]
        return cls(f[0], f[1], f[2], f[3], f[4], tuple(f[5:11]), tuple(f[11:17]), f[17], f[18])


def join(left: Range, right: Range) -> Range:
    """The merge rule (circuits/linen_range `assert_adjacent`, `join`); NotAdjacent-style InvalidInput otherwise."""
    if left.final_root != right.parent_root or left.chain_id != right.chain_id:
        raise InvalidInput("merge: the ranges do not chain (root or chain id)")
    a, b = left.last, right.first
    restart = a[0] != b[0] and right.tx_hash_start == 0  # a batch's running hash starts from 0
    if left.tx_hash_end != right.tx_hash_start and not restart:
        raise InvalidInput("merge: the transaction hashes do not chain")
    if a[0] == b[0]:
        if a[:5] != b[:5] or b[5] != a[5]:
            raise InvalidInput(f"merge: block {a[0]}: the right range does not start where the left ends")
    elif b[0] != a[0] + 1 or a[5] != a[4] or b[5] != 0:
        raise InvalidInput(f"merge: block {b[0]} does not start after the end of block {a[0]}")
    return replace(left, final_root=right.final_root, tx_hash_end=right.tx_hash_end, last=right.last,
                   segment_vk_hash=left.segment_vk_hash, merge_vk_hash=left.merge_vk_hash)


def _int(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _hexf(value: int | bytes) -> str:
    return hex(value if isinstance(value, int) else _int(value))


def _account_json(a: AccountValue) -> dict:
    low, high = safe_words(a.keccak_code_hash)
    return {"nonce": hex(a.nonce), "balance": hex(a.balance), "storage_root": _hexf(a.storage_root),
            "code_hash": _hexf(a.code_hash), "keccak_lo": _hexf(low), "keccak_hi": _hexf(high),
            "code_size": hex(a.code_size)}


def _leaf_json(leaf: LeafOpening | None) -> dict:
    if leaf is None:
        return {"prev": "0x0", "next": "0x0", "hkey": "0x0", "hval": "0x0"}
    return {"prev": hex(leaf.prev), "next": hex(leaf.next), "hkey": _hexf(leaf.hkey), "hval": _hexf(leaf.hval)}


def _opened(index: int, siblings: Sequence[bytes], leaf: LeafOpening | None) -> dict:
    return {"index": str(index), "siblings": [_hexf(s) for s in siblings], "leaf": _leaf_json(leaf)}


def _bytes_json(data: bytes) -> list[str]:
    return [str(b) for b in data]


def signing_payload(tx: PooledTransaction, chain_id: int) -> bytes:
    """The bytes the sender signed, rebuilt from the fields the circuit holds."""
    import rlp

    raw = tx.tx
    if tx.type == LEGACY:
        return rlp.encode([tx.nonce, tx.max_fee_per_gas, tx.gas, raw.to, tx.value, b"", chain_id, 0, 0])
    head = [chain_id, tx.nonce]
    if tx.type == DYNAMIC_FEE:
        head.append(tx.max_priority_fee_per_gas)
    return bytes([tx.type]) + rlp.encode([*head, tx.max_fee_per_gas, tx.gas, raw.to, tx.value, b"", []])


def _signature(tx: PooledTransaction, chain_id: int) -> tuple[int, int, int, bytes]:
    raw = tx.tx
    y_parity = raw.y_parity if tx.type != LEGACY else raw.v - 35 - 2 * chain_id
    signature = keys.Signature(vrs=(y_parity, raw.r, raw.s))
    public_key = signature.recover_public_key_from_msg_hash(keccak(signing_payload(tx, chain_id)))
    if public_key.to_canonical_address() != tx.sender:
        raise NotProvableTransfer(f"transaction 0x{tx.hash.hex()}: the rebuilt payload does not recover its sender")
    return y_parity, raw.r, raw.s, public_key.to_bytes()


def tx_digest(hasher: Hasher, tx: PooledTransaction, chain_id: int) -> bytes:
    """Poseidon2 of the signed transaction's fields (circuits/segment `tx_digest`)."""
    y_parity, r, s, _ = _signature(tx, chain_id)
    rb, sb = r.to_bytes(32, "big"), s.to_bytes(32, "big")
    words = [tx.type, chain_id, 0, tx.nonce, 0, tx.max_priority_fee_per_gas, 0, tx.max_fee_per_gas, 0, tx.gas, 0,
             tx.value, 0, _int(rb[16:]), _int(rb[:16]), _int(sb[16:]), _int(sb[:16]), _int(tx.tx.to), y_parity]
    return hasher.hash([u256(w) for w in words])


class SegmentBuilder:
    """Applies a block's transfers to `tree` segment by segment and records the circuit's witnesses."""

    def __init__(self, tree: SparseMerkleTree, chain_id: int, k: int) -> None:
        self.tree = tree
        self.hasher = tree.hasher
        self.chain_id = chain_id
        self.k = k
        self._empty_storage = empty_root(self.hasher.name)
        self._empty_code = code_hash(self.hasher, b"")
        # key -> leaf index for the block's new accounts, as the state manager placed them (it inserts
        # in key-hash order, the transfers create them in transaction order); empty: the next free slot
        self.insert_positions: dict[bytes, int] = {}

    def _insert(self, address: bytes, value: bytes):  # type: ignore[no-untyped-def]
        at = self.insert_positions.get(address)
        if at is None:
            return self.tree.put(address, value)
        count = self.tree.next_free_node
        self.tree.store.set_next_free_node(at)
        trace = self.tree.put(address, value)
        self.tree.store.set_next_free_node(count + 1)
        return trace

    def _account(self, address: bytes) -> AccountValue | None:
        value = self.tree.get(address)
        return AccountValue.decode(value) if value is not None else None

    def _fresh(self, balance: int) -> AccountValue:
        return AccountValue(0, balance, self._empty_storage, self._empty_code, EMPTY_KECCAK_CODE_HASH, 0)

    def _credit(self, address: bytes, amount: int) -> dict:
        """Credit `amount`, returning the circuit's `Access` (the tree is written unless nothing changes)."""
        before = self._account(address)
        if before is not None:
            trace = self.tree.read(address)
            leaf, index, siblings = trace.leaf, trace.proof.leaf_index, trace.proof.siblings
            if amount:
                self.tree.put(address, replace(before, balance=before.balance + amount).encode())
            dummy = _opened(index, siblings, leaf)
            return {"exists": True, "account": _account_json(before), "paths": [dummy, dummy, dummy]}
        zero = self._fresh(0)
        if amount == 0:
            rz = self.tree.read(address)
            left = _opened(rz.left_proof.leaf_index, rz.left_proof.siblings, rz.left_leaf)
            right = _opened(rz.right_proof.leaf_index, rz.right_proof.siblings, rz.right_leaf)
            return {"exists": False, "account": _account_json(zero), "paths": [left, left, right]}
        ins = self._insert(address, self._fresh(amount).encode())
        left = _opened(ins.left_proof.leaf_index, ins.left_proof.siblings, ins.prior_left_leaf)
        new = _opened(ins.new_proof.leaf_index, ins.new_proof.siblings, None)
        right = _opened(ins.right_proof.leaf_index, ins.right_proof.siblings, ins.prior_right_leaf)
        return {"exists": False, "account": _account_json(zero), "paths": [left, new, right]}

    def segment(self, block: BlockContext, txs: Sequence[PooledTransaction], first_index: int,
                tx_hash_start: int, vk_hashes: tuple[int, int] = (0, 0)) -> tuple[Range, dict]:
        """Apply `txs` (1..K consecutive transfers of `block` from `first_index`): the statement and the inputs."""
        if not 1 <= len(txs) <= self.k:
            raise InvalidInput(f"a segment holds 1 to {self.k} transfers, got {len(txs)}")
        parent_root = _int(self.tree.root)
        next_free, sub_root = self.tree.next_free_node, self.tree.sub_root
        running = tx_hash_start.to_bytes(32, "big")
        tips = 0
        transfers = []
        for tx in txs:
            reason = why_not_provable_fields(tx, self.chain_id)
            if reason:
                raise NotProvableTransfer(f"transaction 0x{tx.hash.hex()}: {reason}")
            to = tx.tx.to
            if len({tx.sender, to, block.coinbase}) != 3:
                raise NotProvableTransfer(f"transaction 0x{tx.hash.hex()}: sender, recipient and coinbase must differ")
            y_parity, r, s, public_key = _signature(tx, self.chain_id)
            tip = min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - block.base_fee)
            sender = self._account(tx.sender)
            if sender is None:
                raise NotProvableTransfer(f"transaction 0x{tx.hash.hex()}: the sender has no account")
            read = self.tree.read(tx.sender)
            opened = _opened(read.proof.leaf_index, read.proof.siblings, read.leaf)
            debit = tx.value + TRANSFER_GAS * (block.base_fee + tip)
            self.tree.put(tx.sender, replace(sender, nonce=sender.nonce + 1, balance=sender.balance - debit).encode())
            recipient = self._credit(to, tx.value)
            tips += TRANSFER_GAS * tip
            running = self.hasher.hash([running, tx_digest(self.hasher, tx, self.chain_id)])
            transfers.append({
                "tx_type": str(tx.type), "nonce": str(tx.nonce), "max_priority_fee": str(tx.max_priority_fee_per_gas),
                "max_fee": str(tx.max_fee_per_gas), "gas_limit": str(tx.gas), "to": _bytes_json(to),
                "value": str(tx.value), "y_parity": str(y_parity), "r": _bytes_json(r.to_bytes(32, "big")),
                "s": _bytes_json(s.to_bytes(32, "big")), "pub_x": _bytes_json(public_key[:32]),
                "pub_y": _bytes_json(public_key[32:]), "sender": opened, "sender_account": _account_json(sender),
                "recipient": recipient,
            })
        # no tips: the circuit does not open the coinbase (any Access fills the input)
        coinbase = self._credit(block.coinbase, tips) if tips else transfers[0]["recipient"]
        edge = (block.number, block.timestamp, block.base_fee, _int(block.coinbase), block.tx_count)
        statement = Range(parent_root, _int(self.tree.root), tx_hash_start, _int(running), self.chain_id,
                          (*edge, first_index), (*edge, first_index + len(txs)), *vk_hashes)
        while len(transfers) < self.k:
            transfers.append(transfers[0])  # inactive padding: the circuit skips index >= count
        inputs = {
            "public": [hex(f) for f in statement.fields()],
            "count": str(len(txs)),
            "next_free_start": hex(next_free),
            "sub_root_start": _hexf(sub_root),
            "transfers": transfers,
            "coinbase": coinbase,
        }
        return statement, inputs


def account_key_hash(hasher: Hasher, address: bytes) -> int:
    return _int(account_hkey(hasher, address))


def leaf_value_hash(hasher: Hasher, account: AccountValue) -> int:
    return _int(account_hval(hasher, account))


__all__ = ["BlockContext", "NotProvableTransfer", "Range", "SegmentBuilder", "join", "pad32"]
