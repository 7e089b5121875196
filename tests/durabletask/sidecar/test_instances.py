"""Instance lifecycle over real gRPC: start, get, wait, events, suspend/resume, terminate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.testing import VirtualClock
from tests.durabletask.sidecar.fake_worker import (
    complete,
    kinds,
    sub_orchestration,
    ts,
)

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)

RUNNING = pb.ORCHESTRATION_STATUS_RUNNING
PENDING = pb.ORCHESTRATION_STATUS_PENDING


def test_start_instance_delivers_execution_started_after_orchestrator_started(harness):
    request = pb.CreateInstanceRequest(instanceId="i1", name="orch", tags={"k": "v"})
    request.input.value = '"in"'
    request.version.value = "1.0"
    harness.stub.StartInstance(request, timeout=5)
    worker = harness.worker()
    item = worker.orchestration("i1")
    request = item.orchestratorRequest
    assert item.completionToken
    assert list(request.pastEvents) == []
    assert kinds(request.newEvents) == ["orchestratorStarted", "executionStarted"]
    started = request.newEvents[1].executionStarted
    assert started.name == "orch"
    assert started.input.value == '"in"'
    assert started.orchestrationInstance.instanceId == "i1"
    assert started.version.value == "1.0"
    assert dict(started.tags) == {"k": "v"}
    assert started.orchestrationInstance.executionId.value == request.executionId.value != ""


def test_get_instance_reports_pending_then_running_then_completed(harness):
    harness.start("i1", data='"x"', tags={"team": "a"})
    state = harness.get("i1").orchestrationState
    assert state.orchestrationStatus == PENDING
    assert state.input.value == '"x"'
    assert dict(state.tags) == {"team": "a"}
    assert state.HasField("createdTimestamp")
    worker = harness.worker()
    item = worker.orchestration("i1")
    worker.complete(item, custom_status='"half"')
    assert harness.status("i1") == RUNNING
    assert harness.get("i1").orchestrationState.customStatus.value == '"half"'
    assert not harness.get("i1", payloads=False).orchestrationState.HasField("input")


def test_wait_for_completion_returns_output_when_completed(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), complete(1, result='"done"'))
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_COMPLETED
    assert state.output.value == '"done"'
    assert state.HasField("completedTimestamp")
    assert state.executionId.value


def test_wait_for_start_returns_when_first_episode_commits(harness):
    harness.start("i1")
    worker = harness.worker()
    future = harness.stub.WaitForInstanceStart.future(pb.GetInstanceRequest(instanceId="i1"),
                                                      timeout=5)
    worker.complete(worker.orchestration("i1"))
    assert future.result().orchestrationState.orchestrationStatus == RUNNING


def test_wait_rpcs_answer_exists_false_at_once_for_unknown_ids(harness):
    for rpc in (harness.stub.WaitForInstanceStart, harness.stub.WaitForInstanceCompletion):
        assert rpc(pb.GetInstanceRequest(instanceId="nope"), timeout=2).exists is False
    assert harness.get("nope").exists is False


def test_wait_for_completion_raises_deadline_exceeded_when_caller_deadline_passes(harness):
    harness.start("i1")
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.WaitForInstanceCompletion(pb.GetInstanceRequest(instanceId="i1"),
                                               timeout=0.2)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_start_instance_rejects_existing_id_without_reuse_policy(harness):
    harness.start("i1")
    with pytest.raises(grpc.RpcError) as info:
        harness.start("i1")
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "i1" in info.value.details()


def test_start_instance_replaces_instance_whose_status_is_replaceable(harness):
    harness.start("i1", data='"old"')
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), complete(1, result='"r"'))
    harness.wait_done("i1")
    policy = pb.OrchestrationIdReusePolicy(replaceableStatus=[pb.ORCHESTRATION_STATUS_COMPLETED])
    harness.start("i1", data='"new"', orchestrationIdReusePolicy=policy)
    state = harness.get("i1").orchestrationState
    assert state.orchestrationStatus == PENDING
    assert state.input.value == '"new"'
    request = worker.orchestration("i1").orchestratorRequest
    assert list(request.pastEvents) == []
    with pytest.raises(grpc.RpcError) as info:
        harness.start("i1", orchestrationIdReusePolicy=policy)  # PENDING is not replaceable
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_scheduled_start_is_not_dispatched_before_its_time(make_harness):
    clock = VirtualClock(T0)
    harness = make_harness(clock=clock)
    due = T0 + timedelta(hours=1)
    harness.start("i1", scheduledStartTimestamp=ts(due))
    worker = harness.worker()
    clock.advance_to(due - timedelta(microseconds=1))
    worker.expect_nothing(within=0.1)
    clock.advance_to(due)
    item = worker.orchestration("i1", timeout=3)
    assert kinds(item.orchestratorRequest.newEvents)[1] == "executionStarted"


def test_events_raised_before_start_are_delivered_after_execution_started(harness):
    harness.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="early"), timeout=5)
    harness.start("i1")
    worker = harness.worker()
    events = worker.orchestration("i1").orchestratorRequest.newEvents
    assert kinds(events) == ["orchestratorStarted", "executionStarted", "eventRaised"]
    assert events[2].eventRaised.name == "early"


def test_events_arriving_during_an_episode_wait_for_the_next_episode(harness):
    harness.start("i1")
    worker = harness.worker()
    first = worker.orchestration("i1")
    harness.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="e"), timeout=5)
    worker.expect_nothing(within=0.1)  # one episode per instance at a time
    worker.complete(first)
    second = worker.orchestration("i1").orchestratorRequest
    assert kinds(second.pastEvents) == [
        "orchestratorStarted", "executionStarted", "orchestratorCompleted"
    ]
    assert kinds(second.newEvents) == ["orchestratorStarted", "eventRaised"]


def test_raise_event_to_terminal_instance_is_dropped(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), complete(1))
    harness.wait_done("i1")
    harness.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i1", name="late"), timeout=5)
    worker.expect_nothing(within=0.1)
    assert "eventRaised" not in kinds(harness.history("i1"))


def test_suspend_and_resume_change_status_when_processed(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"))
    harness.stub.SuspendInstance(pb.SuspendRequest(instanceId="i1"), timeout=5)
    item = worker.orchestration("i1")
    assert kinds(item.orchestratorRequest.newEvents)[-1] == "executionSuspended"
    worker.complete(item)
    assert harness.status("i1") == pb.ORCHESTRATION_STATUS_SUSPENDED
    harness.stub.ResumeInstance(pb.ResumeRequest(instanceId="i1"), timeout=5)
    worker.complete(worker.orchestration("i1"))
    assert harness.status("i1") == RUNNING


def test_terminate_delivers_execution_terminated_and_worker_completes_terminated(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"))
    harness.stub.SuspendInstance(pb.SuspendRequest(instanceId="i1"), timeout=5)
    worker.complete(worker.orchestration("i1"))
    request = pb.TerminateRequest(instanceId="i1")
    request.output.value = '"stop"'
    harness.stub.TerminateInstance(request, timeout=5)
    item = worker.orchestration("i1")
    terminated = item.orchestratorRequest.newEvents[-1].executionTerminated
    assert terminated.input.value == '"stop"'
    worker.complete(item, complete(1, pb.ORCHESTRATION_STATUS_TERMINATED, '"stop"'))
    # terminal outranks suspended
    assert harness.wait_done("i1").orchestrationStatus == pb.ORCHESTRATION_STATUS_TERMINATED
    harness.stub.TerminateInstance(request, timeout=5)  # no-op on a terminal instance
    worker.expect_nothing(within=0.1)


def test_terminate_suspend_resume_unknown_instance_is_not_found(harness):
    calls = [
        (harness.stub.TerminateInstance, pb.TerminateRequest(instanceId="nope")),
        (harness.stub.SuspendInstance, pb.SuspendRequest(instanceId="nope")),
        (harness.stub.ResumeInstance, pb.ResumeRequest(instanceId="nope")),
    ]
    for rpc, request in calls:
        with pytest.raises(grpc.RpcError) as info:
            rpc(request, timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert "nope" in info.value.details()


def test_recursive_terminate_terminates_running_children(harness):
    harness.start("parent")
    worker = harness.worker()
    worker.complete(worker.orchestration("parent"), sub_orchestration(1, "child", "kid"))
    worker.complete(worker.orchestration("kid"))
    harness.stub.TerminateInstance(pb.TerminateRequest(instanceId="parent", recursive=True),
                                   timeout=5)
    item = worker.orchestration("parent")
    worker.complete(item, complete(2, pb.ORCHESTRATION_STATUS_TERMINATED))
    child_item = worker.orchestration("kid")
    terminated = child_item.orchestratorRequest.newEvents[-1].executionTerminated
    assert terminated.recurse is True
    worker.complete(child_item, complete(1, pb.ORCHESTRATION_STATUS_TERMINATED))
    assert harness.wait_done("kid").orchestrationStatus == pb.ORCHESTRATION_STATUS_TERMINATED
