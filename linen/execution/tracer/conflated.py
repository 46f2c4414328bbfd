"""Conflated trace files: `{start}-{end}.conflated.v{version}.lt`, the tracer's output for one batch.

A file holds, for a range of blocks, everything a stateless re-execution of the range needs except
the state proofs (which the state manager supplies): the blocks (headers and signed transactions
with their senders), the parent header, the 256 ancestor hashes BLOCKHASH may ask for, the bytecode
of every contract touched, and the per-module line counts of every block. The layout is specified
in docs/conflated-traces.md; `TRACES_ENGINE_VERSION` names it and the counting rules together.

Layout: the 8-byte magic `LINENLT1`, then a gzip stream of one RLP list (see `encode`).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import rlp
from eth_utils import keccak

from linen.chain.store import ChainStore
from linen.chain.types import BlockHeader
from linen.execution.tracer.counts import conflate_counts, decode_counts
from linen.execution.tracer.modules import ALL_MODULES

TRACES_ENGINE_VERSION = "1.0.0"
MAGIC = b"LINENLT1"
ANCESTOR_WINDOW = 256
EMPTY_CODE_HASH = keccak(b"")


class TracesUnavailable(LookupError):
    """A block of the range is missing or was sealed without tracing."""


@dataclass(frozen=True)
class ConflatedBlock:
    header: BlockHeader
    transactions: tuple[bytes, ...]  # signed envelopes, as in eth_sendRawTransaction
    senders: tuple[bytes, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class ConflatedTraces:
    chain_id: int
    version: str
    start: int
    end: int
    parent_header: BlockHeader
    ancestor_hashes: tuple[bytes, ...]  # hashes of blocks start-256 .. start-1 (fewer near genesis), oldest first
    blocks: tuple[ConflatedBlock, ...]
    codes: dict[bytes, bytes]  # keccak(code) -> code, every contract the range touched

    @property
    def total_counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for block in self.blocks:
            total = conflate_counts(total, block.counts)
        return {m: total.get(m, 0) for m in ALL_MODULES}


def file_name(start: int, end: int, version: str = TRACES_ENGINE_VERSION) -> str:
    return f"{start}-{end}.conflated.v{version}.lt"


def encode(traces: ConflatedTraces) -> bytes:
    body = [
        traces.version.encode(),
        traces.chain_id,
        traces.start,
        traces.end,
        [m.encode() for m in ALL_MODULES],
        rlp.encode(traces.parent_header),
        list(traces.ancestor_hashes),
        [
            [rlp.encode(b.header), list(b.transactions), list(b.senders), [b.counts[m] for m in ALL_MODULES]]
            for b in traces.blocks
        ],
        [traces.codes[h] for h in sorted(traces.codes)],
    ]
    return MAGIC + gzip.compress(rlp.encode(body), compresslevel=6, mtime=0)


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def decode(data: bytes) -> ConflatedTraces:
    """Read a conflated trace file; ValueError on anything but a well-formed file of this format."""
    if not data.startswith(MAGIC):
        raise ValueError("not a Linen conflated trace file (bad magic)")
    try:
        fields = rlp.decode(gzip.decompress(data[len(MAGIC) :]))
        version, chain_id, start, end, modules, parent, ancestors, blocks, codes = fields
    except (OSError, EOFError, rlp.exceptions.DecodingError, ValueError) as exc:
        raise ValueError(f"corrupt conflated trace file: {exc}") from None
    names = tuple(m.decode() for m in modules)
    if names != ALL_MODULES:
        raise ValueError("conflated trace file lists other modules than this version of Linen")
    decoded_blocks = tuple(
        ConflatedBlock(
            header=rlp.decode(header, sedes=BlockHeader),
            transactions=tuple(txs),
            senders=tuple(senders),
            counts={m: _int(c) for m, c in zip(names, counts, strict=True)},
        )
        for header, txs, senders, counts in blocks
    )
    return ConflatedTraces(
        chain_id=_int(chain_id),
        version=version.decode(),
        start=_int(start),
        end=_int(end),
        parent_header=rlp.decode(parent, sedes=BlockHeader),
        ancestor_hashes=tuple(ancestors),
        blocks=decoded_blocks,
        codes={keccak(code): code for code in codes},
    )


def block_counts(store: ChainStore, number: int) -> dict[str, int]:
    """The stored line counts of canonical block `number`; TracesUnavailable if there are none."""
    block_hash = store.hash_by_number(number)
    if block_hash is None:
        raise TracesUnavailable(f"block {number} does not exist")
    data = store.trace_counts(block_hash)
    if data is None:
        raise TracesUnavailable(f"block {number} was sealed without tracing: it has no line counts")
    return decode_counts(data)


def collect(store: ChainStore, chain_id: int, start: int, end: int) -> ConflatedTraces:
    """Gather a range's conflated traces from the chain store."""
    if start < 1 or end < start:
        raise TracesUnavailable(f"invalid block range {start}-{end}: need 1 <= start <= end")
    parent = store.header_by_number(start - 1)
    if parent is None or store.header_by_number(end) is None:
        raise TracesUnavailable(f"blocks {start}-{end} are not all sealed yet")
    blocks = []
    codes: dict[bytes, bytes] = {}
    for number in range(start, end + 1):
        block_hash = store.hash_by_number(number)
        block = store.block(block_hash)
        counts = block_counts(store, number)
        blocks.append(
            ConflatedBlock(
                block.header, tuple(t.raw for t in block.transactions), tuple(t.sender for t in block.transactions), counts
            )
        )
        for account in (store.state_diff(block_hash) or {}).values():
            for code_hash in account.code_hash:
                if code_hash != EMPTY_CODE_HASH and code_hash not in codes:
                    code = store.code(code_hash)
                    if code is not None:
                        codes[code_hash] = code
    first_ancestor = max(0, start - ANCESTOR_WINDOW)
    ancestors = tuple(store.hash_by_number(n) for n in range(first_ancestor, start))
    return ConflatedTraces(chain_id, TRACES_ENGINE_VERSION, start, end, parent, ancestors, tuple(blocks), codes)
