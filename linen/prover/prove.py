"""`prove`: turn one request file into one response file, and say how it went in the exit code.

This is the command a controller runs per job (`python -m linen.prover.prove --in R --out O`, or
`linen prover prove`). It reads the request, picks the backend from the request's file name (one
module per kind, `linen.prover.backends.<kind>.prove_<kind>(request, settings) -> response`),
and writes the response whole or not at all. The controller never reads the prover's output to
decide what to do; the exit code alone tells it (spec §4):

  0   proof written to --out
  77  the request exceeds the trace limits of a normal run (the controller reruns it `--large`)
  78  the request is invalid or its constraints are unsatisfied (filed as failed, not retried)
  79  inputs the request points at are missing (traces, or the proofs an aggregation names)
  137 out of memory (the controller defers an execution job to a large prover)
  14  any other fault of the prover
  15  the prover cannot run at all (bad arguments or settings, backend not installed)

A backend picks a code by raising an exception with an integer `exit_code` attribute (such as
`TraceLimitExceeded` or `MissingTraces` below); `linen.errors.InvalidInput` means 78.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from linen.errors import ConfigError, InvalidInput, LinenError
from linen.prover.files import ProofKind, kind_folders, parse_request_name, split_locked_name, write_response
from linen.prover.settings import ProverSettings, load_prover_settings

log = logging.getLogger("linen.prover.prove")

EXIT_OK = 0
EXIT_TRACE_LIMIT = 77
EXIT_UNSATISFIED = 78
EXIT_MISSING_TRACES = 79
EXIT_OUT_OF_MEMORY = 137
EXIT_FATAL = 14
EXIT_CANNOT_RUN = 15

Backend = Callable[[dict, ProverSettings], dict]


class InvalidProofRequest(InvalidInput):
    """The request file cannot be proven as written (exit 78)."""

    exit_code = EXIT_UNSATISFIED


class TraceLimitExceeded(LinenError):
    """The request needs more than a normal run allows; a large run may do it (exit 77)."""

    exit_code = EXIT_TRACE_LIMIT


class MissingTraces(LinenError):
    """Something the request points at is not there (yet): traces, other proofs (exit 79)."""

    exit_code = EXIT_MISSING_TRACES


class BackendUnavailable(LinenError):
    """No backend for this kind is installed (exit 15)."""

    exit_code = EXIT_CANNOT_RUN


def exit_code_for(exc: BaseException) -> int:
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int) and not isinstance(code, bool) and code > 0:
        return code
    if isinstance(exc, ConfigError):
        return EXIT_CANNOT_RUN
    if isinstance(exc, InvalidInput):
        return EXIT_UNSATISFIED
    if isinstance(exc, MemoryError):
        return EXIT_OUT_OF_MEMORY
    return EXIT_FATAL


def load_backend(kind: ProofKind) -> Backend:
    """`linen.prover.backends.<kind>.prove_<kind>`, imported only when a job of that kind runs."""
    module_name = f"linen.prover.backends.{kind.value}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise BackendUnavailable(f"no {kind.value} backend: {module_name} is not installed") from None
        raise
    backend = getattr(module, f"prove_{kind.value}", None)
    if backend is None:
        raise BackendUnavailable(f"{module_name} has no prove_{kind.value}")
    return backend


def request_kind(path: Path) -> ProofKind:
    """The kind a request file's name says, ignoring a controller's `.inprogress.<id>` lock suffix."""
    name = path.name
    split = split_locked_name(name)
    if split is not None:
        name = split[0]
    parsed = parse_request_name(name)
    if parsed is None:
        raise InvalidProofRequest(f"{path.name} is not a prover request file name (spec §4); pass --kind")
    return parsed.kind


def _requests_root(path: Path, kind: ProofKind) -> Path | None:
    """The shared root when the request sits in `<root>/prover-<kind>/requests/`."""
    path = path.absolute()
    root = path.parent.parent.parent
    return root if kind_folders(root, kind).requests == path.parent else None


def prove_file(
    request_path: Path,
    output_path: Path,
    settings: ProverSettings,
    large: bool = False,
    kind: ProofKind | str | None = None,
) -> dict:
    """Prove one request file into `output_path` (atomic write); the response is also returned."""
    request_path, output_path = Path(request_path), Path(output_path)
    kind = ProofKind(kind) if kind is not None else request_kind(request_path)
    try:
        request = json.loads(request_path.read_text())
    except FileNotFoundError:
        raise MissingTraces(f"request file {request_path} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidProofRequest(f"{request_path.name} is not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise InvalidProofRequest(f"{request_path.name}: a request is a JSON object")
    root = _requests_root(request_path, kind)
    settings = dataclasses.replace(settings, large=large, **({"requests_root": root} if root else {}))
    response = load_backend(kind)(request, settings)
    write_response(output_path, response)
    return response


class _ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which a controller would take for "rerun large": use 15."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_CANNOT_RUN, f"{self.prog}: error: {message}\n")


def run(argv: list[str] | None = None) -> int:
    """Parse arguments, prove, and return the exit code (also what `linen prover prove` calls)."""
    parser = _ArgumentParser(prog="prove", description="Prove one request file (Linen prover, spec §4).")
    parser.add_argument("--config", type=Path, help="TOML file with a [prover] section")
    parser.add_argument("--in", dest="request", type=Path, required=True, help="request file")
    parser.add_argument("--out", dest="output", type=Path, required=True, help="response file to write")
    parser.add_argument("--large", action="store_true", help="run with the large limits")
    parser.add_argument("--kind", choices=[kind.value for kind in ProofKind], help="override the name's kind")
    args = parser.parse_args(argv)
    try:
        settings = load_prover_settings(args.config)
        prove_file(args.request, args.output, settings, large=args.large, kind=args.kind)
    except Exception as exc:
        code = exit_code_for(exc)
        if code == EXIT_FATAL:
            traceback.print_exc()
        print(f"prove: {args.request.name}: {exc} (exit {code})", file=sys.stderr)
        return code
    return EXIT_OK


def main(argv: list[str] | None = None) -> NoReturn:
    sys.exit(run(argv))


if __name__ == "__main__":
    main()
