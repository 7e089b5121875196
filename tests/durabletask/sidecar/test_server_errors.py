"""Malformed requests get clear statuses, unsupported RPCs UNIMPLEMENTED, and serving goes on."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb

BAD_STARTS = [
    (pb.CreateInstanceRequest(instanceId="", name="o"), "instanceId is required"),
    (pb.CreateInstanceRequest(instanceId="x" * 257, name="o"), "257 characters"),
    (pb.CreateInstanceRequest(instanceId="a\nb", name="o"), "control characters"),
    (pb.CreateInstanceRequest(instanceId="ok", name=""), "name is required"),
]


@pytest.mark.parametrize(("request_message", "fragment"), BAD_STARTS)
def test_malformed_start_is_invalid_argument_and_server_keeps_serving(
    harness, request_message, fragment
):
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.StartInstance(request_message, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in info.value.details()
    assert harness.stub.Hello(empty_pb2.Empty(), timeout=5) == empty_pb2.Empty()


def test_completion_without_token_or_with_empty_action_is_invalid_argument(harness):
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.CompleteOrchestratorTask(pb.OrchestratorResponse(instanceId="i"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "completionToken" in info.value.details()
    response = pb.OrchestratorResponse(instanceId="i", completionToken="t",
                                       actions=[pb.OrchestratorAction(id=1)])
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.CompleteOrchestratorTask(response, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "action 1" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.CompleteActivityTask(pb.ActivityResponse(instanceId="i"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_bad_continuation_token_and_empty_purge_are_invalid_argument(harness):
    query = pb.InstanceQuery()
    query.continuationToken.value = "garbage"
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.QueryInstances(pb.QueryInstancesRequest(query=query), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.PurgeInstances(pb.PurgeInstancesRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_raise_event_without_name_is_invalid_argument(harness):
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.RaiseEvent(pb.RaiseEventRequest(instanceId="i"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


UNIMPLEMENTED = [
    ("CreateTaskHub", pb.CreateTaskHubRequest()),
    ("DeleteTaskHub", pb.DeleteTaskHubRequest()),
    ("SkipGracefulOrchestrationTerminations", pb.SkipGracefulOrchestrationTerminationsRequest()),
]


@pytest.mark.parametrize(("rpc", "request_message"), UNIMPLEMENTED)
def test_unsupported_rpc_is_unimplemented_naming_the_rpc(harness, rpc, request_message):
    with pytest.raises(grpc.RpcError) as info:
        getattr(harness.stub, rpc)(request_message, timeout=5)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert rpc in info.value.details()
    assert harness.stub.Hello(empty_pb2.Empty(), timeout=5) == empty_pb2.Empty()


def test_entity_action_without_an_entity_target_fails_the_orchestration(harness):
    harness.start("i1")
    worker = harness.worker()
    action = pb.OrchestratorAction(id=1)
    action.sendEntityMessage.entityOperationSignaled.requestId = "r"
    action.sendEntityMessage.entityOperationSignaled.targetInstanceId.value = "not-an-entity"
    worker.complete(worker.orchestration("i1"), action)
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
    assert state.failureDetails.errorType == "UnsupportedAction"
    assert "'not-an-entity'" in state.failureDetails.errorMessage
    assert "@name@key" in state.failureDetails.errorMessage


@pytest.mark.parametrize(("rpc", "request_message"), [
    ("CompleteEntityTask", pb.EntityBatchResult()),
    ("AbandonTaskEntityWorkItem", pb.AbandonEntityTaskRequest()),
])
def test_entity_completion_without_token_is_invalid_argument(harness, rpc, request_message):
    with pytest.raises(grpc.RpcError) as info:
        getattr(harness.stub, rpc)(request_message, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "completionToken" in info.value.details()
