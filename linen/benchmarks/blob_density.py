"""Blob density: how many L2 transactions one 131072-byte blob carries, Linen's encoding vs compressed RLP.

The same blocks are measured three ways, for plain ETH transfers and for ERC-20 `transfer` calls:

- **linen**: blob v1 as the coordinator writes it (block_encoding: senders instead of signatures, no
  headers; lzss with `linen_dictionary()`; packed into 254-bit words), filled block by block with a
  `BlobCompressor` until the next block is refused;
- **zstd-19** and **brotli-11**: the blocks' consensus RLP (`[header, [txs], [], []]`, signed
  envelopes, Clique-sealed Prague headers) concatenated and compressed in one piece; the blob holds
  the largest number of whole blocks whose compressed size is at most 131072 bytes (binary search).

The blocks are built in-process, not executed: 50 senders (seeded keys) with consecutive nonces,
EIP-1559 envelopes signed for chain 59139, fresh random recipients, ~100 txs a block, each sender
with its own tip and the fee cap following a per-block estimate; headers carry a real transaction
root, receipts root and logs bloom (from the Transfer logs an ERC-20 call emits), base fee 7 wei,
one-second timestamps and a real Clique seal; only the state root is random (it is a hash either way).
`run()` prints a table and writes JSON atomically to `out`; bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import datetime
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import coincurve
import rlp
import zstandard
from eth.constants import BLANK_ROOT_HASH
from eth_bloom import BloomFilter
from eth_hash.auto import keccak
from eth_keys import keys

from linen.benchmarks.machine import machine_info, publish
from linen.chain.types import BlockHeader
from linen.coordinator.execution_request import encode_block_rlp
from linen.execution.transactions import decode_transaction
from linen.primitives.ordered_trie import ordered_trie_root
from linen.protocol.blob import BLOB_SIZE, BlobBlock, BlobCompressor, linen_dictionary
from linen.sequencer.clique import DIFF_IN_TURN, seal_header
from linen.sequencer.producer import EMPTY_REQUESTS_HASH
from linen.state.hashers import get_hasher

DEFAULT_OUT = Path("bench/results/blob_density.json")
KINDS = ("eth", "erc20")
CHAIN_ID = 59139
BASE_FEE = 7
TOKEN = bytes.fromhex("176211869ca2b568f2a7d4ee941e073a821ee1ff")  # a fixed token address (USDC's on Linea)
TRANSFER_SELECTOR = keccak(b"transfer(address,uint256)")[:4]
TRANSFER_TOPIC = keccak(b"Transfer(address,address,uint256)")
ERC20_GAS_USED = 51_500  # a transfer to a fresh holder (a new balance slot)
CODECS: dict[str, Callable[[bytes], bytes]] = {
    "zstd-19": lambda data: zstandard.ZstdCompressor(level=19).compress(data),
    "brotli-11": lambda data: brotli.compress(data, quality=11),
}


@dataclass
class Sender:
    key: coincurve.PrivateKey
    address: bytes
    nonce: int
    tip: int


@dataclass(frozen=True)
class MadeBlock:
    rlp: bytes
    blob_block: BlobBlock
    tx_count: int


def sign_dynamic_fee(sender: Sender, max_fee: int, gas: int, to: bytes, value: int, data: bytes) -> bytes:
    """An EIP-1559 envelope `0x02 || rlp([...fields, yParity, r, s])` signed with coincurve (fast, low-s)."""
    fields = [CHAIN_ID, sender.nonce, sender.tip, max_fee, gas, to, value, data, []]
    sender.nonce += 1
    signature = sender.key.sign_recoverable(keccak(b"\x02" + rlp.encode(fields)), hasher=None)
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    return b"\x02" + rlp.encode([*fields, v, r, s])


class BlockFactory:
    """Builds consecutive blocks of one kind of transfer; deterministic for a given seed."""

    def __init__(self, kind: str, txs_per_block: int, senders: int, seed: int) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} (choose from {KINDS})")
        self.kind = kind
        self.txs_per_block = txs_per_block
        self.rng = random.Random(f"{seed}-{kind}")
        tips = (10**7, 5 * 10**7, 10**8, 10**9)  # each wallet keeps its own tip
        self.senders = []
        for _ in range(senders):
            key = coincurve.PrivateKey(self.rng.randbytes(32))
            address = keccak(key.public_key.format(compressed=False)[1:])[12:]
            self.senders.append(Sender(key, address, self.rng.randrange(5000), self.rng.choice(tips)))
        self.sealer = keys.PrivateKey(self.rng.randbytes(32))
        self.coinbase = self.rng.randbytes(20)
        self.number = 5_000_000
        self.timestamp = 1_750_000_000
        self.parent_hash = self.rng.randbytes(32)

    def _transaction(self, sender: Sender, max_fee: int) -> tuple[bytes, int, list[Any]]:
        rng = self.rng
        recipient = rng.randbytes(20)
        if self.kind == "eth":  # half round amounts as typed in a wallet, half arbitrary (bridged, "max")
            value = rng.randrange(1, 1000) * 10 ** rng.randrange(13, 17) if rng.random() < 0.5 else rng.randrange(
                10**15, 10**18)
            return sign_dynamic_fee(sender, max_fee, 21_000, recipient, value, b""), 21_000, []
        amount = rng.randrange(10**6, 10**10)  # 1 to 10,000 units of a 6-decimal token
        data = TRANSFER_SELECTOR + recipient.rjust(32, b"\0") + amount.to_bytes(32, "big")
        gas = rng.randrange(52_000, 78_000)  # wallets add a margin to the estimate
        log = [TOKEN, [TRANSFER_TOPIC, sender.address.rjust(32, b"\0"), recipient.rjust(32, b"\0")],
               amount.to_bytes(32, "big")]
        return sign_dynamic_fee(sender, max_fee, gas, TOKEN, 0, data), ERC20_GAS_USED, [log]

    def next_block(self) -> MadeBlock:
        rng = self.rng
        max_fee = rng.randrange(5 * 10**7, 2 * 10**8)  # the wallets' base-fee estimate this block
        envelopes, pairs, receipts = [], [], []
        bloom = gas_used = 0
        for _ in range(self.txs_per_block):
            sender = rng.choice(self.senders)
            envelope, gas, logs = self._transaction(sender, sender.tip + max_fee)
            gas_used += gas
            receipt_bloom = int(BloomFilter.from_iterable(item for a, topics, _ in logs for item in (a, *topics)))
            bloom |= receipt_bloom
            receipts.append(b"\x02" + rlp.encode([1, gas_used, receipt_bloom.to_bytes(256, "big"), logs]))
            envelopes.append(envelope)
            pairs.append((sender.address, envelope))
        self.number += 1
        self.timestamp += 1
        header = BlockHeader(
            difficulty=DIFF_IN_TURN, block_number=self.number, gas_limit=2_000_000_000, gas_used=gas_used,
            timestamp=self.timestamp, coinbase=self.coinbase, parent_hash=self.parent_hash,
            state_root=rng.randbytes(32), transaction_root=ordered_trie_root(envelopes),
            receipt_root=ordered_trie_root(receipts), bloom=bloom, extra_data=b"",
            mix_hash=b"\0" * 32, nonce=b"\0" * 8, base_fee_per_gas=BASE_FEE, withdrawals_root=BLANK_ROOT_HASH,
            blob_gas_used=0, excess_blob_gas=0, parent_beacon_block_root=b"\0" * 32,
            requests_hash=EMPTY_REQUESTS_HASH,
        )
        header = seal_header(header, b"linen", self.sealer)
        self.parent_hash = header.hash
        block_rlp = encode_block_rlp(header, envelopes)
        return MadeBlock(block_rlp, BlobBlock(self.timestamp, header.hash, tuple(pairs)), len(envelopes))


class Blocks:
    """The factory's blocks, made on demand and kept, so every encoding reads the same ones."""

    def __init__(self, factory: BlockFactory) -> None:
        self.factory = factory
        self.made: list[MadeBlock] = []

    def __getitem__(self, index: int) -> MadeBlock:
        while len(self.made) <= index:
            self.made.append(self.factory.next_block())
        return self.made[index]

    def first(self, n: int) -> list[MadeBlock]:
        self[n - 1]
        return self.made[:n]


