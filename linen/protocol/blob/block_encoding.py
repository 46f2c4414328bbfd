"""How one L2 block is written into a blob (v1): only what re-execution needs, no signatures.

A blob must let anyone rebuild the chain's transactions, but not every byte of a block is needed:
the header fields are recomputed by execution, and a signature (65 bytes per transaction, which
does not compress) can be replaced by the 20-byte sender it recovers to — the prover checks the
sender against the signature it was given off-chain. So a block is

    u16 transaction count || u32 timestamp || 32-byte block hash || (sender(20) || signingPayload)*

where signingPayload is exactly what the sender signed: for a typed transaction
`type || rlp(fields without yParity, r, s)`; for a legacy EIP-155 one `rlp(6 fields, chainId, 0, 0)`
with chainId taken from v; for an unprotected legacy one `rlp(6 fields)`. Nothing separates blocks
or transactions: the count and the RLP lengths say where each one ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import rlp

from linen.protocol.blob.errors import BlobTooLarge, InvalidBlob
from linen.protocol.words import InvalidProtocolInput

LEGACY_TYPE = 0
ACCESS_LIST_TYPE = 1
DYNAMIC_FEE_TYPE = 2
SET_CODE_TYPE = 4
ADDRESS_SIZE = 20
HASH_SIZE = 32
BLOCK_PREFIX_SIZE = 2 + 4 + HASH_SIZE
MAX_TRANSACTIONS = 0xFFFF
MAX_TIMESTAMP = 0xFFFFFFFF

LEGACY_FIELDS = ("nonce", "gas_price", "gas", "to", "value", "data")
TYPED_FIELDS: dict[int, tuple[str, ...]] = {
    ACCESS_LIST_TYPE: ("chain_id", "nonce", "gas_price", "gas", "to", "value", "data", "access_list"),
    DYNAMIC_FEE_TYPE: (
        "chain_id", "nonce", "max_priority_fee_per_gas", "max_fee_per_gas", "gas", "to", "value", "data",
        "access_list",
    ),
    SET_CODE_TYPE: (
        "chain_id", "nonce", "max_priority_fee_per_gas", "max_fee_per_gas", "gas", "to", "value", "data",
        "access_list", "authorization_list",
    ),
}  # fmt: skip
_BYTES_FIELDS = {"data"}
_LIST_FIELDS = {"access_list", "authorization_list"}


@dataclass(frozen=True)
class BlobBlock:
    """A sealed block as the blob needs it: its timestamp, hash and (sender, signed envelope) pairs."""

    timestamp: int
    block_hash: bytes
    transactions: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class DecodedTransaction:
    """A transaction read back from a blob: sender, type, the unsigned fields and the signed payload.

    `fields` maps names (nonce, gas, to, value, data, chain_id, ...) to ints, bytes (`data`), an
    address or None (`to`) and nested tuples (access and authorization lists). `signing_payload` is
    the byte string the sender signed, to compare with `signing_payload(original envelope)`.
    """

    sender: bytes
    tx_type: int
    fields: dict[str, Any] = field(hash=False)
    signing_payload: bytes

    @property
    def chain_id(self) -> int | None:
        return self.fields.get("chain_id")


@dataclass(frozen=True)
class DecodedBlock:
    timestamp: int
    block_hash: bytes
    transactions: tuple[DecodedTransaction, ...]


# -- encoding ---------------------------------------------------------------------------------------


def _rlp_list(data: bytes, what: str) -> list:
    try:
        items = rlp.decode(bytes(data), strict=True)
    except rlp.exceptions.DecodingError as exc:
        raise InvalidProtocolInput(f"{what}: not valid RLP ({exc})") from None
    if not isinstance(items, list):
        raise InvalidProtocolInput(f"{what}: expected an RLP list")
    return items


def _int(item: Any, name: str) -> int:
    if not isinstance(item, bytes):
        raise InvalidProtocolInput(f"{name}: expected an integer, got a list")
    if item[:1] == b"\x00":
        raise InvalidProtocolInput(f"{name}: integer with leading zero bytes (non-canonical RLP)")
    return int.from_bytes(item, "big")


def signing_payload(envelope: bytes) -> bytes:
    """What the sender of a signed transaction envelope signed (typed or legacy; see the module doc)."""
    envelope = bytes(envelope)
    if not envelope:
        raise InvalidProtocolInput("empty transaction envelope")
    tx_type = envelope[0]
    if tx_type >= 0xC0:
        fields = _rlp_list(envelope, "legacy transaction")
        if len(fields) != 9:
            raise InvalidProtocolInput(f"legacy transaction: expected 9 fields, got {len(fields)}")
        v = _int(fields[6], "v")
        if v in (27, 28):
            return rlp.encode(fields[:6])
        if v < 35:
            raise InvalidProtocolInput(f"legacy transaction: invalid v {v}")
        return rlp.encode([*fields[:6], (v - 35) // 2, 0, 0])
    names = TYPED_FIELDS.get(tx_type)
    if names is None:
        raise InvalidProtocolInput(f"transaction type {tx_type} cannot be written to a blob")
    fields = _rlp_list(envelope[1:], f"type-{tx_type} transaction")
    if len(fields) != len(names) + 3:
        raise InvalidProtocolInput(f"type-{tx_type} transaction: expected {len(names) + 3} fields, got {len(fields)}")
    return bytes([tx_type]) + rlp.encode(fields[:-3])


def encode_block(block: BlobBlock) -> bytes:
    """The blob v1 encoding of one block."""
    if not 0 <= block.timestamp <= MAX_TIMESTAMP:
        raise BlobTooLarge(f"block timestamp {block.timestamp} does not fit the blob's u32")
    if len(block.block_hash) != HASH_SIZE:
        raise InvalidProtocolInput(f"block hash must be {HASH_SIZE} bytes, got {len(block.block_hash)}")
    if len(block.transactions) > MAX_TRANSACTIONS:
        raise BlobTooLarge(f"{len(block.transactions)} transactions; a blob block holds at most {MAX_TRANSACTIONS}")
    parts = [
        len(block.transactions).to_bytes(2, "big"),
        block.timestamp.to_bytes(4, "big"),
        bytes(block.block_hash),
    ]
    for sender, envelope in block.transactions:
        if len(sender) != ADDRESS_SIZE:
            raise InvalidProtocolInput(f"transaction sender must be a {ADDRESS_SIZE}-byte address")
        parts.append(bytes(sender))
        parts.append(signing_payload(envelope))
    return b"".join(parts)


# -- decoding ---------------------------------------------------------------------------------------


def _item_end(data: bytes, start: int) -> int:
    """End offset of the RLP item that starts at `start`, checked against the data's length."""
    if start >= len(data):
        raise InvalidBlob(f"block data ends where an RLP item should start (offset {start})")
    prefix = data[start]
    if prefix < 0x80:
        end = start + 1
    elif prefix < 0xB8:
        end = start + 1 + prefix - 0x80
    elif prefix < 0xC0 or prefix >= 0xF8:
        size_len = prefix - (0xB7 if prefix < 0xC0 else 0xF7)
        if start + 1 + size_len > len(data):
            raise InvalidBlob(f"RLP length prefix cut off at offset {start}")
        end = start + 1 + size_len + int.from_bytes(data[start + 1 : start + 1 + size_len], "big")
    else:
        end = start + 1 + prefix - 0xC0
    if end > len(data):
        raise InvalidBlob(f"RLP item at offset {start} runs {end - len(data)} bytes past the end of the data")
    return end


