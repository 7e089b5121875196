"""Leases: a hung worker's item is taken back after the lease timeout; restarts resume work."""

from __future__ import annotations

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.durability.conftest import stop_harness
from tests.durabletask.sidecar.fake_worker import (
    complete,
    create_timer,
    in_seconds,
    kinds,
    schedule_task,
)

FAILED = pb.ORCHESTRATION_STATUS_FAILED
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED


@pytest.mark.slow
def test_hung_orchestration_lease_expires_and_item_is_redelivered_with_new_token(
    make_sqlite_harness,
):
    harness = make_sqlite_harness(lease_timeout_seconds=0.2)
    harness.start("i1")
    hung_worker = harness.worker()
    hung = hung_worker.orchestration("i1")
    standby = harness.worker()
    again = standby.orchestration("i1", timeout=5)  # no answer: the lease ran out
    assert again.completionToken != hung.completionToken
    assert kinds(again.orchestratorRequest.newEvents) == ["orchestratorStarted", "executionStarted"]
    hung_worker.complete(hung, complete(1, result='"stale"'))  # wakes up too late
    standby.complete(again, complete(1, result='"fresh"'))
    assert harness.wait_done("i1").output.value == '"fresh"'


@pytest.mark.slow
def test_orchestration_fails_with_worker_lost_after_leases_keep_expiring(make_sqlite_harness):
    harness = make_sqlite_harness(lease_timeout_seconds=0.1, max_recovery_attempts=1)
    harness.start("i1")
    # Each hung worker gets the item once: a worker whose lease expired gets no new work.
    harness.worker().orchestration("i1")
    harness.worker().orchestration("i1")
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == FAILED
    assert state.failureDetails.errorType == "WorkerLost"
    assert "2 workers were lost" in state.failureDetails.errorMessage


@pytest.mark.slow
def test_hung_activity_is_redelivered_then_fails_as_worker_lost_not_as_app_error(
    make_sqlite_harness,
):
    harness = make_sqlite_harness(lease_timeout_seconds=0.1, max_recovery_attempts=1)
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "stuck"))
    first = worker.activity("i1")
    second = harness.worker().activity("i1")
    assert second.completionToken != first.completionToken
    assert second.activityRequest.taskId == 1
    # Both hung workers get no new work: a third one runs the failed task's episode.
    worker = harness.worker()
    event = worker.orchestration("i1").orchestratorRequest.newEvents[1]
    assert event.taskFailed.failureDetails.errorType == "WorkerLost"
    assert event.taskFailed.failureDetails.isNonRetriable
    assert "stuck" in event.taskFailed.failureDetails.errorMessage


@pytest.mark.slow
def test_answer_within_lease_is_never_taken_back(make_sqlite_harness):
    harness = make_sqlite_harness(lease_timeout_seconds=0.15, max_recovery_attempts=0)
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "quick"))
    worker.complete_activity(worker.activity("i1"), result="1")
    worker.complete(worker.orchestration("i1"), complete(2, result="1"))
    worker.expect_nothing(within=0.4)
    assert harness.wait_done("i1").orchestrationStatus == COMPLETED


@pytest.mark.slow
def test_restart_redelivers_dispatched_activity_and_rearms_every_timer(make_sqlite_harness):
    first = make_sqlite_harness()
    first.start("i1")
    worker = first.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"),
                    create_timer(2, in_seconds(0.4)), create_timer(3, in_seconds(0.8)))
    worker.activity("i1")  # dispatched, never answered before the restart
    first.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="go"), timeout=5)
    stop_harness(first)

    second = make_sqlite_harness()
    worker = second.worker()
    worker.complete_activity(worker.activity("i1"), result='"done"')
    seen: list[str] = []
    while not {"timerFired", "taskCompleted", "eventRaised"} <= set(seen) or seen.count(
        "timerFired"
    ) < 2:
        item = worker.orchestration("i1", timeout=5)
        seen += kinds(item.orchestratorRequest.newEvents)
        worker.complete(item)
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
