"""Retention, as Linea runs its prover folders: finished request files and responses older than
`[prover] retention` are removed, never one an unfinalized aggregation may still need.

What an unfinalized aggregation needs is read from L1: a file is removed only when its block range
ends at or below the rollup's `currentL2BlockNumber()` (every aggregation over those blocks is
final, so no aggregation request will name it again) and it was last written more than `retention`
seconds ago. Pending requests (`requests/`) are never touched. Without an L1 to ask (`[prover]
l1-rpc` and `rollup`), nothing is removed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from eth_hash.auto import keccak

from linen.errors import OperationalError
from linen.prover.files import KindFolders
from linen.rpc.client import RpcClient

log = logging.getLogger(__name__)

RANGE = re.compile(r"^(\d+)-(\d+)-")  # every request and response name starts with its block range
CURRENT_L2_BLOCK_NUMBER = "0x" + keccak(b"currentL2BlockNumber()")[:4].hex()


def sweep(folders: Iterable[KindFolders], retention_s: float, finalized_block: int,
          now: float | None = None) -> list[Path]:
    """Remove what is finalized and older than `retention_s`; the paths removed."""
    now = time.time() if now is None else now
    removed = []
    for kind in folders:
        for directory in (kind.done, kind.responses):
            for path in sorted(directory.iterdir()):
                match = RANGE.match(path.name)
                if match is None or not path.is_file() or int(match.group(2)) > finalized_block:
                    continue
                try:
                    if now - path.stat().st_mtime < retention_s:
                        continue
                    path.unlink()
                except FileNotFoundError:  # another controller sharing the folders took it first
                    continue
                removed.append(path)
    if removed:
        log.info("retention: removed %d request and response files at or below finalized block %d, older "
                 "than %.0f s", len(removed), finalized_block, retention_s)
    return removed


def finalized_on_l1(l1_rpc: str, rollup: str) -> Callable[[], int]:
    """() -> the rollup's last finalized L2 block, read with an eth_call."""
    client = RpcClient(l1_rpc)

    def read() -> int:
        answer = client.call("eth_call", {"to": rollup, "data": CURRENT_L2_BLOCK_NUMBER}, "latest")
        try:
            return int(answer, 16)
        except (TypeError, ValueError):
            raise OperationalError(f"the rollup {rollup} answered currentL2BlockNumber() with {answer!r}") from None

    return read
