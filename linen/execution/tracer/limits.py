"""Trace limits: how many lines each module may hold, read from Linea's two-section TOML file.

The sequencer compares every transaction and every block with `[traces_limits]`; the large prover
works under `[traces_limits_large]`. A file that lists a module we do not know, or leaves one out,
is refused when the node starts: a silently missing limit would let unprovable blocks through.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from linen.errors import ConfigError
from linen.execution.tracer.modules import ALL_MODULES, FIXED_TABLE_SIZES, next_power_of_two

SECTIONS = ("traces_limits", "traces_limits_large")
DEFAULT_LIMITS_FILE = "traces-limits.toml"


@dataclass(frozen=True)
class TraceLimits:
    """The per-module line limits of one file: `regular` for blocks and batches, `large` for the large prover."""

    regular: dict[str, int]
    large: dict[str, int]
    source: str


def _check_section(name: str, table: object, source: str) -> dict[str, int]:
    if not isinstance(table, dict):
        raise ConfigError(f"trace limits {source}: [{name}] is missing or is not a table")
    unknown = sorted(set(table) - set(ALL_MODULES))
    if unknown:
        raise ConfigError(f"trace limits {source}: [{name}] names unknown modules: {', '.join(unknown)}")
    missing = [m for m in ALL_MODULES if m not in table]
    if missing:
        raise ConfigError(f"trace limits {source}: [{name}] is missing modules: {', '.join(missing)}")
    limits: dict[str, int] = {}
    for module in ALL_MODULES:
        value = table[module]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"trace limits {source}: [{name}] {module} must be a positive integer, got {value!r}")
        limits[module] = value
    for module, size in FIXED_TABLE_SIZES.items():
        expected = next_power_of_two(size)
        if limits[module] != expected:
            raise ConfigError(
                f"trace limits {source}: [{name}] {module} is a fixed-size table of {size} lines, so its limit "
                f"must be {expected} (the next power of two), not {limits[module]}"
            )
    return limits


def parse_trace_limits(text: str, source: str = "<text>") -> TraceLimits:
    """Parse and validate a limits file's text; ConfigError says exactly what is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"trace limits {source} is not valid TOML: {exc}") from None
    extra = sorted(set(document) - set(SECTIONS))
    if extra:
        raise ConfigError(f"trace limits {source}: unknown sections {', '.join(extra)} (expected {', '.join(SECTIONS)})")
    regular = _check_section(SECTIONS[0], document.get(SECTIONS[0]), source)
    large = _check_section(SECTIONS[1], document.get(SECTIONS[1]), source)
    return TraceLimits(regular, large, source)


def load_trace_limits(path: Path | None = None) -> TraceLimits:
    """The limits of `path`, or of the seed file shipped with Linen when `path` is None."""
    if path is None:
        text = resources.files("linen.execution.tracer").joinpath(DEFAULT_LIMITS_FILE).read_text()
        return parse_trace_limits(text, f"(default {DEFAULT_LIMITS_FILE})")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read trace limits file {path}: {exc.strerror}") from None
    return parse_trace_limits(text, str(path))


def first_exceeded(counts: dict[str, int], limits: dict[str, int]) -> tuple[str, int, int] | None:
    """(module, count, limit) of the first module over its limit, or None if all fit."""
    for module, count in counts.items():
        limit = limits.get(module)
        if limit is not None and count > limit:
            return module, count, limit
    return None
