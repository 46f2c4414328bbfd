"""The actor type: one unit of work per tick, back-off after failures, and a health report that
names a stalled or failing actor while the others go on."""

from __future__ import annotations

import threading
import time

from linen.actors import FAILING, OK, STALLED, STARTING, STOPPED, Actor, ActorSet
from linen.errors import OperationalError


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def test_a_failing_unit_is_reported_and_backs_off_doubling_up_to_the_cap():
    outcomes = iter([OperationalError("L1 down"), OperationalError("L1 down"), OperationalError("L1 down"), None])

    def work():
        exc = next(outcomes)
        if exc is not None:
            raise exc

    actor = Actor("l1-sender", work, interval_s=1.0, max_backoff_s=3.0)
    assert actor.health()["status"] == STARTING
    assert actor.tick() is False
    report = actor.health()
    assert report["status"] == FAILING and report["lastError"] == "OperationalError: L1 down"
    assert report["consecutiveFailures"] == 1 and report["lastSuccess"] is None
    assert actor.next_delay() == 2.0
    actor.tick()
    assert actor.next_delay() == 3.0  # 4 s, capped
    actor.tick()
    assert actor.next_delay() == 3.0
    assert actor.tick() is True
    report = actor.health()
    assert report["status"] == OK and report["failures"] == 3 and report["ticks"] == 4
    assert report["consecutiveFailures"] == 0 and report["lastError"] == "OperationalError: L1 down"
    assert actor.next_delay() == 1.0


def test_an_unexpected_exception_does_not_end_the_loop():
    calls = []

    def work():
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("a bug")

    actors = ActorSet([Actor("buggy", work, interval_s=0.01, max_backoff_s=0.02)])
    actors.start()
    try:
        wait_for(lambda: len(calls) >= 3)
        assert actors.health()["actors"]["buggy"]["status"] == OK
        assert "KeyError" in actors.health()["actors"]["buggy"]["lastError"]
    finally:
        actors.stop(5)
    assert actors.health()["actors"]["buggy"]["status"] == STOPPED


def test_work_that_reports_more_runs_again_at_once():
    left = [5]

    def work():
        left[0] -= 1
        return left[0] > 0

    actor = Actor("drain", work, interval_s=60.0)
    stopping = threading.Event()
    actor.start(stopping)
    try:
        wait_for(lambda: left[0] == 0, timeout=2.0)  # five units well inside one 60 s interval
    finally:
        stopping.set()
        actor.join(5)


def test_a_unit_that_hangs_makes_only_its_actor_stalled():
    release = threading.Event()
    fast_ticks = []
    hung = Actor("coordinator.blob-submission", release.wait, interval_s=0.01, stall_after_s=0.2)
    fast = Actor("coordinator.conflation", lambda: fast_ticks.append(1), interval_s=0.01)
    actors = ActorSet([hung, fast])
    actors.start()
    try:
        wait_for(lambda: actors.health()["actors"]["coordinator.blob-submission"]["status"] == STALLED)
        before = len(fast_ticks)
        wait_for(lambda: len(fast_ticks) > before + 5)  # the other actor goes on
        report = actors.health()
        assert report["status"] == STALLED
        assert report["actors"]["coordinator.conflation"]["status"] == OK
        assert report["actors"]["coordinator.blob-submission"]["busySeconds"] >= 0.2
        release.set()
        wait_for(lambda: actors.health()["actors"]["coordinator.blob-submission"]["status"] == OK)
        assert actors.health()["status"] == OK
    finally:
        release.set()
        actors.stop(5)


def test_an_actor_set_refuses_two_actors_of_one_name_and_externally_driven_actors_are_not_started():
    actors = ActorSet([Actor("a", lambda: None, 1.0)])
    try:
        actors.add(Actor("a", lambda: None, 1.0))
    except ValueError as exc:
        assert "two actors are named a" in str(exc)
    else:
        raise AssertionError("a duplicate name was accepted")
    driven = actors.add(Actor("sequencer.block-producer", lambda: None, 1.0, self_scheduled=False))
    actors.start()
    try:
        assert not driven.running
        assert driven.tick() is True
        assert actors.health()["actors"]["sequencer.block-producer"]["status"] == OK
    finally:
        actors.stop(5)


def test_idle_delays_back_off_while_there_is_nothing_to_do_and_reset_after_work():
    found = iter([False, False, False, True, False])
    actor = Actor("prover.controller.x", lambda: next(found), interval_s=9.0, idle_delays=(0.0, 1.0, 2.0))
    delays = []
    for _ in range(5):
        actor.tick()
        delays.append(actor.next_delay())
    assert delays == [0.0, 1.0, 2.0, 0.0, 0.0]  # the last delay repeats; a job found means: next one at once
