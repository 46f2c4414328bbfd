"""Blocks, headers, transactions, receipts and logs as JSON objects, in geth's shapes.

Clients (ethers, web3.py, viem, block explorers) parse these strictly, so every field geth returns is
here with geth's name and encoding: quantities without leading zeros, data as even-length hex,
addresses as lower-case hex, `null` for fields a pending transaction does not have yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import rlp
from eth_bloom import BloomFilter

from linen.chain.types import BlockHeader, BlockTransaction, Receipt
from linen.execution.transactions import ACCESS_LIST, LEGACY, SET_CODE, PooledTransaction
from linen.primitives.diffs import Log

EMPTY_UNCLES: list = []


def q(value: int) -> str:
    return hex(value)


def d(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def bloom_hex(bloom: int) -> str:
    return "0x" + bloom.to_bytes(256, "big").hex()


def logs_bloom(logs: Iterable[Log]) -> int:
    """A receipt's bloom, recomputed from its logs (the store keeps logs, not per-receipt blooms)."""
    bloom = BloomFilter()
    for log in logs:
        bloom.add(log.address)
        for topic in log.topics:
            bloom.add(topic)
    return int(bloom)


# -- headers and blocks ------------------------------------------------------------------------------
def format_header(header: BlockHeader) -> dict[str, Any]:
    """The header fields of a block object; also the payload of a `newHeads` notification."""
    return {
        "number": q(header.block_number),
        "hash": d(header.hash),
        "parentHash": d(header.parent_hash),
        "nonce": d(header.nonce),
        "mixHash": d(header.mix_hash),
        "sha3Uncles": d(header.uncles_hash),
        "logsBloom": bloom_hex(header.bloom),
        "transactionsRoot": d(header.transaction_root),
        "stateRoot": d(header.state_root),
        "receiptsRoot": d(header.receipt_root),
        "miner": d(header.coinbase),
        "difficulty": q(header.difficulty),
        "extraData": d(header.extra_data),
        "gasLimit": q(header.gas_limit),
        "gasUsed": q(header.gas_used),
        "timestamp": q(header.timestamp),
        "baseFeePerGas": q(header.base_fee_per_gas),
        "withdrawalsRoot": d(header.withdrawals_root),
        "blobGasUsed": q(header.blob_gas_used),
        "excessBlobGas": q(header.excess_blob_gas),
        "parentBeaconBlockRoot": d(header.parent_beacon_block_root),
        "requestsHash": d(header.requests_hash),
    }


def _list_prefix_length(payload_length: int) -> int:
    return 1 if payload_length < 56 else 1 + (payload_length.bit_length() + 7) // 8


def block_size(header: BlockHeader, transactions: Iterable[BlockTransaction]) -> int:
    """Exact length of geth's block RLP: [header, [txs], uncles=[], withdrawals=[]].

    A legacy transaction sits in the list as its own RLP list; a typed one as an RLP byte string
    wrapping its envelope. The body is not re-encoded: the sizes are summed from the raw bytes.
    """
    txs = 0
    for tx in transactions:
        raw = tx.raw
        # A typed envelope is always >= 2 bytes, so its string prefix has the same length as a list's.
        txs += len(raw) if tx.type == LEGACY else len(raw) + _list_prefix_length(len(raw))
    payload = len(rlp.encode(header)) + _list_prefix_length(txs) + txs + 2  # + two empty lists (0xc0)
    return _list_prefix_length(payload) + payload


def format_block(header: BlockHeader, transactions: tuple[BlockTransaction, ...], full: bool) -> dict[str, Any]:
    """A block object; `full` gives transaction objects instead of hashes."""
    block = format_header(header)
    if full:
        block["transactions"] = [format_block_transaction(tx, header, i) for i, tx in enumerate(transactions)]
    else:
        block["transactions"] = [d(tx.hash) for tx in transactions]
    block["size"] = q(block_size(header, transactions))
    block["uncles"] = EMPTY_UNCLES
    block["withdrawals"] = []
    return block


# -- transactions ------------------------------------------------------------------------------------
def _access_list(tx: Any) -> list[dict[str, Any]]:
    return [{"address": d(address), "storageKeys": [word(slot) for slot in slots]} for address, slots in tx.access_list]


def _authorizations(tx: Any) -> list[dict[str, Any]]:
    return [
        {
            "chainId": q(auth.chain_id),
            "address": d(auth.address),
            "nonce": q(auth.nonce),
            "yParity": q(auth.y_parity),
            "r": q(auth.r),
            "s": q(auth.s),
        }
        for auth in tx.authorization_list
    ]


