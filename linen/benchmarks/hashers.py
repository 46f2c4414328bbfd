"""Hasher benchmark: hashes/s of the state-tree hash functions, pure Python vs Rust, and tree ops/s.

For each hash function (mimc-bls12-377, poseidon2-bn254) and each backend (`python`: the reference
in linen/state/hashers/{mimc,poseidon2}.py; `native`: the Rust extension linen_native):

1. `hash` of 2 words (a tree node) and of 4 words (a leaf opening), one Python call per hash;
2. native only, the batch forms: `hash_pairs` over 1,024 pairs in one call (split over the cores),
   and `path_hashes` of a 40-level path (one call = 40 hashes, the tree's path recomputation);
3. SparseMerkleTree (linen/state/tree.py, in-memory store) with that hasher: inserts of fresh
   32-byte storage keys (3 leaves written, 3 x 40 node hashes, ~130 hashes in all) and updates of
   existing keys (1 leaf, 40 node hashes, ~45 hashes).

Each rate is the best of `repeats` rounds of about `seconds` each (the machine may be shared; the
best round is the least disturbed). `run()` prints a table and writes JSON atomically to `out`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import random
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from linen.benchmarks.machine import machine_info as common_machine_info
from linen.benchmarks.machine import publish
from linen.state.hashers import HASHER_NAMES, NATIVE_AVAILABLE, Hasher, get_hasher
from linen.state.tree import SparseMerkleTree

DEFAULT_OUT = Path("bench/results/hashers.json")
TREE_DEPTH_BENCH = 40
PAIRS_BATCH = 1024
PREFILL = 1000  # keys put in each tree before measuring, so lookups are not of an empty tree


def _words(modulus: int, n: int, rng: random.Random) -> list[bytes]:
    return [rng.randrange(modulus).to_bytes(32, "big") for _ in range(n)]


def measure(fn: Callable[[], int], seconds: float, repeats: int) -> float:
    """Best rate over `repeats` rounds: `fn()` does some work and returns how many units it did."""
    best = 0.0
    for _ in range(repeats):
        done = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            done += fn()
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, done / (now - start))
    return best


def hash_rates(hasher: Hasher, seconds: float, repeats: int, rng: random.Random) -> dict[str, float]:
    two = _words(hasher.modulus, 2, rng)
    four = _words(hasher.modulus, 4, rng)
    chunk = 200 if getattr(hasher, "native", False) else 10

    def loop(words: list[bytes]) -> Callable[[], int]:
        h = hasher.hash

        def run() -> int:
            for _ in range(chunk):
                h(words)
            return chunk

        return run

    rates = {
        "hash_2_words": measure(loop(two), seconds, repeats),
        "hash_4_words": measure(loop(four), seconds, repeats),
    }
    if getattr(hasher, "native", False):
        left = _words(hasher.modulus, PAIRS_BATCH, rng)
        right = _words(hasher.modulus, PAIRS_BATCH, rng)
        siblings = _words(hasher.modulus, TREE_DEPTH_BENCH, rng)
        leaf = two[0]
        rates[f"hash_pairs_batch_{PAIRS_BATCH}"] = measure(
            lambda: len(hasher.hash_pairs(left, right)), seconds, repeats
        )
        rates[f"path_hashes_{TREE_DEPTH_BENCH}"] = measure(
            lambda: len(hasher.path_hashes(12345, leaf, siblings)), seconds, repeats
        )
    return {k: round(v) for k, v in rates.items()}


def tree_rates(hasher: Hasher, seconds: float, repeats: int, rng: random.Random) -> dict[str, float]:
    tree = SparseMerkleTree(hasher)
    keys = [rng.randbytes(32) for _ in range(PREFILL if getattr(hasher, "native", False) else PREFILL // 20)]
    for key in keys:
        tree.put(key, rng.randbytes(32))

    def insert() -> int:
        tree.put(rng.randbytes(32), rng.randbytes(32))
        return 1

    def update() -> int:
        tree.put(rng.choice(keys), rng.randbytes(32))
        return 1

    return {
        "inserts_per_s": round(measure(insert, seconds, repeats), 1),
        "updates_per_s": round(measure(update, seconds, repeats), 1),
    }


def machine_info() -> dict[str, Any]:
    """The common machine record plus the Rust compiler that built the native hashers."""
    info = common_machine_info(("linen", "linen-native"))
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        output = subprocess.run(["rustc", "--version"], capture_output=True, text=True, timeout=10)
        info["rustc"] = output.stdout.strip() or None
    return info


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'hasher':<17}{'backend':<8}{'figure':<26}{'rate':>14}"]
    for name, backends in result["hashers"].items():
        for backend, rates in backends.items():
            for figure, rate in {**rates["hashes_per_s"], **rates["tree"]}.items():
                unit = "ops/s" if figure.endswith("_per_s") else "hashes/s"
                lines.append(f"{name:<17}{backend:<8}{figure:<26}{rate:>14,.0f} {unit}")
    for name, speedup in result["speedup_native_over_python"].items():
        figures = ", ".join(f"{k} {v}x" for k, v in speedup.items())
        lines.append(f"{name}: native/python {figures}")
    return "\n".join(lines)


def run(
    seconds: float = 1.0,
    repeats: int = 3,
    out: Path = DEFAULT_OUT,
    hashers: Sequence[str] = HASHER_NAMES,
    *,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure every hasher with both backends; print a table, write JSON to `out`, return it."""
    unknown = [h for h in hashers if h not in HASHER_NAMES]
    if unknown:
        raise ValueError(f"unknown hashers: {unknown} (choose from {HASHER_NAMES})")
    if seconds <= 0 or repeats < 1:
        raise ValueError("seconds must be > 0 and repeats >= 1")
    backends = ("python", "native") if NATIVE_AVAILABLE else ("python",)
    if not NATIVE_AVAILABLE:
        echo("[bench] linen_native is not installed: measuring the Python hashers only (./run setup builds it)")
    started = datetime.datetime.now(datetime.UTC)
    machine = machine_info()
    rng = random.Random(1)
    detail: dict[str, dict[str, Any]] = {}
    for name in hashers:
        detail[name] = {}
        for backend in backends:
            hasher = get_hasher(name, native=backend == "native")
            echo(f"[bench] {name} / {backend} ...")
            detail[name][backend] = {
                "hashes_per_s": hash_rates(hasher, seconds, repeats, rng),
                "tree": tree_rates(hasher, seconds, repeats, rng),
            }
    speedup: dict[str, dict[str, float]] = {}
    for name, per_backend in detail.items():
        if "native" in per_backend:
            py, nat = per_backend["python"], per_backend["native"]
            speedup[name] = {
                key: round(nat[group][key] / py[group][key], 1)
                for group in ("hashes_per_s", "tree")
                for key in py[group]
                if py[group][key]
            }
    result = {
        "benchmark": "hashers",
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.datetime.now(datetime.UTC) - started).total_seconds(), 1),
        "config": {
            "seconds_per_round": seconds,
            "repeats": repeats,
            "hashers": list(hashers),
            "backends": list(backends),
            "pairs_batch": PAIRS_BATCH,
            "path_depth": TREE_DEPTH_BENCH,
            "tree_prefill_keys": {"native": PREFILL, "python": PREFILL // 20},
        },
        "machine": machine,
        "hashers": detail,
        "speedup_native_over_python": speedup,
    }
    return publish(out, result, format_table, echo)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="State-tree hashers: hashes/s and tree ops/s, Python vs Rust.")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one measured round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per figure; the best is kept")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--hashers", default=",".join(HASHER_NAMES), help="comma-separated hasher names")
    args = parser.parse_args(argv)
    return run(
        seconds=args.seconds,
        repeats=args.repeats,
        out=args.out,
        hashers=tuple(h for h in args.hashers.split(",") if h),
    )


if __name__ == "__main__":
    main()
