"""Work delivery: tokens, redelivery, worker loss, abandon, filters, limits, pings, size limits."""

from __future__ import annotations

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.testing import VirtualClock
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.sidecar.fake_worker import complete, kinds, schedule_task

FAILED = pb.ORCHESTRATION_STATUS_FAILED


def _filters(orchestrations=(), activities=()) -> pb.WorkItemFilters:
    return pb.WorkItemFilters(
        orchestrations=[pb.OrchestrationFilter(name=n, versions=v) for n, v in orchestrations],
        activities=[pb.ActivityFilter(name=n, versions=v) for n, v in activities],
    )


def test_duplicate_orchestration_completion_is_ignored_and_does_not_rerun(harness):
    harness.start("i1")
    worker = harness.worker()
    item = worker.orchestration("i1")
    worker.complete(item, complete(1, result='"a"'))
    worker.complete(item, complete(1, result='"b"'))  # same token again: success, no effect
    assert harness.wait_done("i1").output.value == '"a"'
    worker.expect_nothing(within=0.1)
    assert kinds(harness.history("i1")).count("executionCompleted") == 1


def test_unknown_completion_token_is_ignored(harness):
    harness.start("i1")
    worker = harness.worker()
    item = worker.orchestration("i1")
    stale = pb.WorkItem()
    stale.CopyFrom(item)
    stale.completionToken = "o:not-a-token"
    worker.complete(stale, complete(1))
    assert harness.status("i1") == pb.ORCHESTRATION_STATUS_PENDING
    worker.complete(item)
    assert harness.status("i1") == pb.ORCHESTRATION_STATUS_RUNNING


def test_late_activity_result_for_terminated_instance_is_dropped(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "slow"))
    activity = worker.activity("i1")
    harness.stub.TerminateInstance(pb.TerminateRequest(instanceId="i1"), timeout=5)
    worker.complete(worker.orchestration("i1"), complete(2, pb.ORCHESTRATION_STATUS_TERMINATED))
    harness.wait_done("i1")
    worker.complete_activity(activity, result='"late"')
    worker.expect_nothing(within=0.1)
    history = kinds(harness.history("i1"))
    assert "taskCompleted" not in history
    assert history.count("executionCompleted") == 1


def test_orchestration_of_dropped_stream_is_redelivered_to_another_stream(harness):
    harness.start("i1")
    first = harness.worker()
    lost = first.orchestration("i1")
    second = harness.worker()
    first.close()
    again = second.orchestration("i1")
    assert again.completionToken != lost.completionToken
    assert kinds(again.orchestratorRequest.newEvents) == ["orchestratorStarted", "executionStarted"]
    first.complete(lost, complete(1, result='"stale"'))  # the lost worker's answer is ignored
    second.complete(again, complete(1, result='"fresh"'))
    assert harness.wait_done("i1").output.value == '"fresh"'


def test_activity_of_dropped_stream_is_redelivered(harness):
    harness.start("i1")
    first = harness.worker()
    first.complete(first.orchestration("i1"), schedule_task(1, "work"))
    first.activity("i1")
    first.close()
    second = harness.worker()
    second.complete_activity(second.activity("i1"), result="1")
    assert second.orchestration("i1").orchestratorRequest.newEvents[1].HasField("taskCompleted")


def test_instance_fails_with_worker_lost_after_max_recovery_attempts(make_harness):
    harness = make_harness(max_recovery_attempts=1)
    harness.start("i1")
    for _ in range(2):
        worker = harness.worker()
        worker.orchestration("i1")
        worker.close()
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == FAILED
    assert state.failureDetails.errorType == "WorkerLost"
    assert "2 workers were lost" in state.failureDetails.errorMessage
    assert "orchestration" in state.failureDetails.errorMessage


def test_activity_fails_with_worker_lost_after_max_recovery_attempts(make_harness):
    harness = make_harness(max_recovery_attempts=0)
    harness.start("i1")
    orchestrator = harness.worker(maxConcurrentActivityWorkItems=1,
                                  workItemFilters=_filters(orchestrations=[("orch", [])]))
    orchestrator.complete(orchestrator.orchestration("i1"), schedule_task(1, "crashy"))
    doomed = harness.worker(workItemFilters=_filters(activities=[("crashy", [])]))
    doomed.activity("i1")
    doomed.close()
    event = orchestrator.orchestration("i1").orchestratorRequest.newEvents[1]
    assert event.taskFailed.failureDetails.errorType == "WorkerLost"
    assert "crashy" in event.taskFailed.failureDetails.errorMessage


