"""How a block's per-module line counts are stored: RLP of a format version and the counts in module order.

The module order is `ALL_MODULES`; a stored record with another module count is refused rather
than misread, so a change of the module list must bump `COUNTS_FORMAT`.
"""

from __future__ import annotations

from collections.abc import Mapping

import rlp

from linen.execution.tracer.modules import ALL_MODULES, FIXED_TABLE_SIZES

COUNTS_FORMAT = 1


def encode_counts(counts: dict[str, int]) -> bytes:
    return rlp.encode([COUNTS_FORMAT, [counts[m] for m in ALL_MODULES]])


def decode_counts(data: bytes) -> dict[str, int]:
    version, values = rlp.decode(data)
    if int.from_bytes(version, "big") != COUNTS_FORMAT or len(values) != len(ALL_MODULES):
        raise ValueError(f"trace counts record of format {int.from_bytes(version, 'big')} cannot be read")
    return {m: int.from_bytes(v, "big") for m, v in zip(ALL_MODULES, values, strict=True)}


def add_counts(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {m: total.get(m, 0) + more.get(m, 0) for m in ALL_MODULES}


def conflate_counts(total: Mapping[str, int], block: Mapping[str, int]) -> dict[str, int]:
    """Counts of blocks proven together: lines add up, but a fixed reference table is in the trace once.

    Every block reports each fixed table at its full size (`FIXED_TABLE_SIZES`); summing those would
    make any two blocks overflow a limit that is only just above the table.
    """
    out = dict(total)
    for module, count in block.items():
        out[module] = max(out.get(module, 0), count) if module in FIXED_TABLE_SIZES else out.get(module, 0) + count
    return out
