"""Decoding and stateless validation of raw signed transactions.

Everything here runs before a transaction touches the pool, so it must turn every malformed input
into an `InvalidTransaction` with a message a person can act on. Sender recovery happens once, here,
and is cached on the `PooledTransaction` (recovery is the most expensive stateless step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import rlp
from eth.exceptions import PyEVMError
from eth.vm.forks.prague.transactions import SetCodeTransaction
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError

from linen.chain.types import TRANSACTION_BUILDER
from linen.errors import InvalidTransaction

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_TX_SIZE = 128 * 1024  # geth's txMaxSize: 4 slots of 32 KiB
MAX_INITCODE_SIZE = 2 * 24_576  # EIP-3860: twice the EIP-170 code size limit
MAX_RLP_DEPTH = 16  # a transaction nests 4 deep (tx, access list, entry, keys); nothing valid comes near 16

LEGACY, ACCESS_LIST, DYNAMIC_FEE, BLOB, SET_CODE = 0, 1, 2, 3, 4
SUPPORTED_TYPES = (LEGACY, ACCESS_LIST, DYNAMIC_FEE, SET_CODE)



@dataclass(eq=False)
class PooledTransaction:
    """A decoded, signature-checked transaction with the fields the pool and producer use often."""

    tx: Any  # py-evm SignedTransactionAPI
    raw: bytes
    hash: bytes
    sender: bytes
    type: int
    nonce: int
    gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    value: int
    arrival: int = field(default=0)  # monotonic arrival counter set by the pool

    @property
    def size(self) -> int:
        return len(self.raw)

    def effective_tip(self, base_fee: int) -> int:
        """Tip per gas the block producer earns at `base_fee` (negative if the fee cap is below it)."""
        return min(self.max_priority_fee_per_gas, self.max_fee_per_gas - base_fee)

    def max_cost(self) -> int:
        """Upper bound on what the sender pays: gas * fee cap + value (the balance check of geth)."""
        return self.gas * self.max_fee_per_gas + self.value


def decode_transaction(raw: bytes, chain_id: int, *, allow_unprotected: bool = False) -> PooledTransaction:
    """Decode a raw signed transaction (legacy RLP or typed envelope) and check it statelessly.

    Checks: size, RLP shape, supported type, chain id, signature (low-s, recoverable), intrinsic gas.
    A legacy transaction without a chain id (pre-EIP-155, v = 27/28) is refused unless `allow_unprotected`
    (geth's `--rpc.allow-unprotected-txs`, `[rpc] allow-unprotected-txs`): the RPC refuses them by default,
    but blocks may hold them, so block re-execution passes True.
    """
    if len(raw) > MAX_TX_SIZE:
        raise InvalidTransaction(f"oversized data: transaction of {len(raw)} bytes exceeds the {MAX_TX_SIZE}-byte limit")
    if not raw:
        raise InvalidTransaction("empty transaction: expected RLP or a typed transaction envelope")
    tx_type = raw[0] if raw[0] < 0x7F else LEGACY
    if tx_type not in SUPPORTED_TYPES:
        if tx_type == BLOB:
            raise InvalidTransaction("transaction type not supported: blob transactions (type 3) are not accepted on L2")
        raise InvalidTransaction(f"transaction type not supported: type {tx_type}")
    if not _nesting_within(raw[1:] if tx_type != LEGACY else raw, MAX_RLP_DEPTH):
        # pyrlp's decoder is quadratic in the nesting depth: 30,000 empty lists took 6 s and 1.4 GB
        raise InvalidTransaction(f"rlp: malformed transaction: lists nested deeper than {MAX_RLP_DEPTH}")
    try:
        tx = TRANSACTION_BUILDER.decode(raw)
    except (rlp.exceptions.RLPException, PyEVMError, ValidationError, ValueError, TypeError, IndexError) as exc:
        raise InvalidTransaction(f"rlp: malformed transaction: {_brief(exc)}") from None
    try:
        tx.validate()
    except (PyEVMError, ValidationError, ValueError, TypeError) as exc:
        raise InvalidTransaction(f"invalid transaction fields: {_brief(exc)}") from None
    _check_chain_id(tx, tx_type, chain_id, allow_unprotected)
    if tx.s == 0 or tx.r == 0 or tx.r >= SECP256K1_N:
        raise InvalidTransaction("invalid sender: signature r or s is out of range")
    if tx.s > SECP256K1_N // 2:
        raise InvalidTransaction("invalid sender: signature s is in the upper half of the curve order (high-s, EIP-2)")
    try:
        sender = tx.sender
    except (BadSignature, PyEVMError, ValidationError, ValueError) as exc:
        raise InvalidTransaction(f"invalid sender: the signature does not recover a public key ({_brief(exc)})") from None
    intrinsic = tx.intrinsic_gas
    if tx.gas < intrinsic:
        raise InvalidTransaction(f"intrinsic gas too low: gas limit {tx.gas} is below the {intrinsic} this transaction needs")
    if tx.to == b"" and len(tx.data) > MAX_INITCODE_SIZE:
        # EIP-3860: the EVM refuses such a creation outright, so it could never be included (geth's wording)
        raise InvalidTransaction(f"max initcode size exceeded: code size {len(tx.data)}, limit {MAX_INITCODE_SIZE}")
    if isinstance(tx, SetCodeTransaction) and not tx.authorization_list:
        raise InvalidTransaction("set-code transaction with an empty authorization list")
    if tx.to == b"" and tx_type == SET_CODE:
        raise InvalidTransaction("set-code transaction cannot create a contract")
    if tx_type in (LEGACY, ACCESS_LIST):
        max_fee = max_tip = tx.gas_price
    else:
        max_fee, max_tip = tx.max_fee_per_gas, tx.max_priority_fee_per_gas
        if max_tip > max_fee:
            raise InvalidTransaction("max priority fee per gas higher than max fee per gas")
    return PooledTransaction(
        tx=tx,
        raw=raw,
        hash=bytes(tx.hash),
        sender=bytes(sender),
        type=tx_type,
        nonce=tx.nonce,
        gas=tx.gas,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_tip,
        value=tx.value,
    )


def _nesting_within(data: bytes, limit: int) -> bool:
    """Whether no RLP list in `data` is nested deeper than `limit` (a linear scan of the prefixes, no decoding).

    Malformed lengths end the scan early; the decoder that runs next refuses them."""
    open_ends: list[int] = []  # where each open list ends
    at, size = 0, len(data)
    while at < size:
        while open_ends and at >= open_ends[-1]:
            open_ends.pop()
        prefix = data[at]
        if prefix < 0x80:
            at += 1
        elif prefix <= 0xB7:
            at += 1 + prefix - 0x80
        elif prefix <= 0xBF:
            width = prefix - 0xB7
            at += 1 + width + int.from_bytes(data[at + 1 : at + 1 + width], "big")
        else:
            if prefix <= 0xF7:
                header, length = 1, prefix - 0xC0
            else:
                width = prefix - 0xF7
                header, length = 1 + width, int.from_bytes(data[at + 1 : at + 1 + width], "big")
            open_ends.append(at + header + length)
            if len(open_ends) > limit:
                return False
            at += header
    return True


def _check_chain_id(tx: Any, tx_type: int, chain_id: int, allow_unprotected: bool = False) -> None:
    if tx_type == LEGACY:
        v = tx.v
        if v in (27, 28):
            if allow_unprotected:
                return
            raise InvalidTransaction("only replay-protected (EIP-155) transactions allowed over RPC: sign with a chain id")
        tx_chain = (v - 35) // 2
    else:
        tx_chain = tx.chain_id
    if tx_chain != chain_id:
        raise InvalidTransaction(f"invalid chain id for signer: transaction is for chain {tx_chain}, this chain is {chain_id}")


def _brief(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