@pytest.mark.slow
def test_abandoned_orchestration_is_redelivered_without_counting_as_worker_loss(make_harness):
    harness = make_harness(max_recovery_attempts=0)
    harness.start("i1")
    worker = harness.worker()
    for _ in range(3):
        item = worker.orchestration("i1")
        harness.stub.AbandonTaskOrchestratorWorkItem(
            pb.AbandonOrchestrationTaskRequest(completionToken=item.completionToken), timeout=5
        )
    item = worker.orchestration("i1")
    worker.complete(item, complete(1))
    assert harness.wait_done("i1").orchestrationStatus == pb.ORCHESTRATION_STATUS_COMPLETED


def test_abandoned_activity_is_redelivered(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"))
    item = worker.activity("i1")
    harness.stub.AbandonTaskActivityWorkItem(
        pb.AbandonActivityTaskRequest(completionToken=item.completionToken), timeout=5
    )
    again = worker.activity("i1")
    assert again.completionToken != item.completionToken
    assert again.activityRequest.taskId == 1


def test_work_item_filters_route_items_to_matching_streams(harness):
    harness.start("a", name="alpha")
    harness.start("b", name="beta", version=_version("2"))
    alpha = harness.worker(workItemFilters=_filters(orchestrations=[("alpha", [])]))
    beta_v1 = harness.worker(workItemFilters=_filters(orchestrations=[("beta", ["1"])]))
    assert alpha.orchestration().orchestratorRequest.instanceId == "a"
    beta_v1.expect_nothing(within=0.1)
    beta_v2 = harness.worker(workItemFilters=_filters(orchestrations=[("beta", ["2"])]))
    assert beta_v2.orchestration().orchestratorRequest.instanceId == "b"


def test_stream_never_holds_more_than_its_concurrency_limit(harness):
    for i in range(3):
        harness.start(f"i{i}")
    worker = harness.worker(maxConcurrentOrchestrationWorkItems=2)
    first, second = worker.orchestration(), worker.orchestration()
    worker.expect_nothing(within=0.1)
    worker.complete(first)
    third = worker.orchestration()
    ids = {x.orchestratorRequest.instanceId for x in (first, second, third)}
    assert ids == {"i0", "i1", "i2"}


def test_idle_stream_receives_a_health_ping_each_interval(make_harness):
    clock = VirtualClock()
    harness = make_harness(health_ping_interval_seconds=5.0, clock=clock)
    worker = harness.worker()
    for _ in range(2):
        poll_until(lambda: clock.next_deadline() is not None, timeout=5,
                   message="the stream to wait for its next ping")
        with pytest.raises(AssertionError, match="no work item"):
            worker.next(pings=True, timeout=0.05)  # the interval has not passed
        clock.advance(5.0)
        assert worker.next(pings=True, timeout=5).HasField("healthPing")
    assert worker.pings == 2


def test_history_over_max_history_size_fails_instance_with_clear_message(make_harness):
    harness = make_harness(max_history_size=5)
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"), schedule_task(2, "b"),
                    schedule_task(3, "c"))
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == FAILED
    assert state.failureDetails.errorType == "HistoryTooLarge"
    assert "max_history_size=5" in state.failureDetails.errorMessage
    worker.expect_nothing(within=0.1)  # the activities were not scheduled


def test_work_item_over_max_message_bytes_fails_instance_naming_size_and_limit(make_harness):
    harness = make_harness(max_message_bytes=4096)
    harness.start("i1", data="x" * 3500)  # accepted, but the work item exceeds the limit
    worker = harness.worker()
    state = harness.wait_done("i1")
    worker.expect_nothing(within=0.05)
    assert state.orchestrationStatus == FAILED
    message = state.failureDetails.errorMessage
    assert state.failureDetails.errorType == "WorkItemTooLarge"
    assert "max_message_bytes=4096" in message
    assert "bytes" in message


@pytest.mark.parametrize("rpc", ["AbandonTaskActivityWorkItem", "AbandonTaskOrchestratorWorkItem"])
def test_abandon_with_unknown_token_succeeds_without_effect(harness, rpc):
    request_type = (pb.AbandonActivityTaskRequest if "Activity" in rpc
                    else pb.AbandonOrchestrationTaskRequest)
    getattr(harness.stub, rpc)(request_type(completionToken="x:unknown"), timeout=5)


def _version(value: str):
    from google.protobuf import wrappers_pb2

    return wrappers_pb2.StringValue(value=value)
