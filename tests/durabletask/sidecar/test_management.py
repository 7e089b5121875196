"""Management RPCs: purge, restart, rewind, query/list paging and history streaming."""

from __future__ import annotations

import grpc
import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.sidecar.fake_worker import complete, kinds, schedule_task, sub_orchestration

COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
FAILED = pb.ORCHESTRATION_STATUS_FAILED


def _finish(harness, worker, instance_id, status=COMPLETED, *extra):
    worker.complete(worker.orchestration(instance_id), *extra, complete(99, status))
    return harness.wait_done(instance_id)


def _purge(harness, **fields) -> pb.PurgeInstancesResponse:
    return harness.stub.PurgeInstances(pb.PurgeInstancesRequest(**fields), timeout=5)


def test_purge_deletes_a_terminal_instance(harness):
    harness.start("i1")
    _finish(harness, harness.worker(), "i1")
    response = _purge(harness, instanceId="i1")
    assert response.deletedInstanceCount == 1
    assert response.isComplete.value is True
    assert harness.get("i1").exists is False
    assert _purge(harness, instanceId="i1").deletedInstanceCount == 0


def test_purge_of_running_instance_is_failed_precondition(harness):
    harness.start("i1")
    with pytest.raises(grpc.RpcError) as info:
        _purge(harness, instanceId="i1")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "terminate" in info.value.details()


def test_recursive_purge_deletes_children(harness):
    harness.start("p")
    worker = harness.worker()
    worker.complete(worker.orchestration("p"), sub_orchestration(1, "c", "kid"))
    _finish(harness, worker, "kid")
    _finish(harness, worker, "p")
    assert _purge(harness, instanceId="p", recursive=True).deletedInstanceCount == 2
    assert harness.get("kid").exists is False


def test_purge_by_filter_deletes_only_terminal_instances_with_matching_status(harness):
    worker = harness.worker()
    for iid, status in (("c1", COMPLETED), ("c2", COMPLETED), ("f1", FAILED)):
        harness.start(iid)
        _finish(harness, worker, iid, status)
    harness.start("running")
    statuses = [COMPLETED, pb.ORCHESTRATION_STATUS_RUNNING]
    purge_filter = pb.PurgeInstanceFilter(runtimeStatus=statuses)
    assert _purge(harness, purgeInstanceFilter=purge_filter).deletedInstanceCount == 2
    assert harness.get("f1").exists
    assert harness.get("running").exists


def test_purge_by_batch_skips_non_terminal_ids(harness):
    harness.start("done")
    _finish(harness, harness.worker(), "done")
    harness.start("busy")
    batch = pb.InstanceBatch(instanceIds=["done", "busy", "missing"])
    assert _purge(harness, instanceBatch=batch).deletedInstanceCount == 1


def test_restart_recreates_terminal_instance_under_same_or_new_id(harness):
    harness.start("i1", data='"in"', tags={"t": "v"})
    worker = harness.worker()
    _finish(harness, worker, "i1")
    same = harness.stub.RestartInstance(pb.RestartInstanceRequest(instanceId="i1"), timeout=5)
    assert same.instanceId == "i1"
    state = harness.get("i1").orchestrationState
    assert (state.orchestrationStatus, state.input.value) == (pb.ORCHESTRATION_STATUS_PENDING,
                                                              '"in"')
    assert dict(state.tags) == {"t": "v"}
    assert list(worker.orchestration("i1").orchestratorRequest.pastEvents) == []
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.RestartInstance(pb.RestartInstanceRequest(instanceId="i1"), timeout=5)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_restart_with_new_instance_id_returns_fresh_id(harness):
    harness.start("i1")
    _finish(harness, harness.worker(), "i1")
    response = harness.stub.RestartInstance(
        pb.RestartInstanceRequest(instanceId="i1", restartWithNewInstanceId=True), timeout=5
    )
    assert response.instanceId != "i1"
    assert harness.get(response.instanceId).orchestrationState.name == "orch"
    assert harness.status("i1") == COMPLETED


