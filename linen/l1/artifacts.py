"""Compiled L1/L2 contracts: compile `contracts/` once with the pinned solc-js and cache the result.

Compiling takes seconds and the sources rarely change, so artefacts are cached under a directory
keyed by a hash of every source file; any edit to a contract gives a new key and a fresh compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from linen.tools import node_modules

ROOT = Path(__file__).resolve().parent.parent.parent
CONTRACTS_DIR = ROOT / "contracts"
COMPILE_SCRIPT = Path(__file__).resolve().parent / "solc_compile.js"

# EIP-170: the largest deployed code an account may hold.
MAX_DEPLOYED_CODE_SIZE = 24576


@dataclass(frozen=True)
class Artifact:
    """One deployable contract: its ABI and creation and runtime code."""

    name: str
    abi: list
    bytecode: str
    deployed_bytecode: str

    @property
    def deployed_size(self) -> int:
        return (len(self.deployed_bytecode) - 2) // 2


def sources_digest(contracts_dir: Path = CONTRACTS_DIR) -> str:
    """Hash of every .sol file (path and content), the cache key of a compile."""
    digest = hashlib.sha256()
    for path in sorted(contracts_dir.rglob("*.sol")):
        digest.update(str(path.relative_to(contracts_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def compile_contracts(cache_dir: Path, contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Artifact]:
    """Artefacts of every deployable contract under `contracts_dir`, compiled at most once per source set."""
    cache_dir = Path(cache_dir)
    cache = cache_dir / f"contracts-{sources_digest(contracts_dir)}.json"
    if not cache.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        env = {**os.environ, "NODE_PATH": str(node_modules())}
        result = subprocess.run(
            ["node", str(COMPILE_SCRIPT), str(tmp), str(contracts_dir)], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"solc failed:\n{result.stderr}")
        tmp.replace(cache)
    raw = json.loads(cache.read_text())
    return {
        name: Artifact(name, entry["abi"], entry["bytecode"], entry["deployedBytecode"]) for name, entry in raw.items()
    }
