"""The file protocol between the coordinator and the provers: folders, names, atomic writes.

Proof jobs travel as files so that any number of coordinators, controllers and prover machines can
share one folder tree (a local disk or a network mount) without another channel between them. Each
proof kind has its own folder with `requests/`, `responses/` and `requests-done/`; a file's name says
which blocks it covers, so a restarted coordinator recomputes the same name and finds its earlier
request or response instead of proving twice. Every file appears whole or not at all: it is written
under a temporary name that no reader matches, then renamed.

Names follow Linea's prover file names (spec §4): lowercase hex without `0x` for hashes, and the
suffixes the controller adds while it works on a request (`.inprogress.<local-id>`, `.large`,
`.failure.code_<N>`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from linen.jsonfile import write_json_atomically


class ProofKind(StrEnum):
    EXECUTION = "execution"
    COMPRESSION = "compression"
    AGGREGATION = "aggregation"


ALL_KINDS: tuple[ProofKind, ...] = (ProofKind.EXECUTION, ProofKind.COMPRESSION, ProofKind.AGGREGATION)

# Added to 100·end when ordering requests: for the same end block, execution before compression
# before aggregation, because an aggregation needs the other two proven first.
PRIORITY: dict[ProofKind, int] = {ProofKind.EXECUTION: 0, ProofKind.COMPRESSION: 1, ProofKind.AGGREGATION: 2}

_ENDING: dict[ProofKind, str] = {
    ProofKind.EXECUTION: "getZkProof.json",
    ProofKind.COMPRESSION: "getZkBlobCompressionProof.json",
    ProofKind.AGGREGATION: "getZkAggregatedProof.json",
}

REQUESTS = "requests"
RESPONSES = "responses"
REQUESTS_DONE = "requests-done"

# What a controller appends to a request it has locked; the coordinator treats any
# `<name>.inprogress.prover…` as "already requested" (so local ids should start with "prover").
INPROGRESS = ".inprogress."
CONTROLLER_ID_PREFIX = "prover"
LARGE_SUFFIX = ".large"
SUCCESS_SUFFIX = ".success"
# Default temporary suffix of a request the coordinator is still writing (spec: `<path>.` + suffix).
COORDINATOR_WRITING_SUFFIX = ".inprogress_coordinator_writing"

_FAILURES = r"(?P<failures>(?:\.failure\.code_\d+)*)"
_RANGE = r"^(?P<start>\d+)-(?P<end>\d+)"
_HASH = r"(?:-(?P<hash>[0-9a-fA-F]+))?"

_REQUEST_PATTERNS: dict[ProofKind, re.Pattern[str]] = {
    ProofKind.EXECUTION: re.compile(
        _RANGE + r"(?:-etv[^-]*-stv[^-]*)?-getZkProof\.json(?P<large>\.large)?" + _FAILURES + "$"
    ),
    ProofKind.COMPRESSION: re.compile(
        _RANGE + r"(?:-bcv[^-]*-ccv[^-]*)?" + _HASH + r"-getZkBlobCompressionProof\.json" + _FAILURES + "$"
    ),
    ProofKind.AGGREGATION: re.compile(_RANGE + _HASH + r"-getZkAggregatedProof\.json" + _FAILURES + "$"),
}

_RESPONSE_PATTERNS: dict[ProofKind, re.Pattern[str]] = {
    ProofKind.EXECUTION: re.compile(_RANGE + r"(?:-etv[^-]*-stv[^-]*)?-getZkProof\.json$"),
    ProofKind.COMPRESSION: re.compile(_RANGE + _HASH + r"-getZkBlobCompressionProof\.json$"),
    ProofKind.AGGREGATION: re.compile(_RANGE + _HASH + r"-getZkAggregatedProof\.json$"),
}

_FAILURE_CODE = re.compile(r"\.failure\.code_(\d+)")


# --- folders ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindFolders:
    """`<root>/prover-<kind>/{requests,responses,requests-done}` for one proof kind."""

    kind: ProofKind
    base: Path

    @property
    def requests(self) -> Path:
        return self.base / REQUESTS

    @property
    def responses(self) -> Path:
        return self.base / RESPONSES

    @property
    def done(self) -> Path:
        return self.base / REQUESTS_DONE

    def make(self) -> KindFolders:
        for folder in (self.requests, self.responses, self.done):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def kind_folders(root: Path, kind: ProofKind | str) -> KindFolders:
    kind = ProofKind(kind)
    return KindFolders(kind, Path(root) / f"prover-{kind.value}")


def make_folders(root: Path, kinds: Iterable[ProofKind | str] = ALL_KINDS) -> dict[ProofKind, KindFolders]:
    return {ProofKind(kind): kind_folders(root, kind).make() for kind in kinds}


# --- names ------------------------------------------------------------------------------------------------


def hash_in_name(value: bytes | str) -> str:
    """A hash as file names carry it: lowercase hex, no 0x."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    text = value.removeprefix("0x").removeprefix("0X")
    bytes.fromhex(text)  # refuse anything that is not hex
    return text.lower()


