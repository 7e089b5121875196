"""Leases: a hung worker's item is taken back after the lease timeout; restarts resume work."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.testing import VirtualClock
from tests.durabletask.durability.conftest import stop_harness
from tests.durabletask.sidecar.fake_worker import (
    complete,
    create_timer,
    kinds,
    schedule_task,
)

FAILED = pb.ORCHESTRATION_STATUS_FAILED
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
LEASE = timedelta(minutes=5)
T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _on_clock(make_sqlite_harness, clock: VirtualClock, **options):
    """A harness whose sidecar runs on ``clock`` (frozen: leases end when the test says).

    Group commits are not spaced: their spacing would wait on the frozen clock too.
    """
    return make_sqlite_harness(clock=clock, lease_timeout_seconds=LEASE.total_seconds(),
                               group_commit_spacing_seconds=0.0, **options)


def test_hung_orchestration_lease_expires_and_item_is_redelivered_with_new_token(
    make_sqlite_harness,
):
    clock = VirtualClock(T0)
    harness = _on_clock(make_sqlite_harness, clock)
    harness.start("i1")
    hung_worker = harness.worker()
    hung = hung_worker.orchestration("i1")
    standby = harness.worker()
    clock.advance(LEASE - timedelta(microseconds=1))
    standby.expect_nothing(within=0.1)  # the lease has not run out yet
    clock.advance(timedelta(microseconds=1))
    again = standby.orchestration("i1", timeout=5)  # no answer: the lease ran out
    assert again.completionToken != hung.completionToken
    assert kinds(again.orchestratorRequest.newEvents) == ["orchestratorStarted", "executionStarted"]
    hung_worker.complete(hung, complete(1, result='"stale"'))  # wakes up too late
    standby.complete(again, complete(1, result='"fresh"'))
    assert harness.wait_done("i1").output.value == '"fresh"'


def test_orchestration_fails_with_worker_lost_after_leases_keep_expiring(make_sqlite_harness):
    clock = VirtualClock(T0)
    harness = _on_clock(make_sqlite_harness, clock, max_recovery_attempts=1)
    harness.start("i1")
    # Each hung worker gets the item once: a worker whose lease expired gets no new work.
    harness.worker().orchestration("i1")
    clock.advance(LEASE)
    harness.worker().orchestration("i1")
    clock.advance(LEASE)
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == FAILED
    assert state.failureDetails.errorType == "WorkerLost"
    assert "2 workers were lost" in state.failureDetails.errorMessage


def test_hung_activity_is_redelivered_then_fails_as_worker_lost_not_as_app_error(
    make_sqlite_harness,
):
    clock = VirtualClock(T0)
    harness = _on_clock(make_sqlite_harness, clock, max_recovery_attempts=1)
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "stuck"))
    first = worker.activity("i1")
    clock.advance(LEASE)
    second = harness.worker().activity("i1")
    assert second.completionToken != first.completionToken
    assert second.activityRequest.taskId == 1
    clock.advance(LEASE)
    # Both hung workers get no new work: a third one runs the failed task's episode.
    worker = harness.worker()
    event = worker.orchestration("i1").orchestratorRequest.newEvents[1]
    assert event.taskFailed.failureDetails.errorType == "WorkerLost"
    assert event.taskFailed.failureDetails.isNonRetriable
    assert "stuck" in event.taskFailed.failureDetails.errorMessage


def test_answer_within_lease_is_never_taken_back(make_sqlite_harness):
    clock = VirtualClock(T0)
    harness = _on_clock(make_sqlite_harness, clock, max_recovery_attempts=0)
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "quick"))
    worker.complete_activity(worker.activity("i1"), result="1")
    worker.complete(worker.orchestration("i1"), complete(2, result="1"))
    clock.advance(LEASE * 2)
    worker.expect_nothing(within=0.2)
    assert harness.wait_done("i1").orchestrationStatus == COMPLETED


def test_restart_redelivers_dispatched_activity_and_rearms_every_timer(make_sqlite_harness):
    clock = VirtualClock(T0)  # one timeline across the restart
    first = _on_clock(make_sqlite_harness, clock)
    first.start("i1")
    worker = first.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"),
                    create_timer(2, T0 + timedelta(hours=1)),
                    create_timer(3, T0 + timedelta(hours=2)))
    worker.activity("i1")  # dispatched, never answered before the restart
    first.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="go"), timeout=5)
    stop_harness(first)

    second = _on_clock(make_sqlite_harness, clock)
    worker = second.worker()
    worker.complete_activity(worker.activity("i1"), result='"done"')
    seen: list[str] = []

    def answer_until(done) -> None:
        while not done():
            item = worker.orchestration("i1", timeout=5)
            seen.extend(kinds(item.orchestratorRequest.newEvents))
            worker.complete(item)

    answer_until(lambda: {"taskCompleted", "eventRaised"} <= set(seen))
    # Only now let the hours pass: an episode still out would lose its (5 min) lease.
    clock.advance(timedelta(hours=2))
    answer_until(lambda: seen.count("timerFired") == 2)
    fired = [e.timerFired.timerId for e in second.history("i1") if e.HasField("timerFired")]
    assert sorted(fired) == [2, 3]
    assert seen.count("taskCompleted") == 1


def test_restart_ignores_completion_tokens_of_the_previous_run(make_sqlite_harness):
    first = make_sqlite_harness()
    first.start("i1")
    old = first.worker().orchestration("i1")
    stop_harness(first)

    second = make_sqlite_harness()
    worker = second.worker()
    fresh = worker.orchestration("i1")
    worker.complete(old, complete(1, result='"old"'))
    assert second.status("i1") == pb.ORCHESTRATION_STATUS_PENDING
    worker.complete(fresh, complete(1, result='"new"'))
    assert second.wait_done("i1").output.value == '"new"'
    assert kinds(second.history("i1")).count("executionCompleted") == 1


@pytest.mark.slow
def test_graceful_sidecar_stop_does_not_count_the_streams_it_ends_as_lost_workers(
    make_sqlite_harness,
):
    # With max_recovery_attempts=0 one lost worker would fail the activity (WorkerLost).
    first = make_sqlite_harness(max_recovery_attempts=0)
    first.start("i1")
    worker = first.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"))
    worker.activity("i1")  # leased when the sidecar stops
    first.sidecar.stop(grace=1.0)  # graceful: the sidecar ends the stream itself
    first.close()

    second = make_sqlite_harness(max_recovery_attempts=0)
    worker = second.worker()
    worker.complete_activity(worker.activity("i1"), result='"done"')
    events = worker.orchestration("i1").orchestratorRequest.newEvents
    assert "taskCompleted" in kinds(events)
    assert "taskFailed" not in kinds(events)
