"""Run a proving tool (bb, node) as a child that never outlives the attempt it serves.

A worker gives up an attempt when another worker's proof of the same job is accepted or its lease
is gone, and an executor kills a worker process that ran past its deadline. Either way, a bb left
running would hold the machine's cores for minutes (a K=16 segment takes ~50 s) and slow the next
job. So every tool runs

- in a session of its own, so the whole group (node's own children included) can be killed;
- under `setpriv --pdeathsig KILL` (util-linux), so the kernel kills it when the process that
  started it dies, even by SIGKILL;
- and is polled: a cancel event set for the calling thread (`cancel_on`) or the timeout kills the
  group at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

POLL_S = 0.2

_scope = threading.local()


class ToolCancelled(Exception):
    """The attempt this tool ran for was given up; the tool was killed."""


class ToolTimedOut(Exception):
    """The tool ran past its timeout and was killed."""


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Within this block, tools run by this thread are killed as soon as `event` is set."""
    previous = getattr(_scope, "event", None)
    _scope.event = event
    try:
        yield
    finally:
        _scope.event = previous


def _cancel_event() -> threading.Event | None:
    return getattr(_scope, "event", None)


def _die_with_parent(cmd: Sequence[str]) -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *cmd] if setpriv else list(cmd)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass
    proc.wait()


def _feed(stream, text: str) -> None:  # type: ignore[no-untyped-def]
    try:
        stream.write(text)
        stream.close()
    except (BrokenPipeError, OSError, ValueError):  # the tool exited or was killed before reading it all
        pass


def _drain(stream, into: list[str]) -> None:  # type: ignore[no-untyped-def]
    into.append(stream.read())


def run_tool(cmd: Sequence[str], *, timeout: float, input: str | None = None,
             env: Mapping[str, str] | None = None, cwd: Path | str | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, capture_output=True, text=True) that kills the tool's whole group on
    timeout (ToolTimedOut), on the caller's cancel event (ToolCancelled) and when this process dies.

    Input and output go through threads of their own, not `communicate`: retried after a timeout,
    `communicate` stops writing input it had not finished (a merge's witness is larger than a pipe
    holds), and the tool waits for the rest for ever."""
    cancel = _cancel_event()
    if cancel is not None and cancel.is_set():
        raise ToolCancelled(f"{Path(cmd[0]).name}: the attempt was given up before it started")
    proc = subprocess.Popen(
        _die_with_parent(cmd), stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=None if env is None else dict(env),
        cwd=cwd, start_new_session=True,
    )
    out: list[str] = []
    err: list[str] = []
    threads = [threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)]
    if input is not None:
        threads.append(threading.Thread(target=_feed, args=(proc.stdin, input), daemon=True))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            _kill_group(proc)
            raise ToolCancelled(f"{Path(cmd[0]).name}: the attempt was given up; the tool was killed")
        if time.monotonic() > deadline:
            _kill_group(proc)
            raise ToolTimedOut(f"{Path(cmd[0]).name} did not finish in {timeout:.0f} s; it was killed")
    for thread in threads:
        thread.join(10)
    if any(t.is_alive() for t in threads):  # a child of the tool still holds its pipes: end it
        _kill_group(proc)
        for thread in threads:
            thread.join(5)
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return subprocess.CompletedProcess(list(cmd), proc.returncode, "".join(out), "".join(err))


def attempt_sleep(seconds: float) -> None:
    """time.sleep that ends in ToolCancelled when the caller's attempt is given up: the simulated
    proof systems' stand-in for a tool's run time."""
    cancel = _cancel_event()
    if cancel is None:
        time.sleep(max(0.0, seconds))
    elif cancel.wait(max(0.0, seconds)):
        raise ToolCancelled("the attempt was given up while it ran")
