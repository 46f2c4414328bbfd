"""Linea's profitability rule: a transaction's fee must pay for the L1 data it adds.

The sequencer posts every transaction, compressed, to L1, so a transaction is worth including only
if its priority fee covers `margin * (variable_cost * compressed_size / gas + fixed_cost)` per gas.
The same formula serves three places with three margins: the pool (gas = the gas limit), block
selection (gas = the gas used) and `linea_estimateGas` (the fee it suggests).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


@dataclass(frozen=True)
class ProfitabilityParams:
    """Fixed cost per gas and L1 data price per compressed byte, both in L2 wei."""

    fixed_cost_wei: int
    variable_cost_wei: int


def profitable_priority_fee_per_gas(compressed_bytes: int, gas: int, margin: float, params: ProfitabilityParams) -> int:
    """The smallest priority fee per gas at which the transaction pays its way (rounded down, like Linea)."""
    if gas <= 0:
        raise ValueError("gas must be positive")
    per_gas = Decimal(params.variable_cost_wei * compressed_bytes) / Decimal(gas) + params.fixed_cost_wei
    return int((Decimal(repr(margin)) * per_gas).to_integral_value(rounding=ROUND_FLOOR))
