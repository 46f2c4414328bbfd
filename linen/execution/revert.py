"""The human reason in a REVERT's data: Error(string) or a Solidity panic code, as geth words them."""

from __future__ import annotations

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

# Solidity's panic codes, worded as geth's abi.UnpackRevert words them.
PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


def revert_reason(data: bytes) -> str | None:
    """The human reason in REVERT data (Error(string) or Panic(uint256)), or None if there is none.

    Hand-decoded rather than through eth_abi so that malformed data from a contract can never raise.
    """
    if len(data) >= 36 and data[:4] == PANIC_SELECTOR:
        code = int.from_bytes(data[4:36], "big")
        return PANIC_REASONS.get(code, f"unknown panic code: {code:#x}")
    if len(data) < 68 or data[:4] != ERROR_SELECTOR:
        return None
    body = data[4:]
    offset = int.from_bytes(body[:32], "big")
    if offset + 32 > len(body):
        return None
    length = int.from_bytes(body[offset : offset + 32], "big")
    if offset + 32 + length > len(body):
        return None
    return body[offset + 32 : offset + 32 + length].decode("utf-8", errors="replace")
