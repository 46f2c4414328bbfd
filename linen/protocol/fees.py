"""EIP-1559 base fee arithmetic (pure), with Linea's floor.

Linea keeps its base fee at a 7 wei floor; the update rule is Ethereum's (target = limit / 2,
change bounded by 1/8 per block), clamped from below by `min_base_fee`.
"""

ELASTICITY_MULTIPLIER = 2
BASE_FEE_MAX_CHANGE_DENOMINATOR = 8


def next_base_fee(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int, min_base_fee: int = 0) -> int:
    """Base fee of the child block, as in the London spec, never below `min_base_fee`."""
    target = parent_gas_limit // ELASTICITY_MULTIPLIER
    if parent_gas_used == target or target == 0:
        fee = parent_base_fee
    elif parent_gas_used > target:
        delta = max(parent_base_fee * (parent_gas_used - target) // target // BASE_FEE_MAX_CHANGE_DENOMINATOR, 1)
        fee = parent_base_fee + delta
    else:
        delta = parent_base_fee * (target - parent_gas_used) // target // BASE_FEE_MAX_CHANGE_DENOMINATOR
        fee = parent_base_fee - delta
    return max(fee, min_base_fee)
