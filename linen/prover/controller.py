"""The prover controller: takes request files one at a time, runs the prover on each, files the result.

Many controllers on many machines may share one folder tree; the only coordination between them is
the file system. A controller claims a request by renaming it to `<name>.inprogress.<local-id>`:
rename is atomic, so of two controllers racing for the same file exactly one succeeds and the other
moves on, and no job is ever run twice at once. The prover runs as a child process (its memory and
crashes stay out of the controller), and its exit code decides where the request goes (spec §4):

- 0: the temporary output becomes `responses/<response name>`, the request `requests-done/<name>.success`;
- execution only, 77 / 333 / 2 (too big for the normal prover): rerun at once with the large command;
- execution only, 137 (killed for memory): back to `requests/<name>.large.failure.code_137`, for a
  controller that accepts large jobs;
- anything else: `requests-done/<name>.failure.code_<N>` (earlier failure suffixes dropped).

SIGTERM lets the running job finish within the grace period, else kills it and puts the request back;
SIGUSR1 (a spot machine about to be reclaimed) puts it back at once. Either way the controller then
stops. A controller restarted with the same id puts back what it held when it died.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linen.actors import Actor
from linen.errors import ConfigError
from linen.observe.metrics import Metrics
from linen.prover import retention
from linen.prover.files import (
    LARGE_SUFFIX,
    SUCCESS_SUFFIX,
    KindFolders,
    ProofFileName,
    ProofKind,
    kind_folders,
    locked_name,
    parse_request_name,
    split_locked_name,
)
from linen.prover.prove import EXIT_CANNOT_RUN, EXIT_FATAL, EXIT_OUT_OF_MEMORY
from linen.prover.settings import ControllerSettings, load_controller_settings

RETENTION_CHECK_S = 60.0  # an idle controller looks for expired files this often
log = logging.getLogger("linen.prover.controller")

# Exit codes of the prove command (spec §4): see linen/prover/prove.py.
EXIT_KILLED_BY_CONTROLLER = 1137  # only logged: a job the controller kills is put back, not filed
RERUN_LARGE_CODES = frozenset({77, 333, 2})

_WAIT_STEP = 0.05  # seconds between checks for a stop request while a job runs


@dataclass(frozen=True)
class JobResult:
    """What became of one request: `outcome` is success, failure, deferred-large or requeued."""

    request: str
    kind: ProofKind
    exit_code: int
    outcome: str
    destination: Path
    large: bool
    seconds: float


class Controller:
    """One controller actor: `run_once()` does at most one job, `run_forever()` loops with back-off."""

    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self.local_id = settings.local_id
        self.folders: dict[ProofKind, KindFolders] = {
            kind: kind_folders(settings.requests_root, kind).make() for kind in settings.kinds
        }
        self.results: deque[JobResult] = deque(maxlen=256)
        self.current: Path | None = None
        self.last_error: str | None = None
        self._recovered = False
        self._idle_rounds = 0
        self._stopping = threading.Event()
        self._stop_seen_at: float | None = None
        self._requeue_now = threading.Event()
        self._external_stop: threading.Event | None = None
        self.metrics: Metrics | None = None  # set by whoever serves them (the devnet: the node's)
        self._finalized = (retention.finalized_on_l1(settings.l1_rpc, settings.rollup)
                           if settings.l1_rpc and settings.rollup else None)
        self._retention_checked = float("-inf")

    # --- control from signals or tests -----------------------------------------------------------------

    def request_stop(self) -> None:
        """SIGTERM: finish the running job within the grace period, then stop."""
        self._stopping.set()
        if self._external_stop is not None:
            self._external_stop.set()

    def request_requeue(self) -> None:
        """SIGUSR1: put the running job back now, then stop."""
        self._requeue_now.set()
        self.request_stop()

    def install_signal_handlers(self) -> None:
        """SIGTERM → stop gracefully, SIGUSR1 → requeue now; SIGINT once like SIGTERM, twice like SIGUSR1."""

        def on_term(signum: int, frame: Any) -> None:
            self.request_stop()

        def on_usr1(signum: int, frame: Any) -> None:
            self.request_requeue()

        def on_int(signum: int, frame: Any) -> None:
            if self._stopping.is_set():
                self.request_requeue()
            else:
                self.request_stop()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGUSR1, on_usr1)
        signal.signal(signal.SIGINT, on_int)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set() or (self._external_stop is not None and self._external_stop.is_set())

    def health(self) -> dict[str, Any]:
        return {
            "local_id": self.local_id,
            "current": self.current.name if self.current else None,
            "jobs": len(self.results),
            "last_error": self.last_error,
            "stopping": self.stopping,
        }

    # --- the loop ------------------------------------------------------------------------------------------

    def actor(self, stall_after_s: float = 3600.0) -> Actor:
        """This controller as an actor: one job per tick, the next at once after a job, and when idle the
        settings' `retry-delays` in turn. A proof can run for many minutes, so it counts as stalled only
        past `stall_after_s`."""

        def attach(stop_event: threading.Event) -> None:
            self._external_stop = stop_event
            if self._stopping.is_set():
                stop_event.set()

        delays = self.settings.retry_delays
        return Actor(f"prover.controller.{self.local_id}", self.run_once, max(max(delays), 0.01), on_start=attach,
                     stall_after_s=stall_after_s, idle_delays=delays)

    def run_forever(self, stop_event: threading.Event) -> None:
        """Work until `stop_event` is set (or a stop is requested), sleeping `retry_delays` when idle."""
        self._external_stop = stop_event
        if self._stopping.is_set():
            stop_event.set()
        try:
            while not self.stopping:
                try:
                    worked = self.run_once()
                except Exception as exc:  # a vanished mount, a full disk: log, back off, retry
                    log.exception("controller %s: %s", self.local_id, exc)
                    self.last_error = str(exc)
                    worked = False
                if worked:
                    self._idle_rounds = 0
                    continue
                delays = self.settings.retry_delays
                delay = delays[min(self._idle_rounds, len(delays) - 1)]
                self._idle_rounds += 1
                stop_event.wait(delay)
        finally:
            self._external_stop = None

    def run_once(self) -> bool:
        """Take the first request by `100·end + priority` that no one else has taken and prove it."""
        if not self._recovered:
            self.recover_leftovers()
        if self.stopping:
            return False
        for parsed, path in self.candidates():
            locked = path.with_name(locked_name(path.name, self.local_id))
            try:
                os.rename(path, locked)
            except FileNotFoundError:
                continue  # another controller took it (or it moved on) since the listing
            self._run_job(parsed, locked)
            return True
        self.apply_retention()
        return False

    def apply_retention(self, now: float | None = None) -> list[Path]:
        """When idle, at most once a minute: remove finished files L1 no longer needs (linen/prover/retention.py)."""
        now = time.time() if now is None else now
        if self._finalized is None or now - self._retention_checked < RETENTION_CHECK_S:
            return []
        self._retention_checked = now
        try:
            finalized = self._finalized()
        except Exception as exc:  # L1 unreachable: keep everything, try again later
            log.warning("controller %s: retention skipped, L1's finalized block unknown: %s", self.local_id, exc)
            return []
        return retention.sweep(self.folders.values(), self.settings.retention_s, finalized, now)

    def candidates(self) -> list[tuple[ProofFileName, Path]]:
        found = []
        for kind, folders in self.folders.items():
            try:
                names = os.listdir(folders.requests)
            except FileNotFoundError:
                continue
            for name in names:
                parsed = parse_request_name(name, kind)
                if parsed is None or (parsed.large and not self.settings.accept_large):
                    continue
                found.append((parsed, folders.requests / name))
        found.sort(key=lambda item: (item[0].sort_key, item[1].name))
        return found

    def recover_leftovers(self) -> list[Path]:
        """Put back requests locked under this controller's id by an earlier run that died.

        Spec §4: execution leftovers come back as `.large`; the earlier run most likely died with
        its job (a prover exhausting the machine's memory takes the controller down too), so the
        job goes to a large prover rather than crashing a normal one again. Other kinds have no
        large mode and come back unchanged. A leftover whose response already exists was finished
        before the crash and is filed as done.
        """
        self._recovered = True
        moved = []
        for kind, folders in self.folders.items():
            self._remove_output(self._tmp_output(folders))
            for entry in sorted(os.listdir(folders.requests)):
                split = split_locked_name(entry)
                if split is None or split[1] != self.local_id:
                    continue
                name = split[0]
                parsed = parse_request_name(name, kind)
                if parsed is not None and (folders.responses / parsed.response_name).is_file():
                    destination = folders.done / (self._done_stem(parsed) + SUCCESS_SUFFIX)
                elif parsed is not None and kind is ProofKind.EXECUTION:
                    destination = folders.requests / parsed.with_(large=True).name
                else:
                    destination = folders.requests / name
                try:
                    os.rename(folders.requests / entry, destination)
                except FileNotFoundError:
                    continue
                log.warning("controller %s: put back leftover %s as %s", self.local_id, entry, destination.name)
                moved.append(destination)
        return moved

    # --- one job -------------------------------------------------------------------------------------------

    def _tmp_output(self, folders: KindFolders) -> Path:
        return folders.responses / f"tmp-response-file.{self.local_id}.json"

    @staticmethod
    def _remove_output(tmp: Path) -> None:
        """Remove the prover's output and what a killed prover left of writing it (its temp files)."""
        tmp.unlink(missing_ok=True)
        for partial in tmp.parent.glob(f".{tmp.name}.*.tmp"):
            partial.unlink(missing_ok=True)

    @staticmethod
    def _done_stem(parsed: ProofFileName) -> str:
        return parsed.base + (LARGE_SUFFIX if parsed.large else "")

    def _run_job(self, parsed: ProofFileName, locked: Path) -> JobResult:
        folders = self.folders[parsed.kind]
        tmp = self._tmp_output(folders)
        self._remove_output(tmp)
        large = parsed.large
        started = time.monotonic()
        self.current = locked
        log.info("controller %s: proving %s%s", self.local_id, parsed.name, " (large)" if large else "")
        try:
            while True:
                code = self._execute(locked, tmp, large)
                if code is None:
                    destination = folders.requests / parsed.name
                    os.rename(locked, destination)
                    self._remove_output(tmp)
                    return self._record(parsed, EXIT_KILLED_BY_CONTROLLER, "requeued", destination, large, started)
                if code == 0 and tmp.is_file():
                    response = folders.responses / parsed.response_name
                    os.replace(tmp, response)
                    destination = folders.done / (self._done_stem(parsed) + SUCCESS_SUFFIX)
                    os.rename(locked, destination)
                    return self._record(parsed, 0, "success", destination, large, started)
                if code == 0:
                    log.error("controller %s: prover exited 0 without writing %s", self.local_id, tmp)
                    code = EXIT_FATAL
                if parsed.kind is ProofKind.EXECUTION and not large and code in RERUN_LARGE_CODES:
                    log.info("controller %s: %s exited %d, rerunning large", self.local_id, parsed.name, code)
                    large = True
                    continue
                break
            self._remove_output(tmp)
            if parsed.kind is ProofKind.EXECUTION and code == EXIT_OUT_OF_MEMORY and not parsed.large:
                destination = folders.requests / parsed.with_(large=True, failure_codes=(code,)).name
                outcome = "deferred-large"
            else:
                destination = folders.done / f"{self._done_stem(parsed)}.failure.code_{code}"
                outcome = "failure"
            os.rename(locked, destination)
            return self._record(parsed, code, outcome, destination, large, started)
        finally:
            self.current = None

    def _record(
        self, parsed: ProofFileName, code: int, outcome: str, destination: Path, large: bool, started: float
    ) -> JobResult:
        result = JobResult(parsed.name, parsed.kind, code, outcome, destination, large, time.monotonic() - started)
        self.results.append(result)
        if self.metrics is not None:
            self.metrics.proof_requests.labels(parsed.kind.value, outcome).inc()
            if outcome == "success":
                self.metrics.prove_seconds.labels(parsed.kind.value).observe(result.seconds)
        level = logging.INFO if outcome in ("success", "requeued") else logging.WARNING
        log.log(level, "controller %s: %s → %s (exit %d)", self.local_id, parsed.name, destination.name, code)
        return result

    def command(self, request: Path, output: Path, large: bool) -> list[str]:
        """The argv of one prove run: the configured template through `sh -c`, else our own prove."""
        template = self.settings.command
        if large:
            template = self.settings.large_command or (f"{template} --large" if template else "")
        if template:
            config = str(self.settings.config_file) if self.settings.config_file else ""
            text = (
                template.replace("{config}", shlex.quote(config))
                .replace("{input}", shlex.quote(str(request)))
                .replace("{output}", shlex.quote(str(output)))
            )
            return ["sh", "-c", text]
        argv = [sys.executable, "-m", "linen.prover.prove"]
        if self.settings.config_file:
            argv += ["--config", str(self.settings.config_file)]
        argv += ["--in", str(request), "--out", str(output)]
        return argv + (["--large"] if large else [])

    def _execute(self, request: Path, output: Path, large: bool) -> int | None:
        """Run one prove command; its exit code, or None if it was stopped to be requeued.

        A child killed by signal N is reported as 128+N, as a shell would (so an OOM kill is 137
        whether or not the command went through `sh`).
        """
        argv = self.command(request, output, large)
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            log.error("controller %s: cannot start %s: %s", self.local_id, argv[0], exc)
            return EXIT_CANNOT_RUN
        while True:
            try:
                code = process.wait(timeout=_WAIT_STEP)
            except subprocess.TimeoutExpired:
                if self._should_abandon():
                    self._kill(process)
                    return None
                continue
            return 128 - code if code < 0 else code

    def _should_abandon(self) -> bool:
        if self._requeue_now.is_set():
            return True
        if not self.stopping:
            return False
        now = time.monotonic()
        if self._stop_seen_at is None:
            self._stop_seen_at = now
            log.warning(
                "controller %s: stopping; the running job has %.0f s to finish",
                self.local_id,
                self.settings.termination_grace_period,
            )
        return now - self._stop_seen_at >= self.settings.termination_grace_period

    def _kill(self, process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the job's own session: the prover and its children
        except ProcessLookupError:
            pass
        process.wait()


def run_controller(settings: ControllerSettings) -> None:
    """Run a controller in the foreground until SIGTERM / SIGUSR1 / Ctrl-C (the CLI's `linen prover`)."""
    controller = Controller(settings)
    controller.install_signal_handlers()
    log.info(
        "controller %s: watching %s for %s",
        settings.local_id,
        settings.requests_root,
        ", ".join(kind.value for kind in settings.kinds),
    )
    controller.run_forever(threading.Event())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linen.prover.controller", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path)
    parser.add_argument("--requests-root")
    parser.add_argument("--local-id")
    parser.add_argument("--kinds")
    parser.add_argument("--command", dest="command_template")
    parser.add_argument("--large-command")
    parser.add_argument("--retry-delays")
    parser.add_argument("--termination-grace-period", type=float)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_controller_settings(
            args.config,
            {
                "requests-root": args.requests_root,
                "local-id": args.local_id,
                "kinds": args.kinds,
                "command": args.command_template,
                "large-command": args.large_command,
                "retry-delays": args.retry_delays,
                "termination-grace-period": args.termination_grace_period,
            },
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_controller(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
