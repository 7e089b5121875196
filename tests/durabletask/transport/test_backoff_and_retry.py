"""Full-jitter backoff (R-B1) and the client retry plan (which calls, how long)."""

from __future__ import annotations

import random

import grpc
import pytest

from durabletask.internal.transport.backoff import full_jitter_delay
from durabletask.internal.transport.retry import READ_MAX_ATTEMPTS, RetryPlan


def test_full_jitter_delay_upper_bounds_double_up_to_the_cap():
    delays = [full_jitter_delay(n, 1.0, 30.0, lambda: 0.999999) for n in range(7)]
    assert delays == pytest.approx([1, 2, 4, 8, 16, 30, 30], rel=1e-4)
    assert full_jitter_delay(10_000, 1.0, 30.0, lambda: 0.999999) <= 30


def test_full_jitter_delay_is_uniform_below_the_bound_with_a_seeded_rng():
    rng = random.Random(7)
    samples = [full_jitter_delay(3, 1.0, 30.0, rng.random) for _ in range(10_000)]
    assert min(samples) >= 0
    assert max(samples) < 8
    assert sum(samples) / len(samples) == pytest.approx(4, abs=0.2)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("method", ["StartInstance", "RaiseEvent", "TerminateInstance",
                                    "SignalEntity", "PurgeInstances"])
def test_retry_plan_never_retries_calls_that_change_state(method):
    plan = RetryPlan(method, 30.0, clock=_Clock(), rng=lambda: 0.5)
    plan.attempt_timeout()
    assert plan.retry_delay(UNAVAILABLE) is None


def test_retry_plan_retries_reads_a_bounded_number_of_times_and_only_on_unavailable():
    plan = RetryPlan("GetInstance", 30.0, clock=_Clock(), rng=lambda: 0.5)
    delays = []
    for _ in range(10):
        plan.attempt_timeout()
        delay = plan.retry_delay(UNAVAILABLE)
        if delay is None:
            break
        delays.append(delay)
    assert len(delays) == READ_MAX_ATTEMPTS - 1
    fresh = RetryPlan("GetInstance", 30.0, clock=_Clock(), rng=lambda: 0.5)
    fresh.attempt_timeout()
    assert fresh.retry_delay(grpc.StatusCode.NOT_FOUND) is None
    assert fresh.retry_delay(grpc.StatusCode.DEADLINE_EXCEEDED) is None


def test_retry_plan_retries_a_long_poll_until_its_deadline_and_ends_there():
    clock = _Clock()
    plan = RetryPlan("WaitForInstanceCompletion", 5.0, clock=clock, rng=lambda: 0.999)
    waited = 0.0
    for _ in range(1000):
        timeout = plan.attempt_timeout()
        assert timeout is not None
        assert timeout <= max(5.0 - waited, 0.01) + 1e-9
        delay = plan.retry_delay(UNAVAILABLE)
        if delay is None:
            break
        clock.now += delay
        waited += delay
    assert waited == pytest.approx(5.0, abs=0.02)
    assert plan.deadline_passed
    assert plan.attempts > 5


def test_retry_plan_asks_again_when_a_stopping_sidecar_cancels_a_long_poll():
    long_poll = RetryPlan("WaitForInstanceCompletion", 5.0, clock=_Clock(), rng=lambda: 0.5)
    long_poll.attempt_timeout()
    read = RetryPlan("GetInstance", 5.0, clock=_Clock(), rng=lambda: 0.5)
    read.attempt_timeout()
    assert long_poll.retry_delay(grpc.StatusCode.CANCELLED) is not None
    assert read.retry_delay(grpc.StatusCode.CANCELLED) is None
