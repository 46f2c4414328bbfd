"""Root of a Merkle-Patricia trie built in one pass from all its items (transactions, receipts).

The transactions and receipts roots of a block are tries keyed by rlp(index) whose items are all
known at once. Building them by repeated inserts (py-evm's HexaryTrie) re-hashes the path on every
insert and cost ~1 ms per item; building bottom-up from the sorted keys hashes each node once,
like geth's StackTrie. The result is the same root (a property test checks it against py-evm).
"""

from __future__ import annotations

from collections.abc import Sequence

import rlp
from eth_hash.auto import keccak

BLANK_ROOT = keccak(rlp.encode(b""))


def _nibbles(key: bytes) -> bytes:
    out = bytearray()
    for byte in key:
        out.append(byte >> 4)
        out.append(byte & 0x0F)
    return bytes(out)


def _hex_prefix(nibbles: bytes, is_leaf: bool) -> bytes:
    flag = 2 if is_leaf else 0
    if len(nibbles) % 2:
        nibbles = bytes([flag + 1]) + nibbles
    else:
        nibbles = bytes([flag, 0]) + nibbles
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _reference(node: list) -> object:
    """A child as its parent holds it: inline if its encoding is under 32 bytes, else its hash."""
    encoded = rlp.encode(node)
    return node if len(encoded) < 32 else keccak(encoded)


def _build(items: list[tuple[bytes, bytes]], depth: int) -> list:
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    first, last = items[0][0], items[-1][0]  # sorted, so the common prefix of all is that of these two
    shared = 0
    limit = min(len(first), len(last)) - depth
    while shared < limit and first[depth + shared] == last[depth + shared]:
        shared += 1
    if shared:
        child = _build(items, depth + shared)
        return [_hex_prefix(first[depth : depth + shared], False), _reference(child)]
    branch: list = [b""] * 17
    start = 0
    if len(items[0][0]) == depth:  # a key that ends here keeps its value in the branch itself
        branch[16] = items[0][1]
        start = 1
    while start < len(items):
        nibble = items[start][0][depth]
        end = start
        while end < len(items) and items[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _reference(_build(items[start:end], depth + 1))
        start = end
    return branch


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the trie mapping rlp(i) -> values[i] (an empty value means no entry, as in any trie)."""
    items = sorted((_nibbles(rlp.encode(index)), value) for index, value in enumerate(values) if value)
    if not items:
        return BLANK_ROOT
    return keccak(rlp.encode(_build(items, 0)))
