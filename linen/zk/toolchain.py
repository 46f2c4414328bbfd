"""The proving toolchain: Noir circuits compiled and executed by the pinned noir_wasm / noir_js
(tools/noir_circuit.mjs), proven and verified by the native `bb` that `@aztec/bb.js` ships, always
under Linen's own SRS (`bb -c DIR`, see linen/zk/srs.py): bb never downloads a CRS.

Traps this module guards against (measured with bb 5.0.0, see docs/zk-toolchain.md):

- `bb prove` exits 0 and writes a proof from a witness that does not satisfy the circuit; all it says
  is "(Experimental) WARNING: Builder failure when we have real witnesses! Ignore if writing vk." on
  stderr. `prove` raises UnsatisfiedWitness on that line whatever the exit code.
- `bb verify` checks the final pairing against the canonical Aztec [x]_2 compiled into bb, not the
  G2 of the `-c` directory, so it rejects every proof made under Linen's SRS ("UltraVerifier:
  verification failed at pairing check"). Proofs for the EVM are checked by their Solidity verifier
  with the SRS's [tau]_2 patched in (`solidity_verifier`), and every proof by Linen's own verifier
  (`verify_native`, linen/zk/honk.py); `verify` is kept for proofs under the canonical setup and
  for the sumcheck part (`native_checks`).
- `write_vk`, `prove` and `verify` must use the same `-t` target; `write_vk` needs the SRS to hold
  the circuit's dyadic size in points, and a ZK `prove` at least max(dyadic size, 512) (the masking
  polynomials of the small-subgroup IPA); with fewer, bb tries to download more and fails
  (SrsTooSmall).
- bb reads `BB_VERIFY_CRS` and `CRS_PATH` from the environment; both are removed from its environment.
- bb and node run through `run_tool` (linen/zk/tool_process.py): a given-up attempt, a timeout or
  the death of the process that started them kills them, so no bb outlives the job it was for.

Compiled programs are cached under `<cache>/circuits/` by a hash of the circuit's sources (with its
path dependencies) and the noir_wasm version; verification keys under `<cache>/vk/` by program hash,
target, bb version and SRS (its [tau]_2), so each is made once per circuit version.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from linen.tools import node_modules
from linen.zk.tool_process import ToolTimedOut, run_tool

ROOT = Path(__file__).resolve().parent.parent.parent
NOIR_SCRIPT = ROOT / "tools" / "noir_circuit.mjs"

# -t values bb 5.0.0 accepts; `noir-recursive` for proofs verified inside other circuits
# (std::verify_proof_with_type with proof type 6, HONK_ZK), `evm` for the root proof checked on L1.
TARGETS = ("evm", "evm-no-zk", "noir-recursive", "noir-recursive-no-zk", "noir-rollup", "noir-rollup-no-zk")

BUILDER_FAILURE = "Builder failure"
BB_ASSERTION = "Assertion failed"
# What bb prints when the -c directory holds too few points and it tries to fetch more.
_DOWNLOAD_MARKERS = ("HTTP request failed", "HTTP download", "CRS download failed", "downloading bn254 crs",
                     "download not allowed")


class ToolchainError(RuntimeError):
    """A tool failed; the message carries its output."""


class ToolMissing(ToolchainError):
    """bb, node or the Noir packages are not installed."""


class ExecutionFailed(ToolchainError):
    """noir_js found that the inputs do not satisfy the program (an assertion or constraint fails)."""


class UnsatisfiedWitness(ToolchainError):
    """bb reported 'Builder failure': the witness does not satisfy the circuit (even if bb exited 0)."""


class SrsTooSmall(ToolchainError):
    """The SRS directory holds fewer points than the circuit needs; bb tried to download more."""


# -- locating the tools -------------------------------------------------------------------------------


def _bb_platform_dir() -> str:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = {"linux": "linux", "darwin": "macos"}.get(sys.platform)
    if arch is None or system is None:
        raise ToolMissing(f"@aztec/bb.js ships no native bb for {platform.machine()} {sys.platform}")
    return f"{arch}-{system}"


def bb_path() -> Path:
    """The native bb binary: `LINEN_BB` if set, else the one in tools/node_modules/@aztec/bb.js."""
    override = os.environ.get("LINEN_BB")
    if override:
        return Path(override)
    bundled = node_modules() / "@aztec" / "bb.js" / "build" / _bb_platform_dir() / "bb"
    if bundled.exists():
        return bundled
    raise ToolMissing(f"bb not found at {bundled}: run `./run setup` to install @aztec/bb.js")


def _package_version(name: str) -> str:
    path = node_modules() / name / "package.json"
    if not path.exists():
        raise ToolMissing(f"{name} is not installed in {node_modules()}: run `./run setup`")
    return json.loads(path.read_text())["version"]


def _bb_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BB_VERIFY_CRS", "CRS_PATH")}
    # bb keeps a lock file and falls back to ~/.bb-crs without -c; every call here passes -c.
    return env


_BB_VERSION: dict[Path, str] = {}


def bb_version(bb: Path | None = None) -> str:
    """`bb --version` (e.g. 5.0.0-nightly.20260710 for the npm 5.0.0 package)."""
    bb = bb or bb_path()
    if bb not in _BB_VERSION:
        out = subprocess.run([str(bb), "--version"], capture_output=True, text=True, timeout=30, env=_bb_env())
        if out.returncode != 0:
            raise ToolchainError(f"{bb} --version failed: {out.stderr.strip()}")
        _BB_VERSION[bb] = out.stdout.strip()
    return _BB_VERSION[bb]


# -- circuits -----------------------------------------------------------------------------------------


def _path_dependencies(project: Path) -> list[Path]:
    manifest = tomllib.loads((project / "Nargo.toml").read_text())
    deps = []
    for spec in manifest.get("dependencies", {}).values():
        if isinstance(spec, dict) and "path" in spec:
            deps.append((project / spec["path"]).resolve())
    return deps


def source_digest(project: Path, noir_version: str) -> str:
    """Hash of a Noir project: its Nargo.toml and .nr files and those of its path dependencies
    (recursively), and the compiler version."""
    digest = hashlib.sha256(f"noir {noir_version}\0".encode())
    seen: set[Path] = set()
    todo = [project.resolve()]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        files = [current / "Nargo.toml", *sorted((current / "src").rglob("*.nr"))]
        for path in files:
            digest.update(f"{current.name}/{path.relative_to(current)}\0".encode() + path.read_bytes() + b"\0")
        todo.extend(_path_dependencies(current))
    return digest.hexdigest()


@dataclass(frozen=True)
class Circuit:
    """A compiled Noir program: the artefact bb reads with `-b`."""

    name: str
    digest: str  # source digest (the cache key)
    program_path: Path

    @property
    def program(self) -> dict:
        return json.loads(self.program_path.read_text())

    @property
    def abi(self) -> dict:
        return self.program["abi"]

    @property
    def bytecode_hash(self) -> str:
        return hashlib.sha256(self.program["bytecode"].encode()).hexdigest()


@dataclass(frozen=True)
class Proof:
    """bb's output: the proof bytes and the public inputs (32-byte words), and where they were written."""

    proof: bytes
    public_inputs: list[bytes]
    directory: Path
    seconds: float = 0.0

    @property
    def public_inputs_hex(self) -> list[str]:
        return ["0x" + word.hex() for word in self.public_inputs]


