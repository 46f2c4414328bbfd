"""The provable class: which transactions the validity-proof circuits can prove (docs/zk-proofs.md).

A plain value transfer: type 0 (with EIP-155), 1 or 2; a 20-byte recipient and empty calldata (so
neither a creation nor a call); an empty access list; the integer widths circuits/segment takes
(chain id, nonce, gas and fee caps below 2^64, value below 2^128); sender, recipient and the block's
coinbase all different; a recipient with no code (EIP-7702 delegations included) that is not a
precompile or system address, so the EVM charges exactly 21,000 gas and runs nothing.

The rule is split in two halves because they need different things: `why_not_provable_fields` looks
at the signed transaction only (the pool's admission, the prover's batch check), and
`why_not_provable_recipient` needs the chain (the recipient's code, the coinbase). The sequencer with
`provable = "transfers"` applies both at submission and again at selection; the zk prover applies
the first and proves the second in-circuit (the recipient's leaf must show the empty code hash).
"""

from __future__ import annotations

from typing import Any, Protocol


class PooledTransaction(Protocol):
    """What the rule reads of a decoded transaction (linen.execution.transactions.PooledTransaction)."""

    tx: Any  # the py-evm transaction: to, data, access_list, v
    type: int
    sender: bytes
    nonce: int
    gas: int
    value: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

TX_NOT_PROVABLE = "TX_NOT_PROVABLE"
TRANSFER_GAS = 21_000
# Precompiles (0x01-0x11 in Prague) and the reserved range above them: a call there runs code or costs
# more than 21,000 gas, so no address below 0x100 is a transfer's recipient.
LOWEST_PLAIN_ADDRESS = 0x100
LEGACY = 0


def why_not_provable_fields(ptx: PooledTransaction, chain_id: int) -> str | None:
    """What in the signed transaction puts it outside the provable class (None: its fields fit)."""
    tx = ptx.tx
    if ptx.type not in (0, 1, 2):
        return f"a type-{ptx.type} transaction (only types 0, 1 and 2 are plain transfers)"
    if len(tx.to or b"") != 20:
        return "a contract creation"
    if tx.data:
        return "calldata (a plain transfer has none)"
    if ptx.type != LEGACY and tuple(tx.access_list):
        return "a non-empty access list"
    if ptx.type == LEGACY and tx.v in (27, 28):
        return "a legacy transaction without EIP-155 replay protection"
    if max(chain_id, ptx.nonce + 1, ptx.gas, ptx.max_fee_per_gas, ptx.max_priority_fee_per_gas) >= 2**64:
        return "chain id, nonce, gas or fee caps of 64 bits or more"
    if ptx.value >= 2**128:
        return "a value of 128 bits or more"
    if ptx.gas < TRANSFER_GAS:
        return f"a gas limit below {TRANSFER_GAS}"
    if bytes(tx.to) == ptx.sender:
        return "a transfer to its own sender"
    if int.from_bytes(bytes(tx.to), "big") < LOWEST_PLAIN_ADDRESS:
        return f"a recipient below 0x{LOWEST_PLAIN_ADDRESS:x} (precompiles and system addresses)"
    return None


def why_not_provable_recipient(ptx: PooledTransaction, coinbase: bytes, recipient_code: bytes) -> str | None:
    """What about the chain puts an otherwise plain transfer outside the class (None: it is provable)."""
    to = bytes(ptx.tx.to)
    if coinbase in (ptx.sender, to):
        return "the block's coinbase as sender or recipient"
    if recipient_code:
        return "a recipient with code (a contract or an EIP-7702 delegation)"
    return None
