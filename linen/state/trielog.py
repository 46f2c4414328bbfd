"""Shomei trielogs: what one block changed, in the RLP layout Besu's zk plugin sends to Shomei.

A trielog is `[blockHash, blockNumber, entry*]`, entries sorted by address, each
`[address, codeChange|null, accountChange|null, storage|null]` with `codeChange = [prior, new, cleared]`,
`accountChange = [prior|null, updated|null, null|1]`, account `[nonce, balance, storageRoot|null,
keccakCodeHash]` and storage a list of `[keccak(slot), prior|null, new|null, null|1, slot]`
(`ZkTrieLogFactory` / `TrieLogLayerConverter`). Reads are included (prior == updated), because the
zk state proves reads too. The builder takes the node's per-block `StateDiff`; the decoder checks every
field's shape and refuses anything else with `CorruptTrieLog`, so hostile bytes never reach the tree.
The account's `storageRoot` (the EVM's Patricia storage root) is carried if the caller supplies it but
never used here: the zk storage root comes from the zk storage tree itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak

from linen.errors import InvalidInput
from linen.primitives.diffs import AccountDiff, StateDiff
from linen.state.encoding import EMPTY_KECCAK_CODE_HASH

NULL = b""


class CorruptTrieLog(InvalidInput):
    """Trielog bytes that are not a well-formed trielog (bad RLP, wrong shapes, inconsistent fields)."""


@dataclass(frozen=True)
class TrieLogAccount:
    nonce: int
    balance: int
    keccak_code_hash: bytes
    evm_storage_root: bytes | None = None


@dataclass(frozen=True)
class CodeChange:
    prior: bytes
    new: bytes
    cleared: bool = False


@dataclass(frozen=True)
class SlotChange:
    """One storage slot; `prior`/`new` None means zero (absent)."""

    slot: bytes
    prior: int | None
    new: int | None
    cleared: bool = False


@dataclass(frozen=True)
class AccountChange:
    prior: TrieLogAccount | None
    updated: TrieLogAccount | None
    cleared: bool = False


@dataclass(frozen=True)
class TrieLogEntry:
    address: bytes
    code: CodeChange | None
    account: AccountChange | None
    storage: tuple[SlotChange, ...] = ()


@dataclass(frozen=True)
class TrieLog:
    block_hash: bytes
    block_number: int
    entries: tuple[TrieLogEntry, ...]


# -- encoding ------------------------------------------------------------------------------------


def _u(value: int | None) -> bytes:
    return NULL if not value else value.to_bytes((value.bit_length() + 7) // 8, "big")


def _account_rlp(account: TrieLogAccount | None) -> list | bytes:
    if account is None:
        return NULL
    root = NULL if account.evm_storage_root is None else account.evm_storage_root
    return [_u(account.nonce), _u(account.balance), root, account.keccak_code_hash]


def encode_trielog(trielog: TrieLog) -> bytes:
    entries = []
    for e in sorted(trielog.entries, key=lambda e: e.address):
        code = NULL if e.code is None else [e.code.prior, e.code.new, _u(int(e.code.cleared))]
        account = (
            NULL
            if e.account is None
            else [_account_rlp(e.account.prior), _account_rlp(e.account.updated), _u(int(e.account.cleared))]
        )
        slots = sorted(e.storage, key=lambda s: keccak(s.slot))
        storage = (
            NULL
            if not slots
            else [
                [keccak(s.slot), _u(s.prior), _u(s.new), _u(int(s.cleared)), _u(int.from_bytes(s.slot, "big"))]
                for s in slots
            ]
        )
        entries.append([e.address, code, account, storage])
    return rlp.encode([trielog.block_hash, _u(trielog.block_number), *entries])


CodeLookup = Callable[[bytes], bytes | None]


def _code_of(code_by_hash: CodeLookup | Mapping[bytes, bytes], code_hash: bytes) -> bytes:
    if code_hash == EMPTY_KECCAK_CODE_HASH:
        return b""
    code = code_by_hash.get(code_hash) if isinstance(code_by_hash, Mapping) else code_by_hash(code_hash)
    if code is None:
        raise LookupError(f"bytecode with keccak 0x{code_hash.hex()} is not in the code store")
    return code


def entry_from_diff(
    address: bytes, diff: AccountDiff, code_by_hash: CodeLookup | Mapping[bytes, bytes]
) -> TrieLogEntry:
    """One account's trielog entry from its block-level (prior, new) diff."""
    prior = TrieLogAccount(diff.nonce[0], diff.balance[0], diff.code_hash[0]) if diff.existed_before else None
    updated = TrieLogAccount(diff.nonce[1], diff.balance[1], diff.code_hash[1]) if diff.exists_after else None
    code = None
    prior_code_hash = diff.code_hash[0] if diff.existed_before else EMPTY_KECCAK_CODE_HASH
    new_code_hash = diff.code_hash[1] if diff.exists_after else EMPTY_KECCAK_CODE_HASH
    if prior_code_hash != new_code_hash:
        code = CodeChange(_code_of(code_by_hash, prior_code_hash), _code_of(code_by_hash, new_code_hash))
    storage = tuple(
        SlotChange(slot.to_bytes(32, "big"), p or None, n or None, diff.storage_wiped)
        for slot, (p, n) in sorted(diff.storage.items())
    )
    return TrieLogEntry(address, code, AccountChange(prior, updated, diff.storage_wiped), storage)