def test_restart_unknown_instance_is_not_found(harness):
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.RestartInstance(pb.RestartInstanceRequest(instanceId="nope"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_rewind_failed_instance_replaces_history_and_redispatches(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "a"))
    details = pb.TaskFailureDetails(errorType="E", errorMessage="m")
    worker.complete_activity(worker.activity("i1"), failure=details)
    worker.complete(worker.orchestration("i1"), complete(2, FAILED, failure=details))
    harness.wait_done("i1")
    request = pb.RewindInstanceRequest(instanceId="i1")
    request.reason.value = "retry"
    harness.stub.RewindInstance(request, timeout=5)
    state = harness.get("i1").orchestrationState
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_RUNNING
    assert not state.HasField("failureDetails")
    item = worker.orchestration("i1")
    assert kinds(item.orchestratorRequest.newEvents) == ["orchestratorStarted", "executionRewound"]
    new_history = list(item.orchestratorRequest.pastEvents)[:2]
    action = pb.OrchestratorAction(id=-1)
    action.rewindOrchestration.newHistory.extend(new_history)
    worker.complete(item, action)
    replay = worker.orchestration("i1").orchestratorRequest
    assert kinds(replay.pastEvents) == ["orchestratorStarted", "executionStarted"]
    assert kinds(replay.newEvents) == ["orchestratorStarted"]


def test_rewind_of_non_failed_instance_is_failed_precondition(harness):
    harness.start("i1")
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.RewindInstance(pb.RewindInstanceRequest(instanceId="i1"), timeout=5)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_query_instances_filters_and_pages_with_continuation_token(harness):
    for i in range(5):
        harness.start(f"job-{i}")
    harness.start("other")
    seen: list[str] = []
    token = None
    for _ in range(5):
        query = pb.InstanceQuery(maxInstanceCount=2)
        query.instanceIdPrefix.value = "job-"
        if token:
            query.continuationToken.value = token
        response = harness.stub.QueryInstances(pb.QueryInstancesRequest(query=query), timeout=5)
        seen += [s.instanceId for s in response.orchestrationState]
        token = response.continuationToken.value
        if not token:
            break
    assert sorted(seen) == [f"job-{i}" for i in range(5)]
    assert len(set(seen)) == 5


def test_query_instances_by_status_returns_all_when_count_is_zero(harness):
    harness.start("a")
    harness.start("b")
    _finish(harness, harness.worker(), "a")
    query = pb.InstanceQuery(runtimeStatus=[COMPLETED], fetchInputsAndOutputs=True)
    response = harness.stub.QueryInstances(pb.QueryInstancesRequest(query=query), timeout=5)
    assert [s.instanceId for s in response.orchestrationState] == ["a"]
    assert not response.HasField("continuationToken")


def test_list_instance_ids_pages_terminal_instances_by_completion_time(harness):
    worker = harness.worker()
    for iid in ("x", "y", "z"):
        harness.start(iid)
        _finish(harness, worker, iid)
    harness.start("running")
    first = harness.stub.ListInstanceIds(pb.ListInstanceIdsRequest(pageSize=2), timeout=5)
    assert list(first.instanceIds) == ["x", "y"]
    request = pb.ListInstanceIdsRequest(pageSize=2)
    request.lastInstanceKey.CopyFrom(first.lastInstanceKey)
    second = harness.stub.ListInstanceIds(request, timeout=5)
    assert list(second.instanceIds) == ["z"]
    assert not second.HasField("lastInstanceKey")


def test_stream_instance_history_sends_chunks_of_the_history(harness):
    harness.start("i1")
    worker = harness.worker()
    actions = [schedule_task(i, "a") for i in range(150)]
    worker.complete(worker.orchestration("i1"), *actions)
    chunks = list(harness.stub.StreamInstanceHistory(
        pb.StreamInstanceHistoryRequest(instanceId="i1"), timeout=5))
    assert [len(c.events) for c in chunks] == [100, 53]


def test_stream_instance_history_of_unknown_instance_is_not_found(harness):
    with pytest.raises(grpc.RpcError) as info:
        harness.history("nope")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