def format_transaction(
    tx: Any, sender: bytes, tx_hash: bytes, tx_type: int, header: BlockHeader | None, index: int | None
) -> dict[str, Any]:
    """A transaction object; `header` None means pending (block fields null, gasPrice = fee cap)."""
    out: dict[str, Any] = {
        "blockHash": None if header is None else d(header.hash),
        "blockNumber": None if header is None else q(header.block_number),
        "blockTimestamp": None if header is None else q(header.timestamp),
        "transactionIndex": None if index is None else q(index),
        "hash": d(tx_hash),
        "from": d(sender),
        "to": d(tx.to) if tx.to else None,
        "nonce": q(tx.nonce),
        "gas": q(tx.gas),
        "value": q(tx.value),
        "input": d(tx.data),
        "type": q(tx_type),
    }
    if tx_type == LEGACY:
        out["gasPrice"] = q(tx.gas_price)
        if tx.v >= 35:  # EIP-155: the chain id is folded into v
            out["chainId"] = q((tx.v - 35) // 2)
        out["v"] = q(tx.v)
    else:
        out["chainId"] = q(tx.chain_id)
        out["accessList"] = _access_list(tx)
        if tx_type == ACCESS_LIST:
            out["gasPrice"] = q(tx.gas_price)
        else:
            fee_cap, tip_cap = tx.max_fee_per_gas, tx.max_priority_fee_per_gas
            out["maxFeePerGas"] = q(fee_cap)
            out["maxPriorityFeePerGas"] = q(tip_cap)
            out["gasPrice"] = q(fee_cap if header is None else min(fee_cap, header.base_fee_per_gas + tip_cap))
            if tx_type == SET_CODE:
                out["authorizationList"] = _authorizations(tx)
        out["v"] = q(tx.y_parity)
        out["yParity"] = q(tx.y_parity)
    out["r"] = q(tx.r)
    out["s"] = q(tx.s)
    return out


def format_block_transaction(tx: BlockTransaction, header: BlockHeader, index: int) -> dict[str, Any]:
    return format_transaction(tx.decoded, tx.sender, tx.hash, tx.type, header, index)


def format_pooled_transaction(ptx: PooledTransaction) -> dict[str, Any]:
    return format_transaction(ptx.tx, ptx.sender, ptx.hash, ptx.type, None, None)


# -- logs and receipts -------------------------------------------------------------------------------
def format_log(log: Log, header: BlockHeader, tx_hash: bytes, tx_index: int, log_index: int) -> dict[str, Any]:
    return {
        "address": d(log.address),
        "topics": [d(topic) for topic in log.topics],
        "data": d(log.data),
        "blockNumber": q(header.block_number),
        "blockHash": d(header.hash),
        "blockTimestamp": q(header.timestamp),
        "transactionHash": d(tx_hash),
        "transactionIndex": q(tx_index),
        "logIndex": q(log_index),
        "removed": False,
    }


def iter_block_logs(
    transactions: tuple[BlockTransaction, ...], receipts: tuple[Receipt, ...]
) -> Iterator[tuple[Log, bytes, int, int]]:
    """(log, tx hash, tx index, block-wide log index) for every log of a block, in order."""
    log_index = 0
    for tx_index, (tx, receipt) in enumerate(zip(transactions, receipts, strict=False)):
        for log in receipt.logs:
            yield log, tx.hash, tx_index, log_index
            log_index += 1


def format_receipt(
    header: BlockHeader, tx: BlockTransaction, receipt: Receipt, index: int, first_log_index: int
) -> dict[str, Any]:
    """A receipt; `first_log_index` is the number of logs in the block before this transaction."""
    decoded = tx.decoded
    return {
        "blockHash": d(header.hash),
        "blockNumber": q(header.block_number),
        "transactionHash": d(tx.hash),
        "transactionIndex": q(index),
        "from": d(tx.sender),
        "to": d(decoded.to) if decoded.to else None,
        "cumulativeGasUsed": q(receipt.cumulative_gas_used),
        "gasUsed": q(receipt.gas_used),
        "effectiveGasPrice": q(receipt.effective_gas_price),
        "contractAddress": None if receipt.contract_address is None else d(receipt.contract_address),
        "logs": [
            format_log(log, header, tx.hash, index, first_log_index + offset) for offset, log in enumerate(receipt.logs)
        ],
        "logsBloom": bloom_hex(logs_bloom(receipt.logs)),
        "status": q(receipt.status),
        "type": q(receipt.tx_type),
    }


def format_block_receipts(
    header: BlockHeader, transactions: tuple[BlockTransaction, ...], receipts: tuple[Receipt, ...]
) -> list[dict[str, Any]]:
    out, log_index = [], 0
    for index, (tx, receipt) in enumerate(zip(transactions, receipts, strict=False)):
        out.append(format_receipt(header, tx, receipt, index, log_index))
        log_index += len(receipt.logs)
    return out


__all__ = [
    "block_size",
    "bloom_hex",
    "format_block",
    "format_block_receipts",
    "format_block_transaction",
    "format_header",
    "format_log",
    "format_pooled_transaction",
    "format_receipt",
    "format_transaction",
    "iter_block_logs",
    "logs_bloom",
]
