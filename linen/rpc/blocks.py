"""Block, transaction and receipt getters: read-only views of the chain store (and the pool for pending).

Unknown blocks and transactions answer `null`, as geth does, so clients can poll for inclusion.
"""

from __future__ import annotations

from typing import Any

import rlp

from linen.chain.types import BlockHeader, BlockTransaction
from linen.errors import ResourceNotFound
from linen.primitives.hexcodec import parse_hash, parse_quantity
from linen.rpc.backend import RpcBackend
from linen.rpc.format import (
    format_block,
    format_block_receipts,
    format_block_transaction,
    format_pooled_transaction,
    format_receipt,
    q,
)
from linen.rpc.params import block_hash_or_number_header, expect, header_for_block_getter, parse_bool


def _header_by_hash_param(backend: RpcBackend, value: object) -> BlockHeader | None:
    return backend.store.header_by_hash(parse_hash(value, "block hash"))


def _block(backend: RpcBackend, header: BlockHeader | None, full: object) -> dict[str, Any] | None:
    full_flag = full is not None and parse_bool(full, "full transactions flag")
    if header is None:
        return None
    return format_block(header, backend.store.transactions(bytes(header.hash)), full_flag)


def eth_get_block_by_number(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    tag, full = expect(params, 1, 1)
    return _block(backend, header_for_block_getter(backend, tag), full)


def eth_get_block_by_hash(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    block_hash, full = expect(params, 1, 1)
    return _block(backend, _header_by_hash_param(backend, block_hash), full)


def _tx_count(backend: RpcBackend, header: BlockHeader | None) -> str | None:
    return None if header is None else q(len(backend.store.transactions(bytes(header.hash))))


def eth_get_block_transaction_count_by_number(backend: RpcBackend, params: list) -> str | None:
    (tag,) = expect(params, 1)
    return _tx_count(backend, header_for_block_getter(backend, tag))


def eth_get_block_transaction_count_by_hash(backend: RpcBackend, params: list) -> str | None:
    (block_hash,) = expect(params, 1)
    return _tx_count(backend, _header_by_hash_param(backend, block_hash))


def eth_get_uncle_count_by_block_number(backend: RpcBackend, params: list) -> str | None:
    (tag,) = expect(params, 1)
    return None if header_for_block_getter(backend, tag) is None else "0x0"


def eth_get_uncle_count_by_block_hash(backend: RpcBackend, params: list) -> str | None:
    (block_hash,) = expect(params, 1)
    return None if _header_by_hash_param(backend, block_hash) is None else "0x0"


def eth_get_uncle_by_block_index(backend: RpcBackend, params: list) -> None:
    """Clique on a single sequencer has no uncles; the getters exist so clients get null, not -32601."""
    block, index = expect(params, 2)
    parse_quantity(index, "uncle index")
    return None


def _tx_at(backend: RpcBackend, header: BlockHeader | None, index_value: object) -> dict[str, Any] | None:
    index = parse_quantity(index_value, "transaction index")
    if header is None:
        return None
    transactions = backend.store.transactions(bytes(header.hash))
    if index >= len(transactions):
        return None
    return format_block_transaction(transactions[index], header, index)


def eth_get_transaction_by_block_hash_and_index(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    block_hash, index = expect(params, 2)
    return _tx_at(backend, _header_by_hash_param(backend, block_hash), index)


def eth_get_transaction_by_block_number_and_index(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    tag, index = expect(params, 2)
    return _tx_at(backend, header_for_block_getter(backend, tag), index)


def _locate(backend: RpcBackend, tx_hash: bytes) -> tuple[BlockHeader, int] | None:
    location = backend.store.tx_location(tx_hash)
    if location is None:
        return None
    number, index = location
    header = backend.store.header_by_number(number)
    return None if header is None else (header, index)


def eth_get_transaction_by_hash(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    (value,) = expect(params, 1)
    tx_hash = parse_hash(value, "transaction hash")
    found = _locate(backend, tx_hash)
    if found is not None:
        header, index = found
        return format_block_transaction(backend.store.transactions(bytes(header.hash))[index], header, index)
    pooled = backend.pool.get(tx_hash)
    return None if pooled is None else format_pooled_transaction(pooled)


def eth_get_transaction_receipt(backend: RpcBackend, params: list) -> dict[str, Any] | None:
    (value,) = expect(params, 1)
    found = _locate(backend, parse_hash(value, "transaction hash"))
    if found is None:
        return None
    header, index = found
    block_hash = bytes(header.hash)
    transactions, receipts = backend.store.transactions(block_hash), backend.store.receipts(block_hash)
    first_log_index = sum(len(r.logs) for r in receipts[:index])
    return format_receipt(header, transactions[index], receipts[index], index, first_log_index)


def eth_get_block_receipts(backend: RpcBackend, params: list) -> list[dict[str, Any]] | None:
    (block,) = expect(params, 1)
    header = block_hash_or_number_header(backend, block)
    if header is None:
        return None
    block_hash = bytes(header.hash)
    return format_block_receipts(header, backend.store.transactions(block_hash), backend.store.receipts(block_hash))


def encode_raw_block(header: BlockHeader, transactions: tuple[BlockTransaction, ...]) -> bytes:
    """The consensus RLP of a block, `[header, transactions, ommers, withdrawals]`, as geth serves it.

    Typed transactions sit in the list as byte strings (their envelopes), legacy ones as RLP lists.
    """
    items = [tx.raw if tx.raw[0] < 0xC0 else rlp.decode(tx.raw) for tx in transactions]
    return rlp.encode([header, items, [], []])


def _raw_header_for(backend: RpcBackend, params: list) -> BlockHeader:
    (tag,) = expect(params, 1)
    header = header_for_block_getter(backend, tag)
    if header is None:
        raise ResourceNotFound(f"block {tag} not found")
    return header


def debug_get_raw_block(backend: RpcBackend, params: list) -> str:
    """geth's debug_getRawBlock: what the coordinator encodes into blobs and hands the prover."""
    header = _raw_header_for(backend, params)
    return "0x" + encode_raw_block(header, backend.store.transactions(bytes(header.hash))).hex()


def debug_get_raw_header(backend: RpcBackend, params: list) -> str:
    return "0x" + rlp.encode(_raw_header_for(backend, params)).hex()


METHODS = {
    "debug_getRawBlock": debug_get_raw_block,
    "debug_getRawHeader": debug_get_raw_header,
    "eth_getBlockByNumber": eth_get_block_by_number,
    "eth_getBlockByHash": eth_get_block_by_hash,
    "eth_getBlockTransactionCountByNumber": eth_get_block_transaction_count_by_number,
    "eth_getBlockTransactionCountByHash": eth_get_block_transaction_count_by_hash,
    "eth_getUncleCountByBlockNumber": eth_get_uncle_count_by_block_number,
    "eth_getUncleCountByBlockHash": eth_get_uncle_count_by_block_hash,
    "eth_getUncleByBlockNumberAndIndex": eth_get_uncle_by_block_index,
    "eth_getUncleByBlockHashAndIndex": eth_get_uncle_by_block_index,
    "eth_getTransactionByHash": eth_get_transaction_by_hash,
    "eth_getTransactionByBlockHashAndIndex": eth_get_transaction_by_block_hash_and_index,
    "eth_getTransactionByBlockNumberAndIndex": eth_get_transaction_by_block_number_and_index,
    "eth_getTransactionReceipt": eth_get_transaction_receipt,
    "eth_getBlockReceipts": eth_get_block_receipts,
}