def _check_range(start: int, end: int) -> None:
    if isinstance(start, bool) or isinstance(end, bool) or not 0 <= start <= end:
        raise ValueError(f"bad block range {start!r}-{end!r}")


def execution_request_name(start: int, end: int) -> str:
    _check_range(start, end)
    return f"{start}-{end}-{_ENDING[ProofKind.EXECUTION]}"


execution_response_name = execution_request_name


def compression_request_name(start: int, end: int, expected_shnarf: bytes | str) -> str:
    _check_range(start, end)
    return f"{start}-{end}-bcv0.0-ccv0.0-{hash_in_name(expected_shnarf)}-{_ENDING[ProofKind.COMPRESSION]}"


def compression_response_name(start: int, end: int, expected_shnarf: bytes | str) -> str:
    _check_range(start, end)
    return f"{start}-{end}-{hash_in_name(expected_shnarf)}-{_ENDING[ProofKind.COMPRESSION]}"


def aggregation_hash(compression_response_names: Sequence[str], execution_response_names: Sequence[str]) -> str:
    """sha256 of the proofs' response names joined with ", ", compression names first."""
    joined = ", ".join([*compression_response_names, *execution_response_names])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def aggregation_name(
    start: int, end: int, compression_response_names: Sequence[str], execution_response_names: Sequence[str]
) -> str:
    """Request and response name of an aggregation (the same name in both folders)."""
    _check_range(start, end)
    digest = aggregation_hash(compression_response_names, execution_response_names)
    return f"{start}-{end}-{digest}-{_ENDING[ProofKind.AGGREGATION]}"


@dataclass(frozen=True)
class ProofFileName:
    """A parsed request or response name. `base` is the name up to `.json`, without the suffixes."""

    kind: ProofKind
    start: int
    end: int
    hash: str | None
    base: str
    large: bool = False
    failure_codes: tuple[int, ...] = ()

    @property
    def sort_key(self) -> int:
        """Controllers take requests lowest first: 100·end + kind priority."""
        return 100 * self.end + PRIORITY[self.kind]

    @property
    def name(self) -> str:
        """The request's file name with its `.large` / failure suffixes."""
        failures = "".join(f".failure.code_{code}" for code in self.failure_codes)
        return self.base + (LARGE_SUFFIX if self.large else "") + failures

    @property
    def response_name(self) -> str:
        """Where the controller puts the proof of this request (spec §4 output templates)."""
        middle = f"{self.hash.lower()}-" if self.hash else ""
        if self.kind is ProofKind.EXECUTION:
            middle = ""
        return f"{self.start}-{self.end}-{middle}{_ENDING[self.kind]}"

    def with_(self, *, large: bool | None = None, failure_codes: tuple[int, ...] | None = None) -> ProofFileName:
        return replace(
            self,
            large=self.large if large is None else large,
            failure_codes=self.failure_codes if failure_codes is None else failure_codes,
        )


