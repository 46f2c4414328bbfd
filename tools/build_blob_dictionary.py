"""Generate Linen's blob lzss dictionary (linen/protocol/blob/dictionary_v1.bin) from its own traffic.

A Linen chain must not depend on another project's dictionary, and the dictionary should hold what
Linen's blocks actually repeat. This script makes seeded sample blocks of the traffic a Linen chain
carries — ETH transfers, ERC-20 transfers / approvals / transferFrom, contract deployments of
Linen's own contracts, L2 message-service calls (sendMessage, claimMessage, anchoring) — signed
with the development accounts on the devnet chain id, encodes them exactly as a blob does
(`block_encoding.encode_block`) and hands them to `build_dictionary`.

Run from the repository root:  .venv/bin/python tools/build_blob_dictionary.py [--out PATH]

The contracts are compiled with the project's pinned solc (needs node); with `--no-compile`, or if
that fails, deployments use a small hand-written init code instead and the script says so. The
same seed and the same compiled contracts give the same dictionary, byte for byte.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import rlp
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linen.chain.genesis import DEFAULT_CHAIN_ID  # noqa: E402
from linen.devaccounts import dev_accounts, operator_dev_account  # noqa: E402
from linen.protocol.blob.block_encoding import BlobBlock, encode_block  # noqa: E402
from linen.protocol.blob.dictionary import DICTIONARY_SIZE, build_dictionary  # noqa: E402
from linen.protocol.blob.lzss import compress  # noqa: E402

DEFAULT_OUT = ROOT / "linen" / "protocol" / "blob" / "dictionary_v1.bin"
GWEI = 10**9
ETHER = 10**18
MAX_UINT = 2**256 - 1

# A minimal creation code (returns a tiny runtime that stores nothing): used only without solc.
FALLBACK_INIT_CODE = bytes.fromhex("6080604052348015600f57600080fd5b50603f80601d6000396000f3fe") + bytes(63)


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


def create_address(sender: str, nonce: int) -> bytes:
    return keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:]


def compiled_init_codes(compile_contracts: bool) -> list[bytes]:
    """Creation code of Linen's own contracts (with constructor arguments where they take some)."""
    if not compile_contracts:
        print("deployments: hand-written init code (--no-compile)")
        return [FALLBACK_INIT_CODE]
    try:
        from linen.l1.artifacts import compile_contracts as compile_all

        with tempfile.TemporaryDirectory() as cache:
            artifacts = compile_all(Path(cache))
    except Exception as exc:  # noqa: BLE001 - a tool: say why and carry on with the fallback
        print(f"deployments: could not compile the contracts ({exc}); using hand-written init code")
        return [FALLBACK_INIT_CODE]
    codes = []
    for name in sorted(artifacts):
        code = bytes.fromhex(artifacts[name].bytecode.removeprefix("0x"))
        if code:
            codes.append(code)
    print(f"deployments: {len(codes)} compiled contracts ({', '.join(sorted(artifacts))})")
    return codes


