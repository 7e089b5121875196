"""FailureTracker (R-F1, R-F2) and ChannelLease close-after-drain bounds (R-D1 to R-D3)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from durabletask.internal.transport.classify import Outcome
from durabletask.internal.transport.failure_counter import FailureTracker
from durabletask.internal.transport.inflight import ChannelLease, LeaseState


def test_failure_tracker_trips_at_the_threshold_and_resets_on_replies():
    tracker = FailureTracker(3)
    assert [tracker.record_failure() for _ in range(2)] == [False, False]
    assert tracker.record_failure() is True
    assert tracker.record(Outcome.NEUTRAL) is False
    assert tracker.count == 3
    assert tracker.record(Outcome.RESET) is False
    assert tracker.count == 0
    assert tracker.total_failures == 3


def test_failure_tracker_with_threshold_zero_never_trips():
    tracker = FailureTracker(0)
    assert not any(tracker.record_failure() for _ in range(10))
    assert tracker.count == 0


def test_failure_tracker_counts_exactly_under_concurrent_failures():
    tracker = FailureTracker(10_000)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(500):
            tracker.record_failure()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert tracker.count == 4000


def test_failure_tracker_stays_bounded_under_mixed_concurrent_outcomes():
    tracker = FailureTracker(10_000)

    def mix() -> None:
        for _ in range(500):
            tracker.record_failure()
            tracker.record(Outcome.SUCCESS)

    threads = [threading.Thread(target=mix) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert 0 <= tracker.count <= 8


class _ManualScheduler:
    def __init__(self) -> None:
        self.armed: list[tuple[float, Callable[[], None]]] = []
        self.cancelled = 0

    def __call__(self, delay: float, callback: Callable[[], None]) -> _ManualScheduler:
        self.armed.append((delay, callback))
        return self

    def cancel(self) -> None:
        self.cancelled += 1


def _lease(now: float = 0.0) -> tuple[ChannelLease, list[int], _ManualScheduler]:
    closed: list[int] = []
    scheduler = _ManualScheduler()
    lease = ChannelLease(1, lambda: closed.append(1), scheduler=scheduler, clock=lambda: now)
    return lease, closed, scheduler


def test_channel_lease_closes_an_idle_retired_channel_at_once():
    lease, closed, scheduler = _lease()
    lease.retire(3.0, 6.0)
    assert closed == [1]
    assert scheduler.armed == []
    assert lease.state is LeaseState.CLOSED


def test_channel_lease_closes_when_the_last_call_returns_and_not_before():
    lease, closed, scheduler = _lease()
    first, second = lease.acquire(), lease.acquire(None)
    lease.retire(3.0, 6.0)
    lease.release(first)
    lease.release(first)  # idempotent
    assert closed == []
    lease.release(second)
    assert closed == [1]
    assert scheduler.cancelled == 1


@pytest.mark.parametrize(
    ("deadline", "expected_wait"),
    [(None, 3.0), (1.0, 3.0), (4.5, 5.5), (60.0, 6.0)],
)
def test_channel_lease_linger_honours_deadlines_within_the_ceiling(deadline, expected_wait):
    lease, closed, scheduler = _lease(now=0.0)
    lease.acquire(deadline)
    lease.retire(3.0, 6.0)
    [(wait, fire)] = scheduler.armed
    assert wait == pytest.approx(expected_wait)
    fire()
    assert closed == [1]


def test_channel_lease_linger_keeps_a_known_deadline_beside_a_call_without_one():
    lease, closed, scheduler = _lease(now=0.0)
    lease.acquire(None)  # e.g. a history stream: no deadline
    lease.acquire(4.5)  # a long poll that ends at t = 4.5
    lease.retire(3.0, 6.0)
    [(wait, _fire)] = scheduler.armed
    assert wait == pytest.approx(5.5)
    assert closed == []


def test_channel_lease_without_a_closer_only_counts():
    lease = ChannelLease(1, None)
    token = lease.acquire()
    assert lease.in_flight == 1
    lease.close_now()
    lease.release(token)
    assert lease.state is LeaseState.CLOSED
