"""32-byte words, the unit every L1 contract hash is taken over.

LineaRollup and the message services hash fixed layouts of 32-byte words (`abi.encode` or the
same thing written in assembly with `mstore`). Building those layouts by hand keeps the protocol
layer free of an ABI library and makes each layout visible where it is hashed. The checks here
turn a wrongly sized or out-of-range value into an `InvalidProtocolInput` that names the field,
instead of a hash that silently differs from the contract's.
"""

from __future__ import annotations

from linen.errors import InvalidInput
from linen.primitives.types import UINT256_MAX, Address, Hash32

WORD_SIZE = 32

# Scalar field orders the contracts reduce into (spec notation r381 and rBN).
BLS12_381_SCALAR_MODULUS = 52435875175126190479447740508185965837690552500527637822603658699938581184513
BN254_SCALAR_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617


class InvalidProtocolInput(InvalidInput):
    """A value the L1 contracts would refuse (revert on) or could not represent."""


def u256(value: int, name: str = "value") -> bytes:
    """Big-endian 32-byte word of an unsigned integer, as `uint256` sits in ABI encoding."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise InvalidProtocolInput(f"{name}: expected an integer in [0, 2**256), got {value!r}")
    return value.to_bytes(WORD_SIZE, "big")


def bytes32(value: bytes, name: str = "value") -> Hash32:
    """Check that `value` is exactly one word (a `bytes32`), so hashes never run over short input."""
    if not isinstance(value, bytes | bytearray) or len(value) != WORD_SIZE:
        shown = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else repr(value)
        raise InvalidProtocolInput(f"{name}: expected 32 bytes, got {shown}")
    return Hash32(bytes(value))


def address_word(value: bytes, name: str = "address") -> bytes:
    """An `address` as ABI encoding holds it: 20 bytes left-padded with zeros to a word."""
    if not isinstance(value, bytes | bytearray) or len(value) != 20:
        raise InvalidProtocolInput(f"{name}: expected a 20-byte address, got {value!r}")
    return bytes(12) + Address(bytes(value))


def padded_bytes_tail(data: bytes) -> bytes:
    """Tail of a dynamic `bytes` in ABI encoding: length word, data, zeros to the next word."""
    padding = -len(data) % WORD_SIZE
    return u256(len(data), "bytes length") + bytes(data) + bytes(padding)


def word_to_int(value: bytes, name: str = "value") -> int:
    """A `bytes32` read as the `uint256` the contracts cast it to."""
    return int.from_bytes(bytes32(value, name), "big")