def _value(name: str, item: Any) -> Any:
    if name in _LIST_FIELDS:
        if not isinstance(item, list):
            raise InvalidProtocolInput(f"{name}: expected a list")
        return _nested(item)
    if not isinstance(item, bytes):
        raise InvalidProtocolInput(f"{name}: expected a byte string, got a list")
    if name == "to":
        if len(item) not in (0, ADDRESS_SIZE):
            raise InvalidProtocolInput(f"to: expected an address or empty, got {len(item)} bytes")
        return item or None
    if name in _BYTES_FIELDS:
        return item
    return _int(item, name)


def _nested(item: Any) -> Any:
    return tuple(_nested(x) for x in item) if isinstance(item, list) else item


def decode_signing_payload(payload: bytes) -> tuple[int, dict[str, Any]]:
    """(type, named unsigned fields) of a signing payload, refusing shapes no transaction has."""
    try:
        if payload[0] >= 0xC0:
            items = _rlp_list(payload, "legacy transaction")
            if len(items) == 9:
                if items[7] != b"" or items[8] != b"":
                    raise InvalidProtocolInput("legacy signing payload: the last two fields must be zero")
                fields = {n: _value(n, x) for n, x in zip(LEGACY_FIELDS, items, strict=False)}
                fields["chain_id"] = _int(items[6], "chain_id")
                return LEGACY_TYPE, fields
            if len(items) != 6:
                raise InvalidProtocolInput(f"legacy signing payload: expected 6 or 9 fields, got {len(items)}")
            return LEGACY_TYPE, {n: _value(n, x) for n, x in zip(LEGACY_FIELDS, items, strict=True)}
        tx_type = payload[0]
        names = TYPED_FIELDS.get(tx_type)
        if names is None:
            raise InvalidProtocolInput(f"unknown transaction type {tx_type}")
        items = _rlp_list(payload[1:], f"type-{tx_type} signing payload")
        if len(items) != len(names):
            raise InvalidProtocolInput(
                f"type-{tx_type} signing payload: expected {len(names)} fields, got {len(items)}"
            )
        return tx_type, {n: _value(n, x) for n, x in zip(names, items, strict=True)}
    except InvalidBlob:
        raise
    except InvalidProtocolInput as exc:
        raise InvalidBlob(f"transaction in blob: {exc}") from None


