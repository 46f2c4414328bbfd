"""RLP codecs for what the store keeps: block bodies, receipts and per-block state diffs."""

from __future__ import annotations

import rlp

from linen.chain.types import BlockTransaction, Receipt
from linen.primitives.diffs import AccountDiff, Log, StateDiff


def _int(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _u(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def encode_body(transactions: tuple[BlockTransaction, ...]) -> bytes:
    return rlp.encode([[tx.raw, tx.sender, tx.hash] for tx in transactions])


def decode_body(data: bytes) -> tuple[BlockTransaction, ...]:
    return tuple(BlockTransaction(bytes(raw), bytes(sender), bytes(h)) for raw, sender, h in rlp.decode(data))


def encode_receipts(receipts: tuple[Receipt, ...]) -> bytes:
    return rlp.encode(
        [
            [
                _u(r.tx_type),
                _u(r.status),
                _u(r.cumulative_gas_used),
                _u(r.gas_used),
                _u(r.effective_gas_price),
                r.contract_address or b"",
                [[log.address, list(log.topics), log.data] for log in r.logs],
            ]
            for r in receipts
        ]
    )


def decode_receipts(data: bytes) -> tuple[Receipt, ...]:
    out = []
    for tx_type, status, cumulative, used, price, created, logs in rlp.decode(data):
        out.append(
            Receipt(
                tx_type=_int(tx_type),
                status=_int(status),
                cumulative_gas_used=_int(cumulative),
                gas_used=_int(used),
                effective_gas_price=_int(price),
                contract_address=bytes(created) or None,
                logs=tuple(Log(bytes(a), tuple(bytes(t) for t in topics), bytes(d)) for a, topics, d in logs),
            )
        )
    return tuple(out)


def encode_state_diff(diff: StateDiff) -> bytes:
    """The trielog of a block: every touched account field and slot with prior and new values."""
    items = []
    for address in sorted(diff):
        a = diff[address]
        items.append(
            [
                address,
                _u(int(a.existed_before)),
                _u(int(a.exists_after)),
                [_u(a.nonce[0]), _u(a.nonce[1])],
                [_u(a.balance[0]), _u(a.balance[1])],
                [a.code_hash[0], a.code_hash[1]],
                _u(int(a.storage_wiped)),
                [[_u(slot), _u(prior), _u(new)] for slot, (prior, new) in sorted(a.storage.items())],
            ]
        )
    return rlp.encode(items)


def decode_state_diff(data: bytes) -> StateDiff:
    diff: StateDiff = {}
    for address, before, after, nonce, balance, code_hash, wiped, storage in rlp.decode(data):
        diff[bytes(address)] = AccountDiff(
            existed_before=bool(_int(before)),
            exists_after=bool(_int(after)),
            nonce=(_int(nonce[0]), _int(nonce[1])),
            balance=(_int(balance[0]), _int(balance[1])),
            code_hash=(bytes(code_hash[0]), bytes(code_hash[1])),
            storage={_int(s): (_int(p), _int(n)) for s, p, n in storage},
            storage_wiped=bool(_int(wiped)),
        )
    return diff
