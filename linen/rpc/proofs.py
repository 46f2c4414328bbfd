"""eth_getProof (EIP-1186): Merkle-Patricia proofs of an account and its storage slots.

The proofs come straight from the state trie nodes in the store (py-evm's HexaryTrie layout: the
account trie keyed by keccak(address), one storage trie per account keyed by keccak(slot)), for
any stored block. An absent account or slot gets a proof of absence: the nodes down to where its
path ends.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from trie import HexaryTrie

from linen.chain.kv import StateNodeReader
from linen.errors import InvalidParams, LimitExceeded
from linen.primitives.hexcodec import parse_address, parse_data
from linen.rpc.backend import RpcBackend
from linen.rpc.format import d, q, word
from linen.rpc.params import expect, show, state_header

MAX_PROOF_KEYS = 1024


def _proof(trie: HexaryTrie, key: bytes) -> list[str]:
    nodes = trie.get_proof(key) if trie.root_hash != BLANK_ROOT_HASH else ()
    out = []
    for index, node in enumerate(nodes):
        encoded = rlp.encode(node)
        # A node shorter than 32 bytes sits inside its parent, not under its own hash: geth leaves it out.
        if index == 0 or len(encoded) >= 32:
            out.append(d(encoded))
    return out


def _slot(value: object, index: int) -> int:
    if not isinstance(value, str):
        raise InvalidParams(f"storage key {index}: expected a hex string, got {show(value)}")
    raw = parse_data(value if len(value) % 2 == 0 else "0x0" + value[2:], f"storage key {index}")
    if len(raw) > 32:
        raise InvalidParams(f"storage key {index}: longer than 32 bytes")
    return int.from_bytes(raw, "big")


def eth_get_proof(backend: RpcBackend, params: list) -> dict[str, Any]:
    address, keys, block = expect(params, 2, 1)
    address_bytes = parse_address(address, "address")
    if not isinstance(keys, list):
        raise InvalidParams(f"storage keys: expected a list of 32-byte keys, got {show(keys)}")
    if len(keys) > MAX_PROOF_KEYS:
        raise LimitExceeded(f"too many storage keys: {len(keys)} > {MAX_PROOF_KEYS}")
    slots = [_slot(key, index) for index, key in enumerate(keys)]
    header = state_header(backend, block)
    db = StateNodeReader(backend.store.kv)
    accounts = HexaryTrie(db, header.state_root)
    account_key = keccak(address_bytes)
    encoded = accounts.get(account_key)
    account = rlp.decode(encoded, sedes=Account) if encoded else Account()
    storage = HexaryTrie(db, account.storage_root)
    storage_proof = []
    for slot in slots:
        slot_key = keccak(slot.to_bytes(32, "big"))
        value = storage.get(slot_key) if account.storage_root != BLANK_ROOT_HASH else b""
        storage_proof.append(
            {
                "key": word(slot),
                "value": q(rlp.decode(value, sedes=rlp.sedes.big_endian_int) if value else 0),
                "proof": _proof(storage, slot_key),
            }
        )
    return {
        "address": d(address_bytes),
        "accountProof": _proof(accounts, account_key),
        "balance": q(account.balance),
        "codeHash": d(account.code_hash if encoded else EMPTY_SHA3),
        "nonce": q(account.nonce),
        "storageHash": d(account.storage_root),
        "storageProof": storage_proof,
    }


METHODS = {"eth_getProof": eth_get_proof}