def build_trielog(
    block_hash: bytes, number: int, diff: StateDiff, code_by_hash: CodeLookup | Mapping[bytes, bytes]
) -> bytes:
    """The trielog bytes of a sealed block from its state diff; `code_by_hash` maps keccak -> bytecode."""
    entries = tuple(entry_from_diff(address, diff[address], code_by_hash) for address in sorted(diff))
    return encode_trielog(TrieLog(block_hash, number, entries))


def genesis_trielog(block_hash: bytes, alloc: Mapping[bytes, object]) -> bytes:
    """Block 0's trielog: every alloc account created (the node stores block 0 with an empty diff).

    `alloc` values need `balance`, `nonce`, `code`, `storage` attributes (`linen.chain.genesis.GenesisAccount`).
    """
    entries = []
    for address in sorted(alloc):
        acct = alloc[address]
        code: bytes = acct.code  # type: ignore[attr-defined]
        slots = tuple(
            SlotChange(slot.to_bytes(32, "big"), None, value)
            for slot, value in sorted(acct.storage.items())  # type: ignore[attr-defined]
            if value
        )
        updated = TrieLogAccount(acct.nonce, acct.balance, keccak(code))  # type: ignore[attr-defined]
        entries.append(
            TrieLogEntry(address, CodeChange(b"", code) if code else None, AccountChange(None, updated), slots)
        )
    return encode_trielog(TrieLog(block_hash, 0, tuple(entries)))


# -- decoding ------------------------------------------------------------------------------------


def _bytes(item: object, what: str, size: int | None = None, max_size: int | None = None) -> bytes:
    if not isinstance(item, bytes):
        raise CorruptTrieLog(f"trielog: {what} must be a byte string, got a list")
    if size is not None and len(item) != size:
        raise CorruptTrieLog(f"trielog: {what} must be {size} bytes, got {len(item)}")
    if max_size is not None and len(item) > max_size:
        raise CorruptTrieLog(f"trielog: {what} is longer than {max_size} bytes")
    return item


def _scalar(item: object, what: str, max_bytes: int = 32) -> int:
    raw = _bytes(item, what, max_size=max_bytes)
    if raw[:1] == b"\x00":
        raise CorruptTrieLog(f"trielog: {what} has a leading zero byte (not a canonical scalar)")
    return int.from_bytes(raw, "big")


def _list(item: object, what: str, lengths: tuple[int, ...] | None = None) -> list:
    if not isinstance(item, list):
        raise CorruptTrieLog(f"trielog: {what} must be a list")
    if lengths is not None and len(item) not in lengths:
        raise CorruptTrieLog(f"trielog: {what} must have {' or '.join(map(str, lengths))} items, got {len(item)}")
    return item


def _flag(item: object, what: str) -> bool:
    value = _scalar(item, what)
    if value not in (0, 1):
        raise CorruptTrieLog(f"trielog: {what} must be null or 1, got {value}")
    return value == 1


