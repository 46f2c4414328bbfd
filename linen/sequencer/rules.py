"""Linea's sequencer rules that look at a transaction alone (before or without executing it).

They run twice: when a transaction is submitted, so its sender gets the error at once, and again
when the block producer picks it, because the base fee and the configuration may have moved since.
The rules that need the execution (trace line counts, the time budget, the block's compressed
size) live in `selection.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from linen.config import SequencerRules
from linen.errors import InvalidTransaction, TransactionRefused
from linen.execution.transactions import PooledTransaction
from linen.protocol.blob.sizes import compressed_size
from linen.protocol.profitability import profitable_priority_fee_per_gas
from linen.protocol.provable import TX_NOT_PROVABLE, why_not_provable_fields, why_not_provable_recipient

# Linea's selection-result names, used as the `reason` of every refusal.
DENIED_ADDRESS = "TX_DENIED_ADDRESS"
CALLDATA_TOO_BIG = "TX_CALLDATA_TOO_BIG"
GAS_LIMIT_TOO_BIG = "TX_GAS_LIMIT_TOO_BIG"
PRICE_BELOW_MIN = "TX_PRICE_BELOW_MIN"
UNPROFITABLE = "TX_UNPROFITABLE"
TX_MODULE_LINE_COUNT_OVERFLOW = "TX_MODULE_LINE_COUNT_OVERFLOW"
BLOCK_MODULE_LINE_COUNT_FULL = "BLOCK_MODULE_LINE_COUNT_FULL"
TX_EVALUATION_TOO_LONG = "TX_EVALUATION_TOO_LONG"
BLOCK_COMPRESSED_SIZE_OVERFLOW = "BLOCK_COMPRESSED_SIZE_OVERFLOW"
TX_UNEXECUTABLE = "TX_UNEXECUTABLE"  # the EVM raised while running it (never a normal failure): dropped for good


_NUMBERS = re.compile(r"0x[0-9a-fA-F]*|\d+")


def refusal_reason(exc: InvalidTransaction) -> str:
    """A short, bounded name for why a transaction was refused (a metric label): the rule's name, or the
    message's head before its details ("nonce too low", "already known"), numbers taken out."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    head = str(exc).split(":", 1)[0]
    return " ".join(_NUMBERS.sub("", head).split())[:48].lower() or type(exc).__name__


def paying_gas_price(ptx: PooledTransaction, base_fee: int) -> int:
    """What the transaction pays per gas at `base_fee` (its fee cap if that is lower)."""
    return min(ptx.max_fee_per_gas, base_fee + ptx.max_priority_fee_per_gas)


def check_static_rules(ptx: PooledTransaction, rules: SequencerRules) -> None:
    """Deny list, calldata size and gas limit: refusals that do not depend on the chain."""
    if ptx.sender in rules.deny_list:
        raise TransactionRefused(DENIED_ADDRESS, f"sender 0x{ptx.sender.hex()} is on the sequencer's deny list")
    to = ptx.tx.to
    if to and bytes(to) in rules.deny_list:
        raise TransactionRefused(DENIED_ADDRESS, f"recipient 0x{bytes(to).hex()} is on the sequencer's deny list")
    calldata = len(ptx.tx.data)
    if calldata > rules.max_tx_calldata_size:
        raise TransactionRefused(
            CALLDATA_TOO_BIG, f"calldata of {calldata} bytes is above the allowed maximum of {rules.max_tx_calldata_size}"
        )
    if ptx.gas > rules.max_tx_gas_limit:
        raise TransactionRefused(
            GAS_LIMIT_TOO_BIG, f"gas limit {ptx.gas} is above the allowed maximum of {rules.max_tx_gas_limit}"
        )


def check_provable(ptx: PooledTransaction, chain_id: int, coinbase: bytes, code_at: Callable[[bytes], bytes]) -> None:
    """TX_NOT_PROVABLE unless the transaction is a plain transfer the circuits prove (`code_at` reads
    the recipient's code on the chain the transaction would run on)."""
    reason = why_not_provable_fields(ptx, chain_id)
    if reason is None:
        reason = why_not_provable_recipient(ptx, coinbase, code_at(bytes(ptx.tx.to)))
    if reason is not None:
        raise TransactionRefused(
            TX_NOT_PROVABLE, f"not provable: this chain takes only plain value transfers (sequencer.provable = "
            f"\"transfers\"), and this is {reason}"
        )


def check_min_gas_price(ptx: PooledTransaction, rules: SequencerRules, base_fee: int) -> None:
    price = paying_gas_price(ptx, base_fee)
    if price < rules.min_gas_price:
        raise TransactionRefused(
            PRICE_BELOW_MIN,
            f"gas price too low: the transaction pays {price} wei per gas, the minimum mineable gas price is "
            f"{rules.min_gas_price} wei",
        )


def check_profitability(
    ptx: PooledTransaction, rules: SequencerRules, base_fee: int, gas: int, margin: float, size: int | None = None
) -> None:
    """Refuse a transaction whose fee does not cover its compressed L1 data (`size`, if known) at `margin`."""
    size = compressed_size(ptx.raw) if size is None else size
    needed_tip = profitable_priority_fee_per_gas(size, gas, margin, rules.profitability)
    price = paying_gas_price(ptx, base_fee)
    if price < base_fee + needed_tip:
        raise TransactionRefused(
            UNPROFITABLE,
            f"transaction unprofitable: it pays {price} wei per gas but its {size} compressed bytes of L1 data need "
            f"at least {base_fee + needed_tip} (base fee {base_fee} + {needed_tip}); raise the priority fee",
        )


def check_submission(ptx: PooledTransaction, rules: SequencerRules, base_fee: int) -> None:
    """Every rule a transaction can be judged by when it arrives (the pool's margin, its gas limit)."""
    check_static_rules(ptx, rules)
    check_min_gas_price(ptx, rules, base_fee)
    check_profitability(ptx, rules, base_fee, ptx.gas, rules.tx_pool_min_margin)
