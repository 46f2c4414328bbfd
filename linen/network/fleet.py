"""A proof network on this machine: `linen prover network` and N `linen prover worker` processes, kept alive.

What `linen devnet --proofs zk --prover-workers N` runs. Each is a child process, so killing any of
them is what killing a machine of a real network is. A supervisor thread starts a new one in the place
of any that exits: the network on the same ports (its store holds every proof made before the kill),
a worker under a new name. More workers can join by hand: `linen prover worker --coordinator URL`.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

from linen.ports import free_port

log = logging.getLogger("linen.network.fleet")
LINEN = [sys.executable, "-m", "linen.cli", "prover"]


class LocalProverNetwork:
    def __init__(self, store: Path, zk_dir: Path, workers: int, lease_s: float = 60.0, threads: int = 1,
                 memory: str = "4GiB", log_dir: Path | None = None) -> None:
        self.store, self.zk_dir, self.lease_s, self.threads, self.memory = store, zk_dir, lease_s, threads, memory
        self.log_dir = log_dir or store
        self.port, self.admin_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.restarts = 0
        self._named = 0
        self._stop = threading.Event()
        self.service = self._start_service()
        self.workers = [self._start_worker() for _ in range(workers)]
        self._keeper = threading.Thread(target=self._keep, name="prover-network-keeper", daemon=True)
        self._keeper.start()

    def _log(self, name: str):  # type: ignore[no-untyped-def]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"{name}.log", "a")

    def _start_service(self) -> subprocess.Popen:
        self.store.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([*LINEN, "network", "--store", str(self.store), "--port", str(self.port),
                                 "--admin-port", str(self.admin_port), "--lease", str(self.lease_s),
                                 "--zk-dir", str(self.zk_dir), "--threads", str(self.threads)],
                                stdout=subprocess.PIPE, stderr=self._log("network"), text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once both ports listen (circuits are compiled before)
        if "proof network" not in line:
            proc.kill()
            raise RuntimeError(f"linen prover network did not start (see {self.log_dir / 'network.log'})")
        return proc

    def _start_worker(self) -> subprocess.Popen:
        self._named += 1
        name = f"devnet-worker-{self._named}"
        return subprocess.Popen([*LINEN, "worker", "--coordinator", self.url, "--memory", self.memory,
                                 "--name", name, "--zk-dir", str(self.zk_dir), "--threads", str(self.threads)],
                                stdout=subprocess.DEVNULL, stderr=self._log(name))

    def _keep(self) -> None:
        while not self._stop.wait(0.5):
            if self.service.poll() is not None:
                log.warning("the proof network exited (%s): starting it again", self.service.returncode)
                self.restarts += 1
                try:
                    self.service = self._start_service()
                except RuntimeError as exc:  # tried again on the next round
                    log.warning("%s", exc)
                    time.sleep(1.0)
            for i, worker in enumerate(self.workers):
                if worker.poll() is not None:
                    log.warning("prover worker exited (%s): starting another", worker.returncode)
                    self.restarts += 1
                    self.workers[i] = self._start_worker()

    def stop(self) -> None:
        self._stop.set()
        self._keeper.join(5)
        for proc in [*self.workers, self.service]:
            proc.terminate()
        for proc in [*self.workers, self.service]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
