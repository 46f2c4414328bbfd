"""A proof network on this machine: `linen prover network` and N `linen prover worker` processes, kept alive.

What `linen devnet --proofs zk --prover-workers N` runs. Each is a child process, so killing any of
them is what killing a machine of a real network is. A supervisor thread starts a new one in the place
of any that exits: the network on the same ports (its store holds every proof made before the kill),
a worker under a new name. Each child stops when this process dies, even by SIGKILL (parent_watch).
More workers can join by hand: `linen prover worker --coordinator URL`.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from linen.network.faults import FaultPlan
from linen.network.parent_watch import child_env
from linen.network.proofs import bb_spec, worker_options
from linen.ports import free_port

log = logging.getLogger("linen.network.fleet")
LINEN = [sys.executable, "-m", "linen.cli", "prover"]


class WorkerSupervisor:
    """`size` `linen prover worker` processes against `url`; one that exits is replaced by a new one
    under a new name (an open network's churn: a crashed or suspended prover comes back as another)."""

    def __init__(self, url: str, spec: dict, size: int, memory: str = "4GiB", prefix: str = "worker",
                 faults: FaultPlan | None = None, log_dir: Path | None = None, poll_s: float = 0.5) -> None:
        self.url, self.spec, self.memory, self.prefix, self.faults = url, spec, memory, prefix, faults
        self.log_dir, self.poll_s = log_dir, poll_s
        self.started = 0
        self._stop = threading.Event()
        self.procs = [self._start() for _ in range(size)]
        self._keeper = threading.Thread(target=self._keep, name=f"{prefix}-keeper", daemon=True)
        self._keeper.start()

    def _start(self) -> subprocess.Popen:
        self.started += 1
        name = f"{self.prefix}-{self.started}"
        args = [*LINEN, "worker", "--coordinator", self.url, "--memory", self.memory, "--name", name,
                *worker_options(self.spec)]
        if self.faults is not None and self.faults.q > 0:  # each new worker its own seed
            args += ["--faults", replace(self.faults, seed=self.faults.seed * 1000 + self.started).to_text()]
        if self.log_dir is None:
            return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env())
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "a") as stderr:
            return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr, env=child_env())

    def _keep(self) -> None:
        while not self._stop.wait(self.poll_s):
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None:
                    log.info("prover worker exited (%s): starting another", proc.returncode)
                    self.procs[i] = self._start()

    @property
    def restarts(self) -> int:
        return self.started - len(self.procs)

    def stop(self) -> None:
        self._stop.set()
        self._keeper.join(5)
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


class LocalProverNetwork:
    def __init__(self, store: Path, zk_dir: Path, workers: int, lease_s: float = 60.0, threads: int = 1,
                 memory: str = "4GiB", log_dir: Path | None = None) -> None:
        self.store, self.zk_dir, self.lease_s, self.threads, self.memory = store, zk_dir, lease_s, threads, memory
        self.log_dir = log_dir or store
        self.port, self.admin_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.service_restarts = 0
        self._stop = threading.Event()
        self.service = self._start_service()
        self.workers = WorkerSupervisor(self.url, bb_spec(zk_dir, threads), workers, memory, "devnet-worker",
                                        log_dir=self.log_dir)
        self._keeper = threading.Thread(target=self._keep, name="prover-network-keeper", daemon=True)
        self._keeper.start()

    @property
    def restarts(self) -> int:
        return self.service_restarts + self.workers.restarts

    def _start_service(self) -> subprocess.Popen:
        self.store.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / "network.log", "a") as stderr:
            proc = subprocess.Popen([*LINEN, "network", "--store", str(self.store), "--port", str(self.port),
                                     "--admin-port", str(self.admin_port), "--lease", str(self.lease_s),
                                     "--zk-dir", str(self.zk_dir), "--threads", str(self.threads)],
                                    stdout=subprocess.PIPE, stderr=stderr, text=True, env=child_env())
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once both ports listen (circuits are compiled before)
        if "proof network" not in line:
            proc.kill()
            raise RuntimeError(f"linen prover network did not start (see {self.log_dir / 'network.log'})")
        return proc

    def _keep(self) -> None:
        while not self._stop.wait(0.5):
            if self.service.poll() is not None:
                log.warning("the proof network exited (%s): starting it again", self.service.returncode)
                self.service_restarts += 1
                try:
                    self.service = self._start_service()
                except RuntimeError as exc:  # tried again on the next round
                    log.warning("%s", exc)
                    time.sleep(1.0)

    def stop(self) -> None:
        self._stop.set()
        self._keeper.join(5)
        self.workers.stop()
        self.service.terminate()
        try:
            self.service.wait(10)
        except subprocess.TimeoutExpired:
            self.service.kill()
            self.service.wait(5)
