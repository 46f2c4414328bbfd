"""Pre-signed load for the benchmarks: senders, EIP-1559 transfers and ERC-20 calls, RLP by hand (fast)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import coincurve
from eth_hash.auto import keccak

from linen.benchmarks.load_client import SEND_PREFIX, SEND_SUFFIX

MAX_FEE = 10**9  # 1 gwei fee cap; the base fee sits at its 7 wei floor
TIP = 10**9  # 1 gwei priority fee (effective tip: fee cap - base fee)
ETH_GAS = 21_000
ERC20_GAS = 90_000  # a transfer to a fresh address uses ~52k
TOKEN = 10**18  # "1 token" (18 decimals)
TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")  # transfer(address,uint256)
BALANCE_OF_SELECTOR = bytes.fromhex("70a08231")  # balanceOf(address)


# -- signing (pre-computed, so a minimal RLP encoder beats the general one by ~20 us/tx) ------------
def _rlp_len(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def _rlp_bytes(value: bytes) -> bytes:
    if len(value) == 1 and value[0] < 0x80:
        return value
    return _rlp_len(len(value), 0x80) + value


def _rlp_int(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    return _rlp_bytes(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _rlp_list(payload: bytes) -> bytes:
    return _rlp_len(len(payload), 0xC0) + payload


def contract_address(sender: bytes, nonce: int) -> bytes:
    return keccak(_rlp_list(_rlp_bytes(sender) + _rlp_int(nonce)))[12:]


class Signer:
    """A private key that signs EIP-1559 transactions fast (coincurve, hand-rolled RLP)."""

    __slots__ = ("_key", "address", "private_key")

    def __init__(self, private_key: bytes) -> None:
        self.private_key = private_key
        self._key = coincurve.PrivateKey(private_key)
        self.address = keccak(self._key.public_key.format(compressed=False)[1:])[12:]

    @classmethod
    def fresh(cls) -> Signer:
        return cls(os.urandom(32))

    def sign(self, chain_id: int, nonce: int, gas: int, to: bytes, value: int = 0, data: bytes = b"") -> tuple[bytes, bytes]:
        """A signed type-2 transaction: (raw envelope, tx hash). Creates a contract when `to` is b""."""
        fields = (
            _rlp_int(chain_id) + _rlp_int(nonce) + _rlp_int(TIP) + _rlp_int(MAX_FEE) + _rlp_int(gas)
            + _rlp_bytes(to) + _rlp_int(value) + _rlp_bytes(data) + b"\xc0"
        )
        sig = self._key.sign_recoverable(keccak(b"\x02" + _rlp_list(fields)), hasher=None)
        signed = fields + _rlp_int(sig[64]) + _rlp_int(int.from_bytes(sig[:32], "big")) + _rlp_int(int.from_bytes(sig[32:64], "big"))
        raw = b"\x02" + _rlp_list(signed)
        return raw, keccak(raw)


def erc20_transfer_data(to: bytes, amount: int) -> bytes:
    return TRANSFER_SELECTOR + to.rjust(32, b"\x00") + amount.to_bytes(32, "big")


@dataclass(slots=True)
class SignedTx:
    hash: str  # 0x-hex, lower case
    raw: bytes
    body: bytes  # the whole eth_sendRawTransaction request


def signed_tx(raw: bytes, tx_hash: bytes) -> SignedTx:
    hex_raw = ("0x" + raw.hex()).encode()
    return SignedTx("0x" + tx_hash.hex(), raw, SEND_PREFIX + hex_raw + SEND_SUFFIX)


def presign(chain_id: int, kind: str, senders: list[Signer], nonces: list[int], per_sender: int, token: bytes | None) -> list[list[SignedTx]]:
    """Per sender, `per_sender` consecutive-nonce transfers to random fresh addresses."""
    lanes = []
    for sender, first in zip(senders, nonces, strict=True):
        txs = []
        for nonce in range(first, first + per_sender):
            recipient = os.urandom(20)
            if kind == "eth":
                raw, tx_hash = sender.sign(chain_id, nonce, ETH_GAS, recipient, 1)
            else:
                assert token is not None
                raw, tx_hash = sender.sign(chain_id, nonce, ERC20_GAS, token, 0, erc20_transfer_data(recipient, TOKEN))
            txs.append(signed_tx(raw, tx_hash))
        lanes.append(txs)
    return lanes