def _parsed(kind: ProofKind, match: re.Match[str]) -> ProofFileName:
    groups = match.groupdict()
    failures = groups.get("failures") or ""
    base = match.string[: len(match.string) - len(failures) - (len(LARGE_SUFFIX) if groups.get("large") else 0)]
    return ProofFileName(
        kind=kind,
        start=int(groups["start"]),
        end=int(groups["end"]),
        hash=groups.get("hash"),
        base=base,
        large=bool(groups.get("large")),
        failure_codes=tuple(int(code) for code in _FAILURE_CODE.findall(failures)),
    )


def parse_request_name(name: str, kind: ProofKind | str | None = None) -> ProofFileName | None:
    """Kind, range, hash and suffixes of a request file name; None if it is not a request of `kind`.

    Names with a lock suffix, temporary names and anything else a controller must not pick up
    return None. Start must not exceed end.
    """
    for candidate in (ProofKind(kind),) if kind is not None else ALL_KINDS:
        match = _REQUEST_PATTERNS[candidate].match(name)
        if match:
            parsed = _parsed(candidate, match)
            return parsed if parsed.start <= parsed.end else None
    return None


def parse_response_name(name: str, kind: ProofKind | str | None = None) -> ProofFileName | None:
    for candidate in (ProofKind(kind),) if kind is not None else ALL_KINDS:
        match = _RESPONSE_PATTERNS[candidate].match(name)
        if match:
            parsed = _parsed(candidate, match)
            return parsed if parsed.start <= parsed.end else None
    return None


def strip_failures(name: str) -> str:
    """The name without trailing `.failure.code_N` suffixes."""
    return re.sub(r"(?:\.failure\.code_\d+)+$", "", name)


def locked_name(name: str, local_id: str) -> str:
    return f"{name}{INPROGRESS}{local_id}"


def split_locked_name(name: str) -> tuple[str, str] | None:
    """(request name, owner id) of `<name>.inprogress.<id>`, or None for an unlocked name."""
    request, mark, owner = name.partition(INPROGRESS)
    if not mark or not owner or not request:
        return None
    return request, owner


# --- what the coordinator needs ---------------------------------------------------------------------------


def request_path(root: Path, kind: ProofKind | str, name: str) -> Path:
    return kind_folders(root, kind).requests / name


def response_path(root: Path, kind: ProofKind | str, response_name: str) -> Path:
    """Where the coordinator polls for the proof of a request."""
    return kind_folders(root, kind).responses / response_name


def request_exists(root: Path, kind: ProofKind | str, name: str) -> bool:
    """True if `requests/<name>` or `requests/<name>.inprogress.prover…` exists (spec §4).

    The coordinator checks this before writing a request so a restart never queues a job twice.
    Exactly the spec's pattern: a request that a controller has moved on (`.large…`,
    requests-done) is not matched; callers look for the response first.
    """
    folder = kind_folders(root, kind).requests
    if (folder / name).exists():
        return True
    prefix = f"{name}{INPROGRESS}{CONTROLLER_ID_PREFIX}"
    try:
        return any(entry.startswith(prefix) for entry in os.listdir(folder))
    except FileNotFoundError:
        return False


def write_request(
    root: Path, kind: ProofKind | str, name: str, request: Any, writing_suffix: str = COORDINATOR_WRITING_SUFFIX
) -> Path:
    """Write a request atomically: to `<path>.` + suffix, then rename (controllers never see it half-written)."""
    folders = kind_folders(root, kind)
    folders.requests.mkdir(parents=True, exist_ok=True)
    path = folders.requests / name
    temp = path.with_name(f"{name}.{writing_suffix}")
    temp.write_text(json.dumps(request, indent=2) + "\n")
    os.replace(temp, path)
    return path


def write_response(path: Path, response: Any) -> Path:
    """Write a response (or the prover's temporary output) whole or not at all."""
    return write_json_atomically(Path(path), response)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
