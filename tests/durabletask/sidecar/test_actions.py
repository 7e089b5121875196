"""Each orchestrator action, its confirming history event and its effect, over real gRPC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.testing import VirtualClock
from tests.durabletask.sidecar.fake_worker import (
    complete,
    continue_as_new,
    create_timer,
    kinds,
    schedule_task,
    send_event,
    sub_orchestration,
)

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
FAILED = pb.ORCHESTRATION_STATUS_FAILED


def test_schedule_task_records_task_scheduled_and_sends_activity_request(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "greet", '"bob"'))
    item = worker.activity("i1")
    req = item.activityRequest
    assert (req.name, req.input.value, req.taskId) == ("greet", '"bob"', 1)
    assert req.orchestrationInstance.instanceId == "i1"
    assert req.orchestrationInstance.executionId.value
    history = harness.history("i1")
    assert kinds(history) == [
        "orchestratorStarted", "executionStarted", "taskScheduled", "orchestratorCompleted"
    ]
    assert history[2].eventId == 1
    assert history[2].taskScheduled.name == "greet"


def test_activity_result_arrives_as_task_completed_in_next_episode(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "greet"))
    worker.complete_activity(worker.activity("i1"), result='"hi"')
    events = worker.orchestration("i1").orchestratorRequest.newEvents
    assert kinds(events) == ["orchestratorStarted", "taskCompleted"]
    assert events[1].taskCompleted.taskScheduledId == 1
    assert events[1].taskCompleted.result.value == '"hi"'


def test_activity_failure_arrives_as_task_failed_with_details(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "boom"))
    details = pb.TaskFailureDetails(errorType="ValueError", errorMessage="bad")
    worker.complete_activity(worker.activity("i1"), failure=details)
    event = worker.orchestration("i1").orchestratorRequest.newEvents[1]
    assert event.taskFailed.taskScheduledId == 1
    assert event.taskFailed.failureDetails.errorType == "ValueError"


def test_duplicate_activity_result_is_dropped(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"))
    item = worker.activity("i1")
    worker.complete_activity(item, result="1")
    worker.complete_activity(item, result="2")
    worker.complete(worker.orchestration("i1"))
    worker.expect_nothing(within=0.1)
    assert kinds(harness.history("i1")).count("taskCompleted") == 1


def test_timer_fires_at_fire_at_as_timer_fired(make_harness):
    clock = VirtualClock(T0)
    harness = make_harness(clock=clock)
    harness.start("i1")
    worker = harness.worker()
    fire_at = T0 + timedelta(days=2)
    worker.complete(worker.orchestration("i1"), create_timer(1, fire_at))
    assert kinds(harness.history("i1"))[2] == "timerCreated"
    clock.advance_to(fire_at - timedelta(microseconds=1))
    worker.expect_nothing(within=0.1)  # one microsecond early: not yet
    clock.advance_to(fire_at)
    started, fired = worker.orchestration("i1", timeout=3).orchestratorRequest.newEvents[:2]
    assert fired.timerFired.timerId == 1
    assert fired.timerFired.fireAt.ToDatetime(tzinfo=timezone.utc) == fire_at
    # The episode runs at the sidecar's time, which is the due time on a frozen clock.
    assert started.timestamp.ToDatetime(tzinfo=timezone.utc) == fire_at


def test_timer_in_the_past_fires_immediately(harness):
    harness.start("i1")
    worker = harness.worker()
    fire_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    worker.complete(worker.orchestration("i1"), create_timer(1, fire_at))
    assert worker.orchestration("i1").orchestratorRequest.newEvents[1].HasField("timerFired")


def test_sub_orchestration_is_created_with_parent_info_and_completion_reported(harness):
    harness.start("parent", name="p")
    worker = harness.worker()
    worker.complete(worker.orchestration("parent"), sub_orchestration(3, "c", "kid", '"x"'))
    assert kinds(harness.history("parent"))[2] == "subOrchestrationInstanceCreated"
    child_item = worker.orchestration("kid")
    child = child_item.orchestratorRequest
    started = child.newEvents[1].executionStarted
    assert (started.name, started.input.value) == ("c", '"x"')
    assert started.parentInstance.taskScheduledId == 3
    assert started.parentInstance.name.value == "p"
    assert started.parentInstance.orchestrationInstance.instanceId == "parent"
    assert harness.get("kid").orchestrationState.parentInstanceId.value == "parent"
    worker.complete(child_item, complete(1, result='"r"'))
    event = worker.orchestration("parent").orchestratorRequest.newEvents[1]
    assert event.subOrchestrationInstanceCompleted.taskScheduledId == 3
    assert event.subOrchestrationInstanceCompleted.result.value == '"r"'


@pytest.mark.parametrize("status", [FAILED, pb.ORCHESTRATION_STATUS_TERMINATED])
def test_sub_orchestration_failure_reaches_parent_with_full_details(harness, status):
    harness.start("parent")
    worker = harness.worker()
    worker.complete(worker.orchestration("parent"), sub_orchestration(2, "c"))
    child_id = "parent:0002"  # generated from the parent id and the action id
    details = pb.TaskFailureDetails(errorType="KeyError", errorMessage="missing")
    details.stackTrace.value = "tb"
    details.innerFailure.errorType = "Inner"
    worker.complete(worker.orchestration(child_id),
                    complete(1, status, failure=details if status == FAILED else None))
    event = worker.orchestration("parent").orchestratorRequest.newEvents[1]
    failed = event.subOrchestrationInstanceFailed
    assert failed.taskScheduledId == 2
    if status == FAILED:
        assert failed.failureDetails == details
    else:
        assert "terminated" in failed.failureDetails.errorMessage


def test_sub_orchestration_with_running_id_fails_in_parent(harness):
    harness.start("busy")
    harness.start("parent")
    worker = harness.worker()
    worker.complete(worker.orchestration("parent"), sub_orchestration(1, "c", "busy"))
    worker.orchestration("busy")
    event = worker.orchestration("parent").orchestratorRequest.newEvents[1]
    assert event.subOrchestrationInstanceFailed.taskScheduledId == 1
    assert "busy" in event.subOrchestrationInstanceFailed.failureDetails.errorMessage


def test_send_event_records_event_sent_and_raises_event_on_target(harness):
    harness.start("a")
    harness.start("b")
    worker = harness.worker()
    worker.complete(worker.orchestration("b"))
    worker.complete(worker.orchestration("a"), send_event(1, "b", "ping", '"p"'))
    sent = harness.history("a")[2]
    assert sent.eventId == 1
    assert (sent.eventSent.instanceId, sent.eventSent.name) == ("b", "ping")
    event = worker.orchestration("b").orchestratorRequest.newEvents[1]
    assert (event.eventRaised.name, event.eventRaised.input.value) == ("ping", '"p"')


def test_send_event_to_missing_instance_is_kept_until_it_starts(harness):
    harness.start("a")
    worker = harness.worker()
    worker.complete(worker.orchestration("a"), send_event(1, "later", "hello"))
    harness.start("later")
    events = worker.orchestration("later").orchestratorRequest.newEvents
    assert kinds(events) == ["orchestratorStarted", "executionStarted", "eventRaised"]


def test_complete_records_execution_completed_and_failure_details(harness):
    harness.start("i1")
    worker = harness.worker()
    details = pb.TaskFailureDetails(errorType="RuntimeError", errorMessage="nope")
    worker.complete(worker.orchestration("i1"), complete(7, FAILED, failure=details))
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == FAILED
    assert state.failureDetails == details
    history = harness.history("i1")
    assert kinds(history)[-2:] == ["executionCompleted", "orchestratorCompleted"]
    assert history[-2].eventId == 7
    assert history[-2].executionCompleted.orchestrationStatus == FAILED


def test_continue_as_new_replaces_history_and_keeps_events_that_arrived_meanwhile(harness):
    harness.start("i1", data="0", tags={"t": "1"})
    worker = harness.worker()
    first = worker.orchestration("i1")
    old_execution = first.orchestratorRequest.executionId.value
    harness.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="meanwhile"), timeout=5)
    carry = pb.HistoryEvent(eventId=-1)
    carry.eventRaised.name = "carried"
    worker.complete(first, continue_as_new(1, "1", [carry], new_version="2"))
    request = worker.orchestration("i1").orchestratorRequest
    # As the official backend does: the new execution's first episode replays nothing; its
    # start and the carried-over events come as new events, then what arrived meanwhile.
    assert list(request.pastEvents) == []
    assert kinds(request.newEvents) == [
        "orchestratorStarted", "executionStarted", "eventRaised", "eventRaised"]
    assert [e.eventRaised.name for e in request.newEvents[2:]] == ["carried", "meanwhile"]
    started = request.newEvents[1].executionStarted
    assert started.input.value == "1"
    assert started.version.value == "2"
    assert dict(started.tags) == {"t": "1"}
    assert started.orchestrationInstance.executionId.value != old_execution
    assert request.executionId.value == started.orchestrationInstance.executionId.value
    state = harness.get("i1").orchestrationState
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_RUNNING
    assert state.input.value == "1"


def test_actions_after_completion_are_ignored(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), complete(1), schedule_task(2, "late"))
    harness.wait_done("i1")
    worker.expect_nothing(within=0.1)
