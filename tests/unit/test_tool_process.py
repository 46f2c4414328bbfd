"""A proving tool never outlives its attempt: timeout, cancel, and its parent's death kill it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from linen.zk.tool_process import ToolCancelled, ToolTimedOut, cancel_on, run_tool


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _pid_file(path: Path, seconds: float = 10.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text:
            return int(text)
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def test_output_exit_code_and_input_are_those_of_subprocess_run():
    done = run_tool(["sh", "-c", "read x; echo got $x; echo err >&2; exit 3"], input="7\n", timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (3, "got 7\n", "err\n")


def test_a_long_output_is_read_whole():
    done = run_tool([sys.executable, "-c", "print('x' * 1_000_000)"], timeout=30)
    assert done.returncode == 0 and len(done.stdout) == 1_000_001


def test_timeout_kills_the_tool_and_its_children(tmp_path):
    pids = tmp_path / "pids"
    started = time.monotonic()
    with pytest.raises(ToolTimedOut, match="did not finish in 1 s"):
        run_tool(["sh", "-c", f"sleep 60 & echo $! > {pids}; wait"], timeout=1)
    assert time.monotonic() - started < 5
    assert _wait_dead(_pid_file(pids)), "the tool's own child survived the timeout"


def test_cancel_kills_the_tool_at_once(tmp_path):
    pid_file = tmp_path / "pid"
    cancel = threading.Event()
    outcome: dict = {}

    def attempt() -> None:
        with cancel_on(cancel):
            try:
                run_tool(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"], timeout=120)
            except ToolCancelled as exc:
                outcome["cancelled"] = str(exc)

    thread = threading.Thread(target=attempt)
    thread.start()
    pid = _pid_file(pid_file)
    assert _alive(pid)
    cancel.set()
    thread.join(5)
    assert not thread.is_alive() and "given up" in outcome["cancelled"]
    assert _wait_dead(pid)
    with cancel_on(cancel), pytest.raises(ToolCancelled, match="before it started"):
        run_tool(["true"], timeout=5)
    assert run_tool(["true"], timeout=5).returncode == 0  # the scope ended with the block


def test_the_tool_dies_with_the_process_that_started_it(tmp_path):
    pid_file = tmp_path / "pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        "from linen.zk.tool_process import run_tool\n"
        f"run_tool(['sh', '-c', 'echo $$ > {pid_file}; exec sleep 60'], timeout=120)\n")])
    try:
        pid = _pid_file(pid_file)
        assert _alive(pid)
        parent.kill()  # SIGKILL: no Python code runs to clean up
        parent.wait(5)
        assert _wait_dead(pid), "the tool outlived the process that started it"
    finally:
        parent.kill()


def test_input_larger_than_a_pipe_reaches_a_tool_that_starts_reading_late():
    """A merge's witness is megabytes and node reads it after a second of start-up."""
    text = "y" * 5_000_000
    done = run_tool([sys.executable, "-c", "import sys, time; time.sleep(1); print(len(sys.stdin.read()))"],
                    input=text, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == str(len(text))