def _decode_account(item: object, what: str) -> TrieLogAccount | None:
    if item == NULL:
        return None
    fields = _list(item, what, (4,))
    root = _bytes(fields[2], f"{what} storageRoot")
    if root and len(root) != 32:
        raise CorruptTrieLog(f"trielog: {what} storageRoot must be null or 32 bytes")
    return TrieLogAccount(
        _scalar(fields[0], f"{what} nonce", 8),
        _scalar(fields[1], f"{what} balance"),
        _bytes(fields[3], f"{what} codeHash", 32),
        root or None,
    )


def _decode_entry(item: object, index: int) -> TrieLogEntry:
    fields = _list(item, f"entry {index}")
    if len(fields) < 4:
        raise CorruptTrieLog(f"trielog: entry {index} must have 4 items, got {len(fields)}")
    address = _bytes(fields[0], f"entry {index} address", 20)
    what = f"account 0x{address.hex()}"
    code = None
    if fields[1] != NULL:
        c = _list(fields[1], f"{what} codeChange", (2, 3))
        code = CodeChange(
            _bytes(c[0], f"{what} prior code"),
            _bytes(c[1], f"{what} new code"),
            _flag(c[2], f"{what} code cleared") if len(c) == 3 else False,
        )
    account = None
    if fields[2] != NULL:
        a = _list(fields[2], f"{what} accountChange", (2, 3))
        account = AccountChange(
            _decode_account(a[0], f"{what} prior"),
            _decode_account(a[1], f"{what} updated"),
            _flag(a[2], f"{what} cleared") if len(a) == 3 else False,
        )
        if account.updated is not None:
            expected = keccak(code.new) if code is not None else None
            if expected is not None and expected != account.updated.keccak_code_hash:
                raise CorruptTrieLog(f"trielog: {what} new code does not hash to its updated codeHash")
    storage: list[SlotChange] = []
    if fields[3] != NULL:
        seen: set[bytes] = set()
        for n, s in enumerate(_list(fields[3], f"{what} storage")):
            s = _list(s, f"{what} storage entry {n}", (4, 5))
            slot_hash = _bytes(s[0], f"{what} storage entry {n} slot hash", 32)
            if len(s) == 4:
                continue  # no slot key: Shomei ignores the entry, and so do we
            slot = _scalar(s[4], f"{what} storage entry {n} slot").to_bytes(32, "big")
            if keccak(slot) != slot_hash:
                raise CorruptTrieLog(f"trielog: {what} storage entry {n}: slot hash is not keccak(slot)")
            if slot in seen:
                raise CorruptTrieLog(f"trielog: {what} lists slot 0x{slot.hex()} twice")
            seen.add(slot)
            prior = _scalar(s[1], f"{what} slot prior") or None
            new = _scalar(s[2], f"{what} slot new") or None
            storage.append(SlotChange(slot, prior, new, _flag(s[3], f"{what} slot cleared")))
    return TrieLogEntry(address, code, account, tuple(storage))


def decode_trielog(data: bytes) -> TrieLog:
    """Parse trielog bytes; any malformation raises `CorruptTrieLog` naming the bad field."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise CorruptTrieLog("trielog: empty input")
    try:
        items = rlp.decode(bytes(data))
    except (rlp.exceptions.RLPException, RecursionError) as exc:
        raise CorruptTrieLog(f"trielog: not valid RLP ({type(exc).__name__})") from None
    items = _list(items, "the trielog")
    if len(items) < 2:
        raise CorruptTrieLog("trielog: expected [blockHash, blockNumber, entry*]")
    block_hash = _bytes(items[0], "blockHash", 32)
    number = _scalar(items[1], "blockNumber", 8)
    body = items[2:]
    if body and isinstance(body[-1], bytes):
        body = body[:-1]  # optional trailing integer (a format version): not needed here
    entries = tuple(_decode_entry(item, i) for i, item in enumerate(body))
    for before, after in zip(entries, entries[1:], strict=False):
        if before.address >= after.address:
            raise CorruptTrieLog(
                f"trielog: entries must be sorted by address, without repeats (0x{after.address.hex()})"
            )
    return TrieLog(block_hash, number, entries)
