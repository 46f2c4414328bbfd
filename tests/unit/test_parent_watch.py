"""A devnet's prover network and workers do not outlive it, even when it is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from linen.network.parent_watch import PARENT_ENV, exit_with_parent

PARENT = textwrap.dedent("""
    import subprocess, sys, threading, time
    from linen.network.fleet import LINEN, WorkerSupervisor
    from linen.network.parent_watch import child_env
    from linen.network.proofs import sim_spec
    from linen.ports import free_port

    store = sys.argv[1]
    # a worker started from a thread that exits at once: its parent-death signal would fire here
    holder = {}
    starter = threading.Thread(target=lambda: holder.update(sup=WorkerSupervisor(
        f"http://127.0.0.1:{free_port()}", sim_spec(0.1, 0.1), 1, poll_s=60.0)))
    starter.start(); starter.join()
    network = subprocess.Popen([*LINEN, "network", "--store", store, "--simulate", "0.1:0.1",
                                "--port", str(free_port()), "--admin-port", str(free_port())],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=child_env())
    network.stdout.readline()
    print(holder["sup"].procs[0].pid, network.pid, flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead; it waits for init to reap it
        return stat.read().split(") ")[-1].split()[0] != "Z"


def test_the_network_and_its_workers_stop_when_the_devnet_is_killed(tmp_path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "store")], stdout=subprocess.PIPE,
                              text=True)
    try:
        worker_pid, network_pid = (int(x) for x in parent.stdout.readline().split())
        time.sleep(1.5)  # past the watchers' first look: both are up while their parent is
        assert _alive(worker_pid) and _alive(network_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (_alive(worker_pid) or _alive(network_pid)):
            time.sleep(0.2)
        assert not _alive(worker_pid), "the worker outlived the devnet"
        assert not _alive(network_pid), "the proof network outlived the devnet"
    finally:
        parent.kill()
        for pid in (locals().get("worker_pid"), locals().get("network_pid")):
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_process_started_by_hand_is_not_watched(monkeypatch) -> None:
    monkeypatch.delenv(PARENT_ENV, raising=False)
    assert exit_with_parent(threading.Event()) is None


def test_the_watch_ends_with_a_normal_stop(monkeypatch) -> None:
    monkeypatch.setenv(PARENT_ENV, str(os.getppid()))
    stop = threading.Event()
    watcher = exit_with_parent(stop, poll_s=0.05)
    assert watcher is not None and watcher.is_alive()
    stop.set()
    watcher.join(2)
    assert not watcher.is_alive()