def decode_block(data: bytes, offset: int = 0) -> tuple[DecodedBlock, int]:
    """(block, offset after it) for the block encoded at `offset`."""
    if offset + BLOCK_PREFIX_SIZE > len(data):
        raise InvalidBlob(f"block at offset {offset} is cut off inside its {BLOCK_PREFIX_SIZE}-byte prefix")
    count = int.from_bytes(data[offset : offset + 2], "big")
    timestamp = int.from_bytes(data[offset + 2 : offset + 6], "big")
    block_hash = bytes(data[offset + 6 : offset + BLOCK_PREFIX_SIZE])
    pos = offset + BLOCK_PREFIX_SIZE
    transactions = []
    for index in range(count):
        if pos + ADDRESS_SIZE >= len(data):
            raise InvalidBlob(f"block at offset {offset} announces {count} transactions, data ends in number {index}")
        sender = bytes(data[pos : pos + ADDRESS_SIZE])
        start = pos + ADDRESS_SIZE
        if data[start] < 0xC0 and data[start] not in TYPED_FIELDS:
            raise InvalidBlob(
                f"transaction {index} of the block at offset {offset}: unknown transaction type {data[start]}"
            )
        end = _item_end(data, start + 1) if data[start] < 0xC0 else _item_end(data, start)
        payload = bytes(data[start:end])
        tx_type, fields = decode_signing_payload(payload)
        transactions.append(DecodedTransaction(sender, tx_type, fields, payload))
        pos = end
    return DecodedBlock(timestamp, block_hash, tuple(transactions)), pos


def decode_blocks(data: bytes) -> tuple[DecodedBlock, ...]:
    """Every block in a batch's bytes; the last one must end exactly at the end of the data."""
    blocks = []
    pos = 0
    while pos < len(data):
        block, pos = decode_block(data, pos)
        blocks.append(block)
    return tuple(blocks)
