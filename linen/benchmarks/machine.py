"""What every benchmark records about the machine it ran on, and how every benchmark publishes its result."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from linen.jsonfile import write_json_atomically


def machine_info(packages: tuple[str, ...] = ("linen",)) -> dict[str, Any]:
    """Load, platform, CPU model and count, memory, and the versions of `packages`."""
    info: dict[str, Any] = {
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    for package in packages:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info[f"{package}_version"] = importlib.metadata.version(package)
    return info


def publish(out: Path | str, result: dict[str, Any], table: Callable[[dict[str, Any]], str],
            echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Write `result` to `out` atomically, print its table and where it went; returns `result`."""
    write_json_atomically(Path(out), result)
    echo("")
    echo(table(result))
    echo(f"\nwritten to {out}")
    return result
