"""Fee suggestions: eth_gasPrice, eth_maxPriorityFeePerGas, eth_feeHistory, eth_blobBaseFee.

Wallets build their fee fields from these, so two rules matter more than precision: the suggestion
must clear the sequencer's minimum gas price (`backend.min_gas_price`, compared by the pool with the
fee cap), and the shapes must be geth's. The tip suggestion is geth's oracle: the 60th percentile of
the 3 lowest effective tips of each of the last 20 blocks.
"""

from __future__ import annotations

from typing import Any

from linen.chain.genesis import DEFAULT_BASE_FEE
from linen.chain.types import BlockHeader
from linen.protocol.fees import next_base_fee
from linen.rpc.backend import RpcBackend
from linen.rpc.errors import InvalidParams
from linen.rpc.format import q
from linen.rpc.params import expect, resolve_block_number, show

DEFAULT_TIP = 1_000_000  # 0.001 gwei, geth's default: suggested when recent blocks hold no sample
ORACLE_BLOCKS = 20
ORACLE_SAMPLES_PER_BLOCK = 3
ORACLE_PERCENTILE = 60
IGNORE_TIP_BELOW = 2  # wei; geth ignores dust tips, which would drag the suggestion to zero
MAX_TIP = 500 * 10**9
MAX_PERCENTILES = 100

# Prague blob parameters (EIP-4844 / EIP-7691): an L2 block carries no blobs, but the fields exist.
MIN_BASE_FEE_PER_BLOB_GAS = 1
BLOB_BASE_FEE_UPDATE_FRACTION = 5_007_716
TARGET_BLOB_GAS_PER_BLOCK = 786_432
MAX_BLOB_GAS_PER_BLOCK = 1_179_648

_tip_cache: dict[bytes, int] = {}  # head hash -> suggested tip


def _block_tips(backend: RpcBackend, header: BlockHeader) -> list[tuple[int, int]]:
    """(effective tip, gas used) of each transaction of a block."""
    base_fee = header.base_fee_per_gas
    return [(r.effective_gas_price - base_fee, r.gas_used) for r in backend.store.receipts(bytes(header.hash))]


