"""Self-scheduling actors: each service's loops, one unit of work per tick, each on its own thread.

An `Actor` runs `work()` every `interval_s` (or sooner when `trigger()`ed), and after a failure
waits longer each time (doubling up to `max_backoff_s`) before it tries again, so a dead L1 or node
is not hammered. It keeps a health report an operator can read: when it last succeeded, its last
error, how long its current unit of work has been running. A unit of work that runs past
`stall_after_s` (an L1 transaction waiting for a block that never comes) makes the actor `stalled`;
only that actor waits, the others go on. ethrex's L2 is the model: one actor per component, started
by one function, their handles kept where an admin endpoint can read them (`ActorSet`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from linen.errors import OperationalError

log = logging.getLogger(__name__)

# statuses, worst last: the set's status is its worst actor's
STARTING, OK, FAILING, STALLED, STOPPED = "starting", "ok", "failing", "stalled", "stopped"
_SEVERITY = {OK: 0, STARTING: 1, STOPPED: 2, FAILING: 3, STALLED: 4}


@dataclass
class _Record:
    ticks: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    started_at: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    busy_since: float | None = None


class Actor:
    """One loop of a service. `work` does one unit and returns True when more is waiting (the next
    unit then runs at once); it may raise to report a failure. `on_start` gets the stop event first."""

    def __init__(self, name: str, work: Callable[[], object], interval_s: float, *, max_backoff_s: float = 30.0,
                 stall_after_s: float | None = None, clock: Callable[[], float] = time.time,
                 on_start: Callable[[threading.Event], None] | None = None, self_scheduled: bool = True,
                 idle_delays: tuple[float, ...] = ()) -> None:
        if interval_s <= 0:
            raise ValueError(f"actor {name}: interval_s must be positive")
        self.name = name
        self.work = work
        self.interval_s = interval_s
        self.max_backoff_s = max(max_backoff_s, interval_s)
        self.stall_after_s = stall_after_s if stall_after_s is not None else max(15.0, 20 * interval_s)
        self._clock = clock
        self._on_start = on_start
        self.self_scheduled = self_scheduled  # False: its owner's loop calls tick() (the block producer's timer)
        # when set, a unit that found nothing to do waits these in turn (the last repeats), not `interval_s`:
        # Linea's controller backs off like this so idle provers do not hammer a shared folder
        self.idle_delays = tuple(idle_delays)
        self._idle_rounds = 0
        self.last_result: object = None  # what the last unit returned (None after a failure); True: more waits
        self._record = _Record()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------------
    def tick(self) -> bool:
        """One unit of work now, on the caller's thread; True if it succeeded."""
        with self._lock:
            self._record.busy_since = self._clock()
        try:
            self.last_result = self.work()
            self._idle_rounds = 0 if self.last_result is True else self._idle_rounds + 1
        except Exception as exc:
            self.last_result = None
            now = self._clock()
            with self._lock:
                r = self._record
                r.ticks += 1
                r.failures += 1
                r.consecutive_failures += 1
                r.last_error, r.last_error_at, r.busy_since = f"{type(exc).__name__}: {exc}", now, None
            if isinstance(exc, OperationalError):
                log.warning("%s: %s (retrying in %.1f s)", self.name, exc, self.next_delay())
            else:
                log.exception("%s failed (retrying in %.1f s)", self.name, self.next_delay())
            return False
        now = self._clock()
        with self._lock:
            r = self._record
            r.ticks += 1
            r.consecutive_failures = 0
            r.last_success, r.busy_since = now, None
        return True

    def next_delay(self) -> float:
        """The interval, doubled for each failure in a row, up to `max_backoff_s`."""
        failures = self._record.consecutive_failures
        if failures == 0:
            if self.last_result is True:
                return 0.0
            if self.idle_delays:
                return self.idle_delays[min(self._idle_rounds - 1, len(self.idle_delays) - 1)]
            return self.interval_s
        return min(self.max_backoff_s, self.interval_s * 2 ** min(failures, 32))

    def run(self, stopping: threading.Event) -> None:
        """Tick until `stopping` is set; the loop itself never dies of a unit's error."""
        with self._lock:
            self._record.started_at = self._clock()
        if self._on_start is not None:
            self._on_start(stopping)
        while not stopping.is_set():
            self.tick()
            delay = self.next_delay()
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()

    def start(self, stopping: threading.Event) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, args=(stopping,), name=self.name, daemon=True)
        self._thread.start()
        return self._thread

    def trigger(self) -> None:
        """Run the next unit now rather than at the end of the interval."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after the stop event is set; this wakes it from its wait)."""
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- health --------------------------------------------------------------------------------------
    def health(self, now: float | None = None) -> dict:
        """This actor's report: status, last success and error, the lag since its last success."""
        now = self._clock() if now is None else now
        with self._lock:
            r = _Record(**vars(self._record))
        running = self.running
        busy_for = now - r.busy_since if r.busy_since is not None else None
        if self._thread is not None and not running:
            status = STOPPED
        elif busy_for is not None and busy_for > self.stall_after_s:
            status = STALLED
        elif r.consecutive_failures:
            status = FAILING
        elif r.last_success is None:
            status = STARTING
        else:
            status = OK
        since = r.last_success if r.last_success is not None else r.started_at
        return {
            "status": status,
            "intervalSeconds": self.interval_s,
            "ticks": r.ticks,
            "failures": r.failures,
            "consecutiveFailures": r.consecutive_failures,
            "lastSuccess": r.last_success,
            "lastError": r.last_error,
            "lastErrorAt": r.last_error_at,
            "busySeconds": round(busy_for, 3) if busy_for is not None else None,
            "lagSeconds": round(now - since, 3) if since is not None else None,
        }


class ActorSet:
    """The actors one process runs: started and stopped together, their health read in one place."""

    def __init__(self, actors: Iterable[Actor] = ()) -> None:
        self.actors: dict[str, Actor] = {}
        self.stopping = threading.Event()
        for actor in actors:
            self.add(actor)

    def add(self, actor: Actor) -> Actor:
        if actor.name in self.actors:
            raise ValueError(f"two actors are named {actor.name}")
        self.actors[actor.name] = actor
        return actor

    def extend(self, actors: Iterable[Actor]) -> None:
        for actor in actors:
            self.add(actor)

    def start(self) -> None:
        for actor in self.actors.values():
            if actor.self_scheduled and actor._thread is None:
                actor.start(self.stopping)

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for actor in self.actors.values():
            actor.join(max(0.0, deadline - time.monotonic()))

    def health(self, now: float | None = None) -> dict:
        reports = {name: actor.health(now) for name, actor in self.actors.items()}
        worst = max((r["status"] for r in reports.values()), key=_SEVERITY.__getitem__, default=OK)
        return {"status": worst, "actors": reports}
