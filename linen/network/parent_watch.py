"""Children of a devnet that stop when the devnet dies, even by SIGKILL.

`linen devnet --prover-workers N` runs `linen prover network` and N `linen prover worker` processes.
If the devnet is killed they must not live on: a restarted devnet starts a new network on the same
store, and two coordinators writing one store, or orphaned workers holding both cores, would break
it. The kernel's parent-death signal (what `tool_process` uses for bb) fires when the *thread* that
started the child exits, and the supervisors start children from several threads. So the parent
puts its pid in the child's environment and the child watches its own parent pid instead: once it
changes (the child was re-parented), the child stops as on SIGTERM, and exits for good after a grace.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("linen.network.parent_watch")

PARENT_ENV = "LINEN_EXIT_WITH_PARENT"


def child_env() -> dict[str, str]:
    """The environment for a child that must not outlive this process."""
    return {**os.environ, PARENT_ENV: str(os.getpid())}


def exit_with_parent(stop: threading.Event, poll_s: float = 0.5, grace_s: float = 10.0) -> threading.Thread | None:
    """If started by `child_env()`, set `stop` once the parent is gone and exit after `grace_s`.

    Nothing is watched when the variable is absent (a worker started by hand stays up on its own)."""
    raw = os.environ.get(PARENT_ENV)
    if not raw:
        return None
    parent = int(raw)

    def watch() -> None:
        while os.getppid() == parent:
            if stop.wait(poll_s):
                return  # stopping anyway
        log.warning("parent process %d is gone: stopping", parent)
        stop.set()
        threading.Event().wait(grace_s)
        os._exit(3)  # still not done: a job in hand is the store's to resume, not this orphan's

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
