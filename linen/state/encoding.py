"""How accounts, storage slots and code become tree keys (hkey) and leaf values (hval).

These are Linea's encodings (Shomei's ZkAccount / MimcSafeBytes, SparseMerkleProof.sol), written
against any `Hasher` so the same layout serves the MiMC tree and the Poseidon2 tree. Every word a
hasher sees must be below its field modulus: hashes and small integers are, but a full 32-byte value
(a storage slot, a storage value, a keccak hash) may not be, so such values are split into two
16-byte halves, low half first, each left-padded to 32 bytes. 2^128 is below both r377 and the BN254
modulus, so the split is safe for both hashers. An account's balance is hashed as one word and must
therefore be below the modulus (true of any real balance: both moduli exceed 2^252).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

from linen.errors import InvalidInput
from linen.state.hashers import Hasher

ACCOUNT_VALUE_SIZE = 192
WORD = 32
CODE_CHUNK = 16
EMPTY_KECCAK_CODE_HASH = keccak(b"")


def pad32(data: bytes) -> bytes:
    """Left-pad to one 32-byte word (an address or a 16-byte half becomes a field element)."""
    if len(data) > WORD:
        raise InvalidInput(f"cannot pad {len(data)} bytes into a 32-byte word")
    return data.rjust(WORD, b"\x00")


def u256(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


def safe_words(value: bytes) -> tuple[bytes, bytes]:
    """Split a 32-byte value into two field-safe words: pad32(low 16 bytes), pad32(high 16 bytes)."""
    if len(value) != WORD:
        raise InvalidInput(f"expected a 32-byte value to split, got {len(value)} bytes")
    return pad32(value[16:]), pad32(value[:16])


def join_safe_words(low: bytes, high: bytes) -> bytes:
    """Inverse of `safe_words`, for reading back values that were stored split."""
    return high[16:] + low[16:]


@dataclass(frozen=True)
class AccountValue:
    """An account as the state tree stores it (192 bytes, six 32-byte words).

    `code_hash` is the tree hasher's hash of the code (Linea's `mimcCodeHash`; a Poseidon2 hash on a
    Poseidon2 tree); `keccak_code_hash` is the EVM's code hash, kept so both can be proven.
    """

    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes
    keccak_code_hash: bytes
    code_size: int

    def encode(self) -> bytes:
        return b"".join(
            (
                u256(self.nonce),
                u256(self.balance),
                self.storage_root,
                self.code_hash,
                self.keccak_code_hash,
                u256(self.code_size),
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> AccountValue:
        if len(data) != ACCOUNT_VALUE_SIZE:
            raise InvalidInput(f"an account value is {ACCOUNT_VALUE_SIZE} bytes, got {len(data)}")
        w = [data[i : i + WORD] for i in range(0, ACCOUNT_VALUE_SIZE, WORD)]
        return cls(
            int.from_bytes(w[0], "big"), int.from_bytes(w[1], "big"), w[2], w[3], w[4], int.from_bytes(w[5], "big")
        )


def code_hash(hasher: Hasher, code: bytes) -> bytes:
    """Hash bytecode as 16-byte chunks, each one field word (the last chunk is right-aligned).

    Sixteen opcodes per word keeps the hash cheap in a circuit; empty code hashes one zero word.
    """
    if not code:
        return hasher.hash([bytes(WORD)])
    return hasher.hash([pad32(code[i : i + CODE_CHUNK]) for i in range(0, len(code), CODE_CHUNK)])


def new_account_value(
    hasher: Hasher, empty_storage_root: bytes, nonce: int = 0, balance: int = 0, code: bytes = b""
) -> AccountValue:
    """An account with no storage yet (its storage root is the empty tree's root)."""
    return AccountValue(nonce, balance, empty_storage_root, code_hash(hasher, code), keccak(code), len(code))


def account_hkey(hasher: Hasher, address: bytes) -> bytes:
    """Tree key of an account: H(pad32(address))."""
    if len(address) != 20:
        raise InvalidInput(f"an address is 20 bytes, got {len(address)}")
    return hasher.hash([pad32(address)])


def account_hval(hasher: Hasher, value: bytes | AccountValue) -> bytes:
    """Leaf value of an account: H(nonce, balance, storageRoot, codeHash, keccak low, keccak high, codeSize)."""
    account = value if isinstance(value, AccountValue) else AccountValue.decode(value)
    low, high = safe_words(account.keccak_code_hash)
    return hasher.hash(
        [
            u256(account.nonce),
            u256(account.balance),
            account.storage_root,
            account.code_hash,
            low,
            high,
            u256(account.code_size),
        ]
    )


def storage_hkey(hasher: Hasher, slot: bytes) -> bytes:
    """Tree key of a storage slot: H(safe(slot)), the slot itself, not its keccak."""
    return hasher.hash(list(safe_words(slot)))


def storage_hval(hasher: Hasher, value: bytes) -> bytes:
    """Leaf value of a storage slot: H(safe(value))."""
    return hasher.hash(list(safe_words(value)))


def hkey_of(hasher: Hasher, key: bytes) -> bytes:
    """Key hash by key shape: a 20-byte key is an account address, a 32-byte key a storage slot."""
    if len(key) == 20:
        return account_hkey(hasher, key)
    if len(key) == WORD:
        return storage_hkey(hasher, key)
    raise InvalidInput(f"a state key is a 20-byte address or a 32-byte slot, got {len(key)} bytes")


def hval_of(hasher: Hasher, value: bytes) -> bytes:
    """Value hash by value shape: 192 bytes is an account, 32 bytes a storage value."""
    if len(value) == ACCOUNT_VALUE_SIZE:
        return account_hval(hasher, value)
    if len(value) == WORD:
        return storage_hval(hasher, value)
    raise InvalidInput(f"a state value is a 192-byte account or a 32-byte slot value, got {len(value)} bytes")
