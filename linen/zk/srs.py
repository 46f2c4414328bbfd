"""Linen's BN254 structured reference string (powers of tau for KZG), the CRS that bb reads with `-c`.

A directory holds bb's two files (layout in native/src/srs.rs) and a manifest, `linen_srs.json`:

    {"format": "linen-srs/1", "points": N, "g2": hex, "security": ...,
     "contributions": [{"index": 0, "name": ..., "kind": "generate" | "contribute" | "import",
                        "tau_g1": hex, "tau_g2": hex, "s_g1": hex, "s_g2": hex, "r_g1": hex, "z": hex}, ...]}

Every contribution but an import carries a proof of knowledge of its secret s (a Schnorr proof bound
to its transcript: the format, its index and name, and the previous [tau]G1 and [tau]G2) and the
pairing checks tie it to the previous contribution, so `verify` checks the whole chain: each
contribution's proof, that each new [tau] is the previous one raised to its s, that the last one is the
files', and that the files' G1 points are successive powers of that tau (pairing checks of every
consecutive pair, batched with random coefficients). The SRS is secure if one contributor threw
their secret away; a one-party SRS (the devnet's) is labelled insecure, since its maker could forge.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

FORMAT = "linen-srs/1"
MANIFEST = "linen_srs.json"
G1_FILE = "bn254_g1.dat"
G2_FILE = "bn254_g2.dat"
INSECURE = "insecure: one party made it and could forge proofs (development only)"
# bb's CRS for a circuit of dyadic size 2^k needs 2^k points (+1 for some flavours): 2^21 + 1
# covers every circuit up to 2^21 gates.
DEFAULT_POINTS = 2**21 + 1
G1_GENERATOR = (1).to_bytes(32, "big") + (2).to_bytes(32, "big")
G2_GENERATOR = bytes.fromhex(
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
    "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
    "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
)


class SrsError(ValueError):
    """The SRS is missing, malformed, or does not verify; the message says which check failed."""


def _native():  # type: ignore[no-untyped-def]
    try:
        import linen_native
    except ImportError as exc:
        raise SrsError(f"the SRS tool is native code: build native/ (`./run setup`) first ({exc})") from None
    if not hasattr(linen_native, "srs_generate"):
        raise SrsError("the installed linen_native predates the SRS tool: rebuild native/ (`./run setup`)")
    return linen_native


@dataclass(frozen=True)
class SrsInfo:
    """What a verified (or freshly made) SRS directory holds."""

    directory: Path
    points: int
    g2: bytes  # [tau]G2, bb's 128-byte layout
    security: str
    contributions: int
    seconds: float = 0.0


def _transcript(index: int, name: str, prev_tau_g1: bytes, prev_tau_g2: bytes) -> bytes:
    return f"{FORMAT}|{index}|{name}|".encode() + prev_tau_g1 + prev_tau_g2


def _record(index: int, name: str, kind: str, raw: dict, tau_g2: bytes) -> dict:
    entry = {"index": index, "name": name, "kind": kind, "tau_g2": tau_g2.hex()}
    entry.update({k: bytes(v).hex() for k, v in raw.items()})
    return entry


def _write_manifest(directory: Path, manifest: dict) -> None:
    tmp = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, directory / MANIFEST)


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise SrsError(f"{path} not found: not a Linen SRS directory (import a .ptau with `linen setup import-ptau`)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise SrsError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def generate(
    directory: Path, points: int = DEFAULT_POINTS, seed: bytes | None = None, name: str = "linen setup srs",
    threads: int = 0,
) -> SrsInfo:
    """A one-party SRS of `points` G1 powers in `directory`. tau comes from `seed` (random if None,
    and never stored); the result is labelled insecure until someone else contributes."""
    directory = Path(directory)
    started = time.monotonic()
    raw = _native().srs_generate(
        str(directory), points, seed if seed is not None else os.urandom(32),
        _transcript(0, name, G1_GENERATOR, G2_GENERATOR), threads,
    )
    g2 = (directory / G2_FILE).read_bytes()
    _write_manifest(directory, {
        "format": FORMAT, "points": points, "g2": g2.hex(), "security": INSECURE,
        "contributions": [_record(0, name, "generate", raw, g2)],
    })
    return SrsInfo(directory, points, g2, INSECURE, 1, time.monotonic() - started)


def contribute(src: Path, dst: Path, name: str, entropy: bytes | None = None, threads: int = 0) -> SrsInfo:
    """`src`'s SRS raised to a fresh secret (from `entropy` and the OS's randomness), written to `dst`
    with the contribution appended to the manifest."""
    src, dst = Path(src), Path(dst)
    manifest = read_manifest(src)
    prev = manifest["contributions"][-1]
    index = len(manifest["contributions"])
    started = time.monotonic()
    secret = os.urandom(32) + (entropy or b"")
    raw = _native().srs_contribute(
        str(src), str(dst), secret,
        _transcript(index, name, bytes.fromhex(prev["tau_g1"]), bytes.fromhex(prev["tau_g2"])), threads,
    )
    del secret
    g2 = (dst / G2_FILE).read_bytes()
    contributors = {c["name"] for c in manifest["contributions"]} | {name}
    security = (f"{len(manifest['contributions']) + 1} contributions ({len(contributors)} names): secure if any one "
                "contributor discarded their secret")
    manifest = {**manifest, "g2": g2.hex(), "security": security,
                "contributions": [*manifest["contributions"], _record(index, name, "contribute", raw, g2)]}
    _write_manifest(dst, manifest)
    return SrsInfo(dst, manifest["points"], g2, security, len(manifest["contributions"]), time.monotonic() - started)


def import_ptau(ptau: Path, dst: Path, points: int, name: str | None = None) -> SrsInfo:
    """The first `points` G1 powers and [tau]G2 of a snarkjs .ptau file as a Linen SRS in `dst`
    (verified before it is accepted). Its contributions stay in the .ptau; the manifest names it."""
    dst = Path(dst)
    started = time.monotonic()
    power = _native().srs_import_ptau(str(ptau), str(dst), points)
    g1_head = _read_g1(dst, 1)
    g2 = (dst / G2_FILE).read_bytes()
    label = name or f"snarkjs powers of tau {Path(ptau).name} (power {power})"
    security = f"imported from {label}: as secure as that ceremony"
    _write_manifest(dst, {
        "format": FORMAT, "points": points, "g2": g2.hex(), "security": security,
        "contributions": [{"index": 0, "name": label, "kind": "import", "tau_g1": g1_head.hex(), "tau_g2": g2.hex()}],
    })
    info = verify(dst, points)
    return SrsInfo(dst, info.points, g2, security, 1, time.monotonic() - started)


def _read_g1(directory: Path, index: int) -> bytes:
    with open(Path(directory) / G1_FILE, "rb") as f:
        f.seek(64 * index)
        point = f.read(64)
    if len(point) != 64:
        raise SrsError(f"{directory / G1_FILE} has no point {index}")
    return point


def verify(directory: Path, min_points: int = 0, threads: int = 0) -> SrsInfo:
    """Check the SRS in `directory` and its contribution chain; SrsError names the first failure."""
    directory = Path(directory)
    started = time.monotonic()
    native = _native()
    manifest = read_manifest(directory)
    try:
        points, g2 = native.srs_verify(str(directory), min_points, threads)
    except ValueError as exc:
        raise SrsError(f"{directory}: {exc}") from None
    g2 = bytes(g2)
    if manifest["points"] != points:
        raise SrsError(f"{directory}: the manifest says {manifest['points']} points, the file holds {points}")
    chain = manifest["contributions"]
    if not chain:
        raise SrsError(f"{directory}: the manifest lists no contribution")
    first = chain[0]
    if first["kind"] == "import":
        prev_g1, prev_g2 = bytes.fromhex(first["tau_g1"]), bytes.fromhex(first["tau_g2"])
        rest = chain[1:]
    else:
        prev_g1, prev_g2 = G1_GENERATOR, G2_GENERATOR
        rest = chain
    for entry in rest:
        index, name = entry["index"], entry["name"]
        if entry["kind"] not in ("generate", "contribute"):
            raise SrsError(f"{directory}: contribution {index} ({name}) is of kind {entry['kind']!r} mid-chain")
        try:
            native.srs_check_contribution(
                prev_g1, bytes.fromhex(entry["tau_g1"]), bytes.fromhex(entry["tau_g2"]),
                bytes.fromhex(entry["s_g1"]), bytes.fromhex(entry["s_g2"]), bytes.fromhex(entry["r_g1"]),
                bytes.fromhex(entry["z"]), _transcript(index, name, prev_g1, prev_g2),
            )
        except ValueError as exc:
            raise SrsError(f"{directory}: contribution {index} ({name}): {exc}") from None
        prev_g1, prev_g2 = bytes.fromhex(entry["tau_g1"]), bytes.fromhex(entry["tau_g2"])
    if prev_g1 != _read_g1(directory, 1) or prev_g2 != g2:
        raise SrsError(f"{directory}: the files are not the last contribution's ([tau]G1 or [tau]G2 differs)")
    return SrsInfo(directory, points, g2, manifest.get("security", ""), len(chain), time.monotonic() - started)


def ensure_dev_srs(directory: Path, min_points: int = DEFAULT_POINTS, threads: int = 0) -> SrsInfo:
    """The devnet's SRS: reuse the one in `directory` if it has `min_points`, else make a one-party
    (insecure) one there. Made once, on first start; later starts only read its manifest and sizes."""
    directory = Path(directory)
    try:
        manifest = read_manifest(directory)
        size = (directory / G1_FILE).stat().st_size
        if manifest["points"] >= min_points and size == 64 * manifest["points"] and (directory / G2_FILE).exists():
            return SrsInfo(directory, manifest["points"], (directory / G2_FILE).read_bytes(),
                           manifest.get("security", ""), len(manifest["contributions"]))
    except (SrsError, OSError, KeyError, ValueError):
        pass
    return generate(directory, max(min_points, 2), name="linen devnet (one party)", threads=threads)
