"""Strict hex codecs for JSON-RPC values (quantities and data), per the Ethereum JSON-RPC spec.

Every parser raises `InvalidParams` with a message naming the bad value, never a bare ValueError,
so that hostile input becomes a clear EIP-1474 error.
"""

import re

from linen.errors import InvalidParams

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")


def to_quantity(value: int) -> str:
    """Encode an unsigned integer as a JSON-RPC quantity: 0x-prefixed, no leading zeros."""
    return hex(value)


def to_data(value: bytes) -> str:
    """Encode bytes (or bytes-like: HexBytes, bytearray) as 0x-prefixed lower-case hex."""
    return "0x" + bytes(value).hex()


def parse_quantity(value: object, name: str = "quantity") -> int:
    """Parse a 0x-prefixed hex quantity (also tolerates a JSON integer, as many clients send)."""
    if isinstance(value, bool):
        raise InvalidParams(f"{name}: expected a hex quantity, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise InvalidParams(f"{name}: negative quantity {value}")
        return value
    if not isinstance(value, str) or not value.startswith(("0x", "0X")) or len(value) < 3:
        raise InvalidParams(f"{name}: expected a 0x-prefixed hex quantity, got {_show(value)}")
    if len(value) > 66:
        raise InvalidParams(f"{name}: quantity longer than 256 bits")
    if not _HEX_DIGITS.fullmatch(value[2:]):  # int() would also take "-1", "+1", "1_0" and spaces
        raise InvalidParams(f"{name}: invalid hex quantity {_show(value)}")
    return int(value[2:], 16)


def parse_data(value: object, name: str = "data", size: int | None = None) -> bytes:
    """Parse 0x-prefixed hex bytes; if `size` is given the length must match exactly."""
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise InvalidParams(f"{name}: expected 0x-prefixed hex data, got {_show(value)}")
    body = value[2:]
    if len(body) % 2:
        raise InvalidParams(f"{name}: hex data has an odd number of digits")
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise InvalidParams(f"{name}: invalid hex data {_show(value)}") from None
    if size is not None and len(raw) != size:
        raise InvalidParams(f"{name}: expected {size} bytes, got {len(raw)}")
    return raw


def parse_address(value: object, name: str = "address") -> bytes:
    return parse_data(value, name, 20)


def parse_hash(value: object, name: str = "hash") -> bytes:
    return parse_data(value, name, 32)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