class Traffic:
    """Seeded generator of signed transactions of the kinds a Linen chain carries."""

    def __init__(self, seed: int, chain_id: int, init_codes: list[bytes]) -> None:
        self.rng = random.Random(seed)
        self.chain_id = chain_id
        self.users = [(a.address, a.private_key) for a in dev_accounts()]
        operator = operator_dev_account()
        self.operator = (operator.address, operator.private_key)
        self.nonces: dict[str, int] = {}
        self.init_codes = init_codes
        self.message_service = create_address(operator.address, 0)
        self.tokens = [create_address(self.users[0][0], n) for n in range(4)]
        self.strangers = [self.rng.randbytes(20) for _ in range(40)]
        self.message_nonce = 1

    def _nonce(self, address: str) -> int:
        nonce = self.nonces.get(address, 0)
        self.nonces[address] = nonce + 1
        return nonce

    def _amount(self) -> int:
        return self.rng.choice([1, 2, 5, 10, 25, 50, 100, 250]) * 10 ** self.rng.choice([15, 16, 17, 18])

    def _recipient(self) -> bytes:
        if self.rng.random() < 0.5:
            return bytes.fromhex(self.rng.choice(self.users)[0][2:])
        return self.rng.choice(self.strangers)

    def sign(
        self, account: tuple[str, str], to: bytes | None, value: int, data: bytes, gas: int
    ) -> tuple[bytes, bytes]:
        address, key = account
        tx: dict = {"nonce": self._nonce(address), "gas": gas, "value": value, "data": data, "chainId": self.chain_id}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        if self.rng.random() < 0.15:
            tx["gasPrice"] = self.rng.choice([1, 2, 3]) * GWEI + self.rng.randrange(10**8)
        else:
            tx["maxPriorityFeePerGas"] = self.rng.choice([GWEI // 10, GWEI, 2 * GWEI])
            tx["maxFeePerGas"] = (
                tx["maxPriorityFeePerGas"] + self.rng.choice([1, 2, 5]) * GWEI + self.rng.randrange(GWEI)
            )
            tx["type"] = 2
        signed = Account.sign_transaction(tx, key)
        return bytes.fromhex(address[2:]), bytes(signed.raw_transaction)

    def transaction(self) -> tuple[bytes, bytes]:
        kind = self.rng.random()
        user = self.rng.choice(self.users)
        if kind < 0.33:
            return self.sign(user, self._recipient(), self._amount(), b"", 21000)
        if kind < 0.58:
            data = selector("transfer(address,uint256)") + abi_encode(
                ["address", "uint256"], [self._recipient(), self.rng.randrange(1, 10**6) * 10**12]
            )
            return self.sign(user, self.rng.choice(self.tokens), 0, data, self.rng.choice([52000, 65000]))
        if kind < 0.68:
            amount = MAX_UINT if self.rng.random() < 0.5 else self._amount()
            data = selector("approve(address,uint256)") + abi_encode(
                ["address", "uint256"], [self._recipient(), amount]
            )
            return self.sign(user, self.rng.choice(self.tokens), 0, data, 46000)
        if kind < 0.73:
            data = selector("transferFrom(address,address,uint256)") + abi_encode(
                ["address", "address", "uint256"], [self._recipient(), self._recipient(), self._amount()]
            )
            return self.sign(user, self.rng.choice(self.tokens), 0, data, 70000)
        if kind < 0.85:
            fee = self.rng.choice([10**14, 2 * 10**14, 10**15])
            payload = b"" if self.rng.random() < 0.6 else self.rng.randbytes(self.rng.choice([4, 36, 68]))
            data = selector("sendMessage(address,uint256,bytes)") + abi_encode(
                ["address", "uint256", "bytes"], [self._recipient(), fee, payload]
            )
            return self.sign(user, self.message_service, self._amount() + fee, data, 120000)
        if kind < 0.93:
            self.message_nonce += 1
            data = selector("claimMessage(address,address,uint256,uint256,address,bytes,uint256)") + abi_encode(
                ["address", "address", "uint256", "uint256", "address", "bytes", "uint256"],
                [self._recipient(), self._recipient(), 10**14, self._amount(), bytes(20), b"", self.message_nonce],
            )
            return self.sign(user, self.message_service, 0, data, 150000)
        if kind < 0.97:
            hashes = [self.rng.randbytes(32) for _ in range(self.rng.randrange(1, 6))]
            start = self.message_nonce
            self.message_nonce += len(hashes)
            data = selector("anchorL1L2MessageHashes(bytes32[],uint256,uint256,bytes32)") + abi_encode(
                ["bytes32[]", "uint256", "uint256", "bytes32"],
                [hashes, start, self.message_nonce - 1, self.rng.randbytes(32)],
            )
            return self.sign(self.operator, self.message_service, 0, data, 200000)
        code = self.rng.choice(self.init_codes)
        return self.sign(user, None, 0, code, 3_000_000)


def sample_blocks(traffic: Traffic, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed + 1)
    timestamp = 1_750_000_000
    blocks = []
    for _ in range(count):
        timestamp += 2
        transactions = tuple(traffic.transaction() for _ in range(rng.choice([1, 1, 2, 3, 5, 8, 13])))
        blocks.append(encode_block(BlobBlock(timestamp, rng.randbytes(32), transactions)))
    return blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--blocks", type=int, default=600, help="sample blocks to learn from")
    parser.add_argument("--seed", type=int, default=59139)
    parser.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_ID)
    parser.add_argument("--size", type=int, default=DICTIONARY_SIZE)
    parser.add_argument("--no-compile", action="store_true", help="do not compile the contracts for deployments")
    args = parser.parse_args(argv)

    started = time.monotonic()
    traffic = Traffic(args.seed, args.chain_id, compiled_init_codes(not args.no_compile))
    samples = sample_blocks(traffic, args.blocks, args.seed)
    print(f"{len(samples)} sample blocks, {sum(map(len, samples))} bytes encoded")
    dictionary = build_dictionary(samples, args.size)
    args.out.write_bytes(dictionary)
    print(f"wrote {args.out} ({len(dictionary)} bytes) in {time.monotonic() - started:.1f}s")

    # How much the dictionary helps on fresh traffic (a different seed than it learnt from).
    check = sample_blocks(Traffic(args.seed + 1000, args.chain_id, traffic.init_codes), 100, args.seed + 1000)
    data = b"".join(check)
    with_dictionary = len(compress(data, dictionary))
    without = len(compress(data, b""))
    print(f"100 fresh blocks, {len(data)} bytes: {with_dictionary} compressed with it, {without} without")
    small = b"".join(check[:10])
    print(
        f"10 fresh blocks, {len(small)} bytes: {len(compress(small, dictionary))} with it, {len(compress(small, b''))} without"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