def suggested_tip(backend: RpcBackend) -> int:
    """geth's gas price oracle tip, raised so that `2 * base fee + tip` clears the minimum gas price."""
    head = backend.store.head()
    head_hash = bytes(head.hash)
    tip = _tip_cache.get(head_hash)
    if tip is None:
        samples: list[int] = []
        for number in range(head.block_number, max(-1, head.block_number - ORACLE_BLOCKS), -1):
            header = head if number == head.block_number else backend.store.header_by_number(number)
            if header is None:
                break
            tips = sorted(t for t, _ in _block_tips(backend, header) if t >= IGNORE_TIP_BELOW)
            samples.extend(tips[:ORACLE_SAMPLES_PER_BLOCK])
        samples.sort()
        tip = min(samples[(len(samples) - 1) * ORACLE_PERCENTILE // 100], MAX_TIP) if samples else DEFAULT_TIP
        if len(_tip_cache) > 16:
            _tip_cache.clear()
        _tip_cache[head_hash] = tip
    return max(tip, backend.min_gas_price - head.base_fee_per_gas)


def eth_gas_price(backend: RpcBackend, params: list) -> str:
    """Legacy price: head base fee plus the suggested tip, never below the sequencer's minimum."""
    expect(params, 0)
    base_fee = backend.store.head().base_fee_per_gas
    return q(max(base_fee + suggested_tip(backend), backend.min_gas_price))


def eth_max_priority_fee_per_gas(backend: RpcBackend, params: list) -> str:
    expect(params, 0)
    return q(suggested_tip(backend))


def _fake_exponential(factor: int, numerator: int, denominator: int) -> int:
    i, output, accumulator = 1, 0, factor * denominator
    while accumulator > 0:
        output += accumulator
        accumulator = accumulator * numerator // (denominator * i)
        i += 1
    return output // denominator


def blob_base_fee(excess_blob_gas: int) -> int:
    return _fake_exponential(MIN_BASE_FEE_PER_BLOB_GAS, excess_blob_gas, BLOB_BASE_FEE_UPDATE_FRACTION)


def eth_blob_base_fee(backend: RpcBackend, params: list) -> str:
    expect(params, 0)
    head = backend.store.head()
    return q(blob_base_fee(max(0, head.excess_blob_gas + head.blob_gas_used - TARGET_BLOB_GAS_PER_BLOCK)))


def _parse_block_count(value: object) -> int:
    """geth's HexOrDecimal64: a JSON number, a 0x-hex string or a decimal string."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.startswith(("0x", "0X")) and len(value) > 2 else int(value, 10)
        except ValueError:
            pass
    raise InvalidParams(f"blockCount: expected a hex or decimal block count, got {show(value)}")


def _parse_percentiles(value: object) -> list[float]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParams(f"rewardPercentiles: expected a list of numbers, got {show(value)}")
    if len(value) > MAX_PERCENTILES:
        raise InvalidParams(f"rewardPercentiles: at most {MAX_PERCENTILES} percentiles, got {len(value)}")
    out: list[float] = []
    for index, p in enumerate(value):
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
            raise InvalidParams(f"invalid reward percentile #{index}: {show(p)} is not a number in 0..100")
        if out and p < out[-1]:
            raise InvalidParams(f"invalid reward percentile: #{index - 1}:{out[-1]} > #{index}:{p}")
        out.append(float(p))
    return out


def block_rewards(backend: RpcBackend, header: BlockHeader, percentiles: list[float]) -> list[str]:
    """Tips at the given percentiles of the block's gas, weighting each tx by its gas used (geth)."""
    txs = sorted(_block_tips(backend, header))
    if not txs:
        return ["0x0"] * len(percentiles)
    rewards, index, cumulative = [], 0, txs[0][1]
    for p in percentiles:
        threshold = int(header.gas_used * p / 100)
        while cumulative < threshold and index < len(txs) - 1:
            index += 1
            cumulative += txs[index][1]
        rewards.append(q(max(txs[index][0], 0)))
    return rewards


def eth_fee_history(backend: RpcBackend, params: list) -> dict[str, Any]:
    count_value, newest_value, percentiles_value = expect(params, 2, 1)
    count = _parse_block_count(count_value)
    percentiles = _parse_percentiles(percentiles_value)
    store = backend.store
    head = store.head().block_number
    newest = resolve_block_number(backend, newest_value, "newestBlock")
    if newest > head:
        raise InvalidParams(f"request beyond head block: requested {newest}, head {head}")
    count = min(count, backend.limits.max_fee_history_blocks, newest + 1)
    if count == 0:
        return {
            "oldestBlock": "0x0",
            "baseFeePerGas": [],
            "gasUsedRatio": [],
            "baseFeePerBlobGas": [],
            "blobGasUsedRatio": [],
        }
    oldest = newest - count + 1
    headers = [store.header_by_number(n) for n in range(oldest, newest + 1)]
    if any(h is None for h in headers):
        raise InvalidParams(f"missing block header in range {oldest}..{newest}")
    last = headers[-1]
    following = store.header_by_number(newest + 1) if newest < head else None
    if following is not None:
        next_fee, next_excess = following.base_fee_per_gas, following.excess_blob_gas
    else:
        floor = getattr(backend, "min_base_fee", DEFAULT_BASE_FEE)  # optional: the producer's base fee floor
        next_fee = next_base_fee(last.base_fee_per_gas, last.gas_used, last.gas_limit, floor)
        next_excess = max(0, last.excess_blob_gas + last.blob_gas_used - TARGET_BLOB_GAS_PER_BLOCK)
    result: dict[str, Any] = {
        "oldestBlock": q(oldest),
        "baseFeePerGas": [q(h.base_fee_per_gas) for h in headers] + [q(next_fee)],
        "gasUsedRatio": [h.gas_used / h.gas_limit if h.gas_limit else 0.0 for h in headers],
        "baseFeePerBlobGas": [q(blob_base_fee(h.excess_blob_gas)) for h in headers] + [q(blob_base_fee(next_excess))],
        "blobGasUsedRatio": [h.blob_gas_used / MAX_BLOB_GAS_PER_BLOCK for h in headers],
    }
    if percentiles:
        result["reward"] = [block_rewards(backend, h, percentiles) for h in headers]
    return result


METHODS = {
    "eth_gasPrice": eth_gas_price,
    "eth_maxPriorityFeePerGas": eth_max_priority_fee_per_gas,
    "eth_feeHistory": eth_fee_history,
    "eth_blobBaseFee": eth_blob_base_fee,
}
