"""Clique sealing: the sequencer signs each header into the last 65 bytes of extraData.

The signature covers keccak(rlp(header)) with the 65-byte seal cut from extraData, as in geth's
`SealHash`; the block hash then covers the full extraData, signature included.
"""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak
from eth_keys import keys

from linen.chain.genesis import CLIQUE_SEAL, CLIQUE_VANITY
from linen.chain.types import BlockHeader

DIFF_IN_TURN = 2  # a single signer is always in turn


def seal_hash(header: BlockHeader) -> bytes:
    unsealed = header.copy(extra_data=header.extra_data[:-CLIQUE_SEAL])
    return keccak(rlp.encode(unsealed))


def seal_header(header: BlockHeader, vanity: bytes, key: keys.PrivateKey) -> BlockHeader:
    """Return `header` with Clique extraData (vanity + signature) filled in."""
    vanity = vanity.ljust(CLIQUE_VANITY, b"\x00")[:CLIQUE_VANITY]
    template = header.copy(extra_data=vanity + b"\x00" * CLIQUE_SEAL)
    signature = key.sign_msg_hash(seal_hash(template))
    return template.copy(extra_data=vanity + signature.to_bytes())


def recover_signer(header: BlockHeader) -> bytes:
    """The address that sealed `header` (raises if extraData holds no valid seal)."""
    if len(header.extra_data) < CLIQUE_VANITY + CLIQUE_SEAL:
        raise ValueError("extraData too short for a Clique seal")
    signature = keys.Signature(header.extra_data[-CLIQUE_SEAL:])
    return signature.recover_public_key_from_msg_hash(seal_hash(header)).to_canonical_address()