def check_transactions(blocks: Blocks, sample: int = 20) -> None:
    """The envelopes are valid for the node: decode_transaction recovers the sender the blob names."""
    for sender, envelope in blocks[0].blob_block.transactions[:sample]:
        if decode_transaction(envelope, CHAIN_ID).sender != sender:
            raise AssertionError("a generated transaction does not recover to its sender")


def fill_linen(blocks: Blocks) -> dict[str, Any]:
    compressor = BlobCompressor(linen_dictionary(), get_hasher("mimc-bls12-377"))
    started = time.perf_counter()
    count = txs = rlp_bytes = 0
    while compressor.append(blocks[count].blob_block):
        txs += blocks[count].tx_count
        rlp_bytes += len(blocks[count].rlp)
        count += 1
    used = compressor.packed_size
    return {
        "blocks": count, "txs_per_blob": txs, "blob_bytes_used": used, "blob_fill": round(used / BLOB_SIZE, 4),
        "bytes_per_tx": round(used / txs, 2),
        "raw_bytes_per_tx": round(compressor.raw_size / txs, 2), "rlp_bytes_per_tx": round(rlp_bytes / txs, 2),
        "compressed": compressor.stream()[2] == 0, "seconds": round(time.perf_counter() - started, 2),
    }


def fill_codec(blocks: Blocks, compress: Callable[[bytes], bytes], limit: int = BLOB_SIZE) -> dict[str, Any]:
    """Largest n with len(compress(rlp of the first n blocks)) <= limit: doubling, then bisection."""
    started = time.perf_counter()
    sizes: dict[int, int] = {}

    def size(n: int) -> int:
        if n not in sizes:
            sizes[n] = len(compress(b"".join(b.rlp for b in blocks.first(n))))
        return sizes[n]

    low, high = 0, 1
    while size(high) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if size(middle) <= limit else (low, middle)
    if low == 0:
        raise ValueError("not even one block fits in a blob")
    chosen = blocks.first(low)
    txs = sum(b.tx_count for b in chosen)
    rlp_bytes = sum(len(b.rlp) for b in chosen)
    return {
        "blocks": low, "txs_per_blob": txs, "blob_bytes_used": size(low), "blob_fill": round(size(low) / limit, 4),
        "bytes_per_tx": round(size(low) / txs, 2),
        "rlp_bytes_per_tx": round(rlp_bytes / txs, 2), "compression_ratio": round(rlp_bytes / size(low), 2),
        "compressions": len(sizes), "seconds": round(time.perf_counter() - started, 2),
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'kind':<7}{'encoding':<11}{'txs/blob':>9}{'blocks':>8}{'bytes/tx':>10}{'rlp B/tx':>10}{'vs linen':>10}"
             f"{'at density':>12}"]
    for kind, per_encoding in result["kinds"].items():
        for name, figures in per_encoding.items():
            ratio = figures["txs_vs_linen"]
            lines.append(f"{kind:<7}{name:<11}{figures['txs_per_blob']:>9,}{figures['blocks']:>8}"
                         f"{figures['bytes_per_tx']:>10.1f}{figures['rlp_bytes_per_tx']:>10.1f}{ratio:>9.2f}x"
                         f"{figures['txs_per_full_blob_at_this_density']:>12,}")
    return "\n".join(lines)


