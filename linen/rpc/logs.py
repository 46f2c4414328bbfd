"""Log queries: the filter criteria of eth_getLogs / eth_newFilter / `logs` subscriptions, and the scan.

The scan checks each header's bloom before reading a block's receipts, so a query over a long range
of blocks that cannot match costs one header read per block. The range and the result count are
capped (`RpcLimits`), with errors that tell the user how to narrow the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_bloom import BloomFilter

from linen.chain.types import BlockHeader
from linen.primitives.diffs import Log
from linen.primitives.hexcodec import parse_address, parse_hash
from linen.rpc.backend import RpcBackend
from linen.rpc.errors import InvalidParams, LimitExceeded, ResourceNotFound
from linen.rpc.format import format_log, iter_block_logs
from linen.rpc.params import expect, resolve_block_number, show

MAX_TOPICS = 4
MAX_ADDRESSES = 1000  # geth's cap on the address list of one query
MAX_TOPIC_ALTERNATIVES = 1000


def _bloom_mask(item: bytes) -> int:
    return int(BloomFilter.from_iterable([item]))


@dataclass(frozen=True)
class LogCriteria:
    """Which logs match: any of `addresses` (None = any) and, per position, any of the topics (None = any).

    As in geth, a log needs at least as many topics as positions given, wildcards included.
    """

    addresses: frozenset[bytes] | None
    topics: tuple[frozenset[bytes] | None, ...]

    def __post_init__(self) -> None:
        # Precompute the bloom bits of every alternative: a block is worth reading only if, for the
        # address and for each topic position, at least one alternative has all its bits set.
        groups = []
        if self.addresses is not None:
            groups.append(tuple(_bloom_mask(a) for a in self.addresses))
        groups.extend(tuple(_bloom_mask(t) for t in alternatives) for alternatives in self.topics if alternatives)
        object.__setattr__(self, "_bloom_groups", tuple(groups))

    def may_match(self, bloom: int) -> bool:
        return all(any(bloom & mask == mask for mask in group) for group in self._bloom_groups)  # type: ignore[attr-defined]

    def matches(self, log: Log) -> bool:
        if self.addresses is not None and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(
            alternatives is None or topic in alternatives
            for alternatives, topic in zip(self.topics, log.topics, strict=False)
        )


def parse_criteria(value: dict[str, Any]) -> LogCriteria:
    """The address and topics part of a filter object (geth's FilterCriteria)."""
    address = value.get("address")
    if address is None:
        addresses = None
    elif isinstance(address, list):
        if len(address) > MAX_ADDRESSES:
            raise LimitExceeded(f"too many addresses in filter: {len(address)}, the limit is {MAX_ADDRESSES}")
        addresses = frozenset(parse_address(a, f"address[{i}]") for i, a in enumerate(address)) or None
    else:
        addresses = frozenset([parse_address(address, "address")])
    topics_value = value.get("topics")
    if topics_value is None:
        topics_value = []
    if not isinstance(topics_value, list):
        raise InvalidParams(f"topics: expected a list, got {show(topics_value)}")
    if len(topics_value) > MAX_TOPICS:
        raise InvalidParams(f"topics: at most {MAX_TOPICS} topic positions, got {len(topics_value)}")
    topics: list[frozenset[bytes] | None] = []
    for position, entry in enumerate(topics_value):
        if entry is None:
            topics.append(None)
        elif isinstance(entry, list):
            if len(entry) > MAX_TOPIC_ALTERNATIVES:
                raise LimitExceeded(f"topics[{position}]: too many alternatives ({len(entry)})")
            alternatives = [parse_hash(t, f"topics[{position}]") for t in entry if t is not None]
            # An empty list, or one that contains null, matches anything at this position (geth).
            topics.append(None if not alternatives or None in entry else frozenset(alternatives))
        else:
            topics.append(frozenset([parse_hash(entry, f"topics[{position}]")]))
    return LogCriteria(addresses, tuple(topics))


def check_filter_object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParams(f"filter: expected an object with fromBlock, toBlock, address, topics, got {show(value)}")
    unknown = set(value) - {"fromBlock", "toBlock", "blockHash", "address", "topics"}
    if unknown:
        raise InvalidParams(f"filter: unknown field(s) {sorted(unknown)}")
    if value.get("blockHash") is not None and (value.get("fromBlock") is not None or value.get("toBlock") is not None):
        raise InvalidParams("cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
    return value


def resolve_range(backend: RpcBackend, value: dict[str, Any]) -> tuple[int, int]:
    """fromBlock..toBlock as numbers, toBlock clamped to the head (both default to latest)."""
    head = backend.store.head().block_number
    start = resolve_block_number(backend, value.get("fromBlock"), "fromBlock")
    end = min(resolve_block_number(backend, value.get("toBlock"), "toBlock"), head)
    if value.get("fromBlock") is not None and value.get("toBlock") is not None and start > end and start <= head:
        raise InvalidParams(f"invalid block range params: fromBlock {start} is after toBlock {end}")
    return start, end


def block_matches(
    backend: RpcBackend, header: BlockHeader, criteria: LogCriteria, out: list[dict[str, Any]], cap: int
) -> None:
    """Append the formatted logs of one block that match; raise once more than `cap` are collected."""
    if not criteria.may_match(header.bloom):
        return
    block_hash = bytes(header.hash)
    transactions = backend.store.transactions(block_hash)
    receipts = backend.store.receipts(block_hash)
    for log, tx_hash, tx_index, log_index in iter_block_logs(transactions, receipts):
        if criteria.matches(log):
            out.append(format_log(log, header, tx_hash, tx_index, log_index))
            if len(out) > cap:
                raise LimitExceeded(
                    f"query returned more than {cap} results: narrow the block range (fromBlock/toBlock) "
                    "or add address/topics filters"
                )


def scan_logs(backend: RpcBackend, criteria: LogCriteria, start: int, end: int) -> list[dict[str, Any]]:
    """Matching logs of blocks start..end (inclusive; end already clamped to the head)."""
    limits = backend.limits
    if end < start:
        return []
    span = end - start + 1
    if span > limits.max_logs_block_range:
        raise LimitExceeded(
            f"query exceeds the maximum block range of {limits.max_logs_block_range} blocks (requested {span} "
            f"blocks, {start}..{end}): narrow fromBlock/toBlock"
        )
    out: list[dict[str, Any]] = []
    for number in range(start, end + 1):
        header = backend.store.header_by_number(number)
        if header is None:
            break
        block_matches(backend, header, criteria, out, limits.max_logs_results)
    return out


def query_logs(backend: RpcBackend, value: object) -> list[dict[str, Any]]:
    """A whole eth_getLogs filter object: blockHash, or fromBlock/toBlock, plus address/topics."""
    value = check_filter_object(value)
    criteria = parse_criteria(value)
    if value.get("blockHash") is not None:
        header = backend.store.header_by_hash(parse_hash(value["blockHash"], "blockHash"))
        if header is None:
            raise ResourceNotFound("unknown block")
        out: list[dict[str, Any]] = []
        block_matches(backend, header, criteria, out, backend.limits.max_logs_results)
        return out
    start, end = resolve_range(backend, value)
    return scan_logs(backend, criteria, start, end)


def eth_get_logs(backend: RpcBackend, params: list) -> list[dict[str, Any]]:
    (value,) = expect(params, 1)
    return query_logs(backend, value)


METHODS = {"eth_getLogs": eth_get_logs}