@dataclass
class BbRun:
    args: list[str]
    returncode: int
    output: str  # stdout and stderr together (bb logs on stderr)
    seconds: float


@dataclass
class Toolchain:
    """Compile, execute, key, prove and verify Noir circuits under the SRS in `crs_dir`.

    `cache_dir` holds compiled programs and verification keys; `threads` caps bb's threads
    (OMP_NUM_THREADS / HARDWARE_CONCURRENCY); `timeout` bounds every tool call (seconds)."""

    cache_dir: Path
    crs_dir: Path
    threads: int | None = None
    timeout: float = 3600.0
    bb: Path = field(default_factory=bb_path)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self.crs_dir = Path(self.crs_dir)
        if not (self.crs_dir / "bn254_g1.dat").exists() or not (self.crs_dir / "bn254_g2.dat").exists():
            raise ToolchainError(
                f"no SRS in {self.crs_dir} (bn254_g1.dat, bn254_g2.dat): make one with `linen setup srs`"
            )

    # -- identities used in cache keys

    @property
    def srs_id(self) -> str:
        """The SRS's identity: a hash of its [tau]_2 (which fixes tau, hence every G1 power)."""
        return hashlib.sha256((self.crs_dir / "bn254_g2.dat").read_bytes()).hexdigest()[:16]

    @property
    def srs_points(self) -> int:
        return (self.crs_dir / "bn254_g1.dat").stat().st_size // 64

    # -- Noir

    def _node(self, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
        node = shutil.which("node")
        if node is None:
            raise ToolMissing("node is not on PATH: install Node 20 and run `./run setup`")
        _package_version("@noir-lang/noir_wasm")
        try:
            return run_tool([node, str(NOIR_SCRIPT), *args], input=stdin, timeout=self.timeout, cwd=ROOT,
                            env={**os.environ, "NODE_PATH": str(node_modules())})
        except ToolTimedOut as exc:
            raise ToolchainError(str(exc)) from exc

    def compile(self, project: Path) -> Circuit:
        """The compiled program of the Noir project at `project`, compiled at most once per source version."""
        project = Path(project).resolve()
        if not (project / "Nargo.toml").exists():
            raise ToolchainError(f"no Nargo.toml in {project}")
        name = tomllib.loads((project / "Nargo.toml").read_text())["package"]["name"]
        digest = source_digest(project, _package_version("@noir-lang/noir_wasm"))
        out = self.cache_dir / "circuits" / f"{name}-{digest[:16]}.json"
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            proc = self._node(["compile", str(project), str(out)])
            if proc.returncode != 0:
                raise ToolchainError(f"compiling {project} failed:\n{proc.stderr.strip()}")
        return Circuit(name, digest, out)

    def execute(self, circuit: Circuit, inputs: Mapping, witness_path: Path) -> object:
        """Solve the witness for `inputs` (noir_js), write it (gzipped, as nargo) to `witness_path`;
        returns main's return value (Fields as 0x-hex strings). ExecutionFailed if the inputs do not
        satisfy the program."""
        witness_path = Path(witness_path)
        witness_path.parent.mkdir(parents=True, exist_ok=True)
        proc = self._node(["execute", str(circuit.program_path), str(witness_path), "-"], stdin=json.dumps(inputs))
        if proc.returncode == 3:
            raise ExecutionFailed(proc.stderr.strip())
        if proc.returncode != 0:
            raise ToolchainError(f"executing {circuit.name} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
        return json.loads(proc.stdout)

    # -- bb

    def _bb(self, args: list[str], check_witness: bool = False, crs: bool = True) -> BbRun:
        env = _bb_env()
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
            env["HARDWARE_CONCURRENCY"] = str(self.threads)
        # `gates` takes no -c (bb refuses it: "The following arguments were not expected").
        cmd = [str(self.bb), *args, *(["-c", str(self.crs_dir)] if crs else [])]
        started = time.monotonic()
        try:
            proc = run_tool(cmd, timeout=self.timeout, env=env)
        except ToolTimedOut as exc:
            raise ToolchainError(f"bb {args[0]} did not finish in {self.timeout:.0f} s") from exc
        run = BbRun(cmd, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started)
        if check_witness and BUILDER_FAILURE in run.output:
            line = next(x for x in run.output.splitlines() if BUILDER_FAILURE in x)
            raise UnsatisfiedWitness(f"bb {args[0]}: the witness does not satisfy the circuit ({line.strip()})")
        if check_witness and proc.returncode != 0 and BB_ASSERTION in run.output:
            # bb asserts on inputs its in-circuit verifier cannot take (a proof word that is no valid limb):
            # like a builder failure, the witness is at fault, not the tool
            line = next(x for x in run.output.splitlines() if BB_ASSERTION in x)
            raise UnsatisfiedWitness(f"bb {args[0]}: the witness is refused by an assertion ({line.strip()})")
        if any(marker in run.output for marker in _DOWNLOAD_MARKERS):
            raise SrsTooSmall(
                f"bb {args[0]} needs more SRS points than the {self.srs_points} in {self.crs_dir} "
                f"(make a larger one with `linen setup srs --points N`):\n{run.output.strip()}"
            )
        if proc.returncode != 0:
            raise ToolchainError(f"bb {args[0]} exited {proc.returncode}:\n{run.output.strip()}")
        return run

    @staticmethod
    def _target(target: str) -> str:
        if target not in TARGETS:
            raise ValueError(f"unknown bb target {target!r}; one of {', '.join(TARGETS)}")
        return target

    def gates(self, circuit: Circuit, target: str = "evm") -> dict:
        """bb's gate count: {"acir_opcodes": n, "circuit_size": n} of main."""
        run = self._bb(["gates", "-b", str(circuit.program_path), "-t", self._target(target)], crs=False)
        start = run.output.index('{"functions"')
        return json.loads(run.output[start:run.output.rindex("}") + 1])["functions"][0]

    def vk_path(self, circuit: Circuit, target: str) -> Path:
        key = hashlib.sha256(f"{circuit.bytecode_hash}\0{target}\0{bb_version(self.bb)}\0{self.srs_id}".encode())
        return self.cache_dir / "vk" / f"{circuit.name}-{target}-{key.hexdigest()[:16]}" / "vk"

    def write_vk(self, circuit: Circuit, target: str = "evm") -> Path:
        """The circuit's verification key for `target` under this SRS, written once."""
        vk = self.vk_path(circuit, self._target(target))
        if not vk.exists():
            vk.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=vk.parent) as tmp:
                self._bb(["write_vk", "-b", str(circuit.program_path), "-o", tmp, "-t", target])
                for name in ("vk_hash", "vk"):  # vk last: its presence means the directory is complete
                    os.replace(Path(tmp) / name, vk.parent / name)
        return vk

    def prove(self, circuit: Circuit, witness_path: Path, out_dir: Path, target: str = "evm") -> Proof:
        """Prove with bb; UnsatisfiedWitness if bb reports a builder failure, whatever its exit code."""
        vk = self.write_vk(circuit, target)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("proof", "public_inputs"):
            (out_dir / stale).unlink(missing_ok=True)
        run = self._bb(
            ["prove", "-b", str(circuit.program_path), "-w", str(witness_path), "-k", str(vk), "-o", str(out_dir),
             "-t", target],
            check_witness=True,
        )
        return read_proof(out_dir, run.seconds)

    def verify(self, vk: Path, proof_dir: Path, target: str = "evm") -> bool:
        """bb's native verifier. NB: bb 5.0.0 pairs against the canonical Aztec [x]_2, so a proof
        made under Linen's SRS fails here at the pairing check; use the Solidity verifier."""
        args = ["verify", "-p", str(Path(proof_dir) / "proof"), "-i", str(Path(proof_dir) / "public_inputs"),
                "-k", str(vk), "-t", self._target(target)]
        try:
            self._bb(args)
        except ToolchainError as exc:
            if "verification failed" in str(exc) or "verified: 0" in str(exc):
                return False
            raise
        return True

    def verify_native(self, vk: Path, proof_dir: Path, target: str = "evm") -> str | None:
        """Linen's own verifier (linen/zk/honk.py) against this SRS's [tau]_2: None if the proof in
        `proof_dir` holds, else why not. Milliseconds, and it checks the pairing bb's verify cannot."""
        from linen.zk import honk

        proof_dir = Path(proof_dir)
        return honk.verify(self._target(target), Path(vk).read_bytes(), (proof_dir / "proof").read_bytes(),
                           (proof_dir / "public_inputs").read_bytes(), (self.crs_dir / "bn254_g2.dat").read_bytes())

    def native_checks(self, vk: Path, proof_dir: Path, target: str = "evm") -> dict[str, bool]:
        """bb verify -v's intermediate verdicts: sumcheck and the reduction to the pairing check hold
        for a valid proof under any SRS; only the final pairing needs the canonical one."""
        args = ["verify", "-v", "-p", str(Path(proof_dir) / "proof"), "-i", str(Path(proof_dir) / "public_inputs"),
                "-k", str(vk), "-t", self._target(target)]
        try:
            output = self._bb(args).output
        except ToolchainError as exc:
            output = str(exc)
        found = dict(re.findall(r"UltraVerifier: ([a-z ]+?): (true|false)", output))
        found.update(re.findall(r"Ultra Verifier (sumcheck_verified): (true|false)", output))
        return {k: v == "true" for k, v in found.items()}

    def solidity_verifier(
        self, circuit: Circuit, target: str = "evm", g2: bytes | None = None, optimized: bool = False
    ) -> str:
        """bb's Solidity verifier for the circuit's vk, with the SRS's [tau]_2 in place of Aztec's
        (pass `g2=AZTEC_G2` to keep bb's); `optimized`: bb's assembly variant. Written once next to the vk."""
        vk = self.write_vk(circuit, target)
        sol = vk.parent / ("HonkVerifierOptimized.sol" if optimized else "HonkVerifier.sol")
        if not sol.exists():
            with tempfile.TemporaryDirectory(dir=vk.parent) as tmp:
                self._bb(["write_solidity_verifier", "-k", str(vk), "-o", f"{tmp}/v.sol", "-t", target,
                          *(["--optimized"] if optimized else [])])
                os.replace(f"{tmp}/v.sol", sol)
        source = sol.read_text()
        g2 = (self.crs_dir / "bn254_g2.dat").read_bytes() if g2 is None else g2
        return patch_verifier_g2(source, g2)


def read_proof(out_dir: Path, seconds: float = 0.0) -> Proof:
    out_dir = Path(out_dir)
    proof = (out_dir / "proof").read_bytes()
    raw = (out_dir / "public_inputs").read_bytes()
    if len(raw) % 32:
        raise ToolchainError(f"{out_dir}/public_inputs is {len(raw)} bytes, not whole 32-byte words")
    return Proof(proof, [raw[i:i + 32] for i in range(0, len(raw), 32)], out_dir, seconds)


# -- the G2 point in bb's Solidity verifier -----------------------------------------------------------

# Aztec's [x]_2 of the canonical setup, as bb's bn254_g2.dat holds it (x.c0, x.c1, y.c0, y.c1, each
# 32 bytes big-endian). bb writes it into every Solidity verifier it generates.
AZTEC_G2 = bytes.fromhex(
    "0118c4d5b837bcc2bc89b5b398b5974e9f5944073b32078b7e231fec938883b0"
    "260e01b251f6f1c7e7ff4e580791dee8ea51d87a358e038b4efe30fac09383c1"
    "22febda3c0c0632a56475b4214e5615e11e6dd3f96e6cea2854a87d4dacc5e55"
    "04fc6369f7110fe3d25156c1bb9a72859cf2a04641f99ba4ee413c80da6a5fe4"
)


def g2_evm_words(g2: bytes) -> list[int]:
    """A G2 point in bb's file layout as the four words of the EVM pairing precompile (EIP-197):
    x.c1, x.c0, y.c1, y.c0."""
    if len(g2) != 128:
        raise ValueError(f"a G2 point is 128 bytes, not {len(g2)}")
    x0, x1, y0, y1 = (int.from_bytes(g2[i:i + 32], "big") for i in range(0, 128, 32))
    return [x1, x0, y1, y0]


def patch_verifier_g2(source: str, g2: bytes) -> str:
    """`source` (a bb-generated Solidity verifier) with Aztec's four [x]_2 constants replaced by
    `g2`'s; ValueError unless each of Aztec's constants occurs exactly once."""
    old = g2_evm_words(AZTEC_G2)
    new = g2_evm_words(g2)
    for before, after in zip(old, new, strict=True):
        pattern = re.compile(rf"0x0*{before:x}\b", re.IGNORECASE)
        hits = pattern.findall(source)
        if len(hits) != 1:
            raise ValueError(f"the verifier holds the G2 constant 0x{before:064x} {len(hits)} times, not once")
        source = pattern.sub(f"0x{after:064x}", source)
    return source


def tamper_witness_value(witness_gz: bytes, old: int, new: int) -> bytes:
    """A copy of a gzipped witness with the one witness value `old` replaced by `new` (32-byte
    big-endian in the serialised stack): a way to hand bb an unsatisfiable witness in tests."""
    raw = gzip.decompress(witness_gz)
    needle = old.to_bytes(32, "big")
    if raw.count(needle) != 1:
        raise ValueError(f"the witness holds the value {old} {raw.count(needle)} times, not once")
    return gzip.compress(raw.replace(needle, new.to_bytes(32, "big")))