def run(
    kinds: Sequence[str] = KINDS,
    txs_per_block: int = 100,
    senders: int = 50,
    seed: int = 1,
    out: Path = DEFAULT_OUT,
    *,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure every kind with the three encodings; print a table, write JSON to `out`, return it."""
    if txs_per_block < 1 or senders < 1:
        raise ValueError("txs_per_block and senders must be >= 1")
    started = datetime.datetime.now(datetime.UTC)
    detail: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        blocks = Blocks(BlockFactory(kind, txs_per_block, senders, seed))
        check_transactions(blocks)
        echo(f"[bench] {kind}: linen blob v1 ...")
        detail[kind] = {"linen": fill_linen(blocks)}
        for name, compress in CODECS.items():
            echo(f"[bench] {kind}: {name} of the block RLP ...")
            detail[kind][name] = fill_codec(blocks, compress)
        for figures in detail[kind].values():
            figures["txs_per_full_blob_at_this_density"] = int(BLOB_SIZE // figures["bytes_per_tx"])
            figures["txs_vs_linen"] = round(figures["txs_per_blob"] / detail[kind]["linen"]["txs_per_blob"], 3)
            figures["bytes_per_tx_vs_linen"] = round(figures["bytes_per_tx"] / detail[kind]["linen"]["bytes_per_tx"], 3)
    result = {
        "benchmark": "blob_density",
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1),
        "config": {
            "kinds": list(kinds), "txs_per_block": txs_per_block, "senders": senders, "seed": seed,
            "blob_bytes": BLOB_SIZE, "chain_id": CHAIN_ID, "token": "0x" + TOKEN.hex(),
            "linen": "blob v1, linen_dictionary(), MiMC-BLS12-377 checksum, one batch",
            "zstd_level": 19, "brotli_quality": 11,
        },
        "machine": machine_info(("linen", "zstandard", "brotli")),
        "kinds": detail,
    }
    return publish(out, result, format_table, echo)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Transactions per blob: Linen's blob v1 vs zstd/brotli of block RLP.")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: eth,erc20")
    parser.add_argument("--txs-per-block", type=int, default=100)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    return run(tuple(k for k in args.kinds.split(",") if k), args.txs_per_block, args.senders, args.seed, args.out)


if __name__ == "__main__":
    main()
