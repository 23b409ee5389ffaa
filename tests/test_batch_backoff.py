"""The shared back-off: one hold pauses every caller, then releases them one by one."""

from __future__ import annotations

from core.backoff import SharedBackoff


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_open_gate_costs_nothing():
    gate = SharedBackoff(4, clock=Clock())
    assert [gate.delay() for _ in range(10)] == [0.0] * 10


def test_a_hold_makes_every_worker_wait_at_least_retry_after_then_staggers_them():
    clock = Clock()
    gate = SharedBackoff(4, clock=clock)
    gate.hold(2.0)
    waits = [gate.delay() for _ in range(4)]
    assert min(waits) >= 2.0
    assert waits == sorted(waits) and len(set(waits)) == 4  # one at a time, not a herd
    assert waits[-1] - waits[0] == 1.5  # spread over the retry window (2 s / 4 workers)
    assert gate.delay() == 2.0  # past the stagger: just the hold itself
    clock.now += 5
    assert gate.delay() == 0.0


def test_a_shorter_hold_never_cuts_a_longer_one():
    clock = Clock()
    gate = SharedBackoff(1, clock=clock)
    gate.hold(10.0)
    gate.hold(1.0)
    assert gate.delay() >= 10.0 and gate.holds == 2


def test_wait_stops_when_cancelled():
    gate = SharedBackoff(1, clock=Clock())
    gate.hold(30.0)
    slept = []

    def sleep(seconds: float) -> bool:
        slept.append(seconds)
        return True  # cancelled during the wait

    assert gate.wait(sleep) is True and slept == [30.0]


def test_a_hold_that_comes_during_a_wait_is_waited_out_too():
    clock = Clock()
    gate = SharedBackoff(1, clock=clock)
    gate.hold(1.0)
    slept = []

    def sleep(seconds: float) -> bool:
        slept.append(seconds)
        clock.now += seconds
        if len(slept) == 1:
            gate.hold(5.0)  # another worker met a 429 meanwhile
        return False

    assert gate.wait(sleep) is False
    assert slept[0] == 1.0 and sum(slept) >= 6.0
