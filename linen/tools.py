"""Where the pinned node tools live (installed by `./run` into tools/node_modules).

An environment variable (`LINEN_ANVIL`, `LINEN_CAST`, ...) overrides the location, and a binary
on PATH is the last resort, so a user with foundry installed can use their own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent.parent / "tools" / "node_modules"
_BINARIES = {
    "anvil": TOOLS_DIR / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
    "cast": TOOLS_DIR / "@foundry-rs" / "cast-linux-amd64" / "bin" / "cast",
    "forge": TOOLS_DIR / "@foundry-rs" / "forge-linux-amd64" / "bin" / "forge",
}


def tool_path(name: str) -> Path:
    """Path of a node tool binary; FileNotFoundError says how to install it."""
    override = os.environ.get(f"LINEN_{name.upper()}")
    if override:
        return Path(override)
    bundled = _BINARIES.get(name)
    if bundled is not None and bundled.exists():
        return bundled
    found = shutil.which(name)
    if found:
        return Path(found)
    raise FileNotFoundError(f"{name} not found: run `./run setup` to install the pinned node tools")


def node_modules() -> Path:
    return TOOLS_DIR
