"""Hypothesis: malformed and edge-case requests to every RPC get a clear status, change nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, timestamp_pb2, wrappers_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar import EmbeddedSidecar
from durabletask.sidecar.store import SqliteStore
from tests.durabletask.sidecar.fake_worker import FakeWorker, complete

LIVE = "live"
DONE = "done"
ENTITY = "@counter@kept"
OK = grpc.StatusCode.OK
REFUSALS = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.UNIMPLEMENTED,
})
WAIT_REFUSALS = REFUSALS | {grpc.StatusCode.DEADLINE_EXCEEDED}
HYPOTHESIS = settings(max_examples=40, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])

_printable = st.characters(blacklist_categories=("Cs",))
texts = st.one_of(
    st.just(""), st.just(" "), st.text(_printable, max_size=12),
    st.text(_printable, min_size=250, max_size=300), st.sampled_from(["a\nb", "\x00", "\x7f"]),
)
ids = st.one_of(texts, st.sampled_from([LIVE, DONE, "missing"]))
existing_or_missing = st.one_of(texts, st.sampled_from([DONE, "missing"]))
int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
timestamps = st.builds(
    timestamp_pb2.Timestamp,
    seconds=st.one_of(st.integers(-(2**40), 2**40),
                      st.sampled_from([0, -62135596801, 253402300800])),
    nanos=st.integers(0, 999_999_999),
)
statuses = st.lists(st.integers(-3, 12), max_size=3)


def _sv(value: str | None) -> wrappers_pb2.StringValue | None:
    return None if value is None else wrappers_pb2.StringValue(value=value)


def _start(instance_id, name, status_list, when, version):
    request = pb.CreateInstanceRequest(instanceId=instance_id, name=name, version=_sv(version))
    request.orchestrationIdReusePolicy.replaceableStatus.extend(status_list)
    if when is not None:
        request.scheduledStartTimestamp.CopyFrom(when)
    return request


def _query(count, token, created_from, prefix, status_list):
    query = pb.InstanceQuery(maxInstanceCount=count, continuationToken=_sv(token),
                             instanceIdPrefix=_sv(prefix))
    query.runtimeStatus.extend(status_list)
    if created_from is not None:
        query.createdTimeFrom.CopyFrom(created_from)
    return pb.QueryInstancesRequest(query=query)


def _purge(kind, instance_id, created_from, batch):
    if kind == "id":
        return pb.PurgeInstancesRequest(instanceId=instance_id)
    if kind == "filter":
        request = pb.PurgeInstancesRequest()
        request.purgeInstanceFilter.createdTimeFrom.CopyFrom(created_from)
        request.purgeInstanceFilter.runtimeStatus.extend([pb.ORCHESTRATION_STATUS_RUNNING])
        return request
    if kind == "batch":
        return pb.PurgeInstancesRequest(instanceBatch=pb.InstanceBatch(instanceIds=batch))
    return pb.PurgeInstancesRequest()


entity_ids = st.one_of(texts, st.sampled_from([ENTITY, "@a@", "@@k", "@a@b@c"]))


def _signal(entity_id, name, when):
    request = pb.SignalEntityRequest(instanceId=entity_id, name=name)
    if when is not None:
        request.scheduledTime.CopyFrom(when)
    return request


def _entity_query(size, token, modified_from, prefix):
    query = pb.EntityQuery(continuationToken=_sv(token), instanceIdStartsWith=_sv(prefix),
                           includeTransient=True)
    if size is not None:
        query.pageSize.value = size
    if modified_from is not None:
        query.lastModifiedFrom.CopyFrom(modified_from)
    return pb.QueryEntitiesRequest(query=query)


def _orchestrator_response(token, instance_id, action_id, kind, name, when):
    action = pb.OrchestratorAction(id=action_id)
    if kind == "scheduleTask":
        action.scheduleTask.name = name
    elif kind == "createTimer" and when is not None:
        action.createTimer.fireAt.CopyFrom(when)
    elif kind == "sendEvent":
        action.sendEvent.name = name
        action.sendEvent.instance.instanceId = instance_id
    elif kind == "completeOrchestration":
        action.completeOrchestration.orchestrationStatus = action_id % 9
    return pb.OrchestratorResponse(instanceId=instance_id, completionToken=token,
                                   actions=[action] if kind != "none" else [])


RPCS: dict[str, tuple[st.SearchStrategy[Any], frozenset[grpc.StatusCode]]] = {
    "StartInstance": (st.builds(_start, ids, st.one_of(texts, st.just("o")), statuses,
                                st.none() | timestamps,
                                st.none() | texts), REFUSALS),
    "GetInstance": (st.builds(pb.GetInstanceRequest, instanceId=ids,
                              getInputsAndOutputs=st.booleans()), REFUSALS),
    "WaitForInstanceStart": (st.builds(pb.GetInstanceRequest, instanceId=existing_or_missing),
                             WAIT_REFUSALS),
    "WaitForInstanceCompletion": (st.builds(pb.GetInstanceRequest,
                                            instanceId=existing_or_missing), WAIT_REFUSALS),
    "RaiseEvent": (st.builds(pb.RaiseEventRequest, instanceId=ids, name=texts,
                             input=st.none() | st.builds(_sv, texts)), REFUSALS),
    "TerminateInstance": (st.builds(pb.TerminateRequest, instanceId=ids,
                                    recursive=st.booleans()), REFUSALS),
    "SuspendInstance": (st.builds(pb.SuspendRequest, instanceId=ids), REFUSALS),
    "ResumeInstance": (st.builds(pb.ResumeRequest, instanceId=ids), REFUSALS),
    "QueryInstances": (st.builds(_query, int32, st.none() | texts, st.none() | timestamps,
                                 st.none() | texts, statuses), REFUSALS),
    "ListInstanceIds": (st.builds(pb.ListInstanceIdsRequest, pageSize=int32,
                                  lastInstanceKey=st.none() | st.builds(_sv, texts)), REFUSALS),
    "PurgeInstances": (st.builds(_purge, st.sampled_from(["id", "filter", "batch", "none"]),
                                 st.one_of(texts, st.sampled_from([LIVE, "missing"])), timestamps,
                                 st.lists(st.one_of(texts, st.just(LIVE)), max_size=3)),
                       REFUSALS),
    "RewindInstance": (st.builds(pb.RewindInstanceRequest, instanceId=ids), REFUSALS),
    "RestartInstance": (st.builds(pb.RestartInstanceRequest,
                                  instanceId=st.one_of(texts, st.sampled_from([LIVE, "missing"])),
                                  restartWithNewInstanceId=st.booleans()), REFUSALS),
    "CompleteActivityTask": (st.builds(pb.ActivityResponse, instanceId=ids, taskId=int32,
                                       completionToken=texts), REFUSALS),
    "CompleteOrchestratorTask": (st.builds(
        _orchestrator_response, texts, ids, int32,
        st.sampled_from(["none", "scheduleTask", "createTimer", "sendEvent",
                         "completeOrchestration", "empty"]),
        texts, st.none() | timestamps), REFUSALS),
    "AbandonTaskActivityWorkItem": (st.builds(pb.AbandonActivityTaskRequest,
                                              completionToken=texts), REFUSALS),
    "AbandonTaskOrchestratorWorkItem": (st.builds(pb.AbandonOrchestrationTaskRequest,
                                                  completionToken=texts), REFUSALS),
    "SignalEntity": (st.builds(_signal, entity_ids, texts, st.none() | timestamps), REFUSALS),
    "GetEntity": (st.builds(pb.GetEntityRequest, instanceId=entity_ids,
                            includeState=st.booleans()), REFUSALS),
    "QueryEntities": (st.builds(_entity_query, st.none() | int32, st.none() | texts,
                                st.none() | timestamps, st.none() | texts), REFUSALS),
    "CleanEntityStorage": (st.builds(pb.CleanEntityStorageRequest,
                                     continuationToken=st.none() | st.builds(_sv, texts),
                                     removeEmptyEntities=st.booleans(),
                                     releaseOrphanedLocks=st.booleans()), REFUSALS),
    "CompleteEntityTask": (st.builds(pb.EntityBatchResult, completionToken=texts), REFUSALS),
    "AbandonTaskEntityWorkItem": (st.builds(pb.AbandonEntityTaskRequest,
                                            completionToken=texts), REFUSALS),
}


class Target:
    """A sidecar over SQLite with one pending and one completed instance."""

    def __init__(self, db) -> None:
        self.sidecar = EmbeddedSidecar(port=0, store=SqliteStore(db),
                                       health_ping_interval_seconds=30.0)
        self.sidecar.start()
        self.channel = grpc.insecure_channel(self.sidecar.address)
        self.stub = pb_grpc.TaskHubSidecarServiceStub(self.channel)
        self.stub.StartInstance(pb.CreateInstanceRequest(instanceId=DONE, name="o"), timeout=5)
        worker = FakeWorker(self.stub, pb.GetWorkItemsRequest())
        worker.complete(worker.orchestration(DONE), complete(1, result='"ok"'))
        worker.close()
        self.stub.StartInstance(pb.CreateInstanceRequest(instanceId=LIVE, name="o"), timeout=5)
        self.stub.SignalEntity(pb.SignalEntityRequest(instanceId=ENTITY, name="op"), timeout=5)

    def snapshot(self) -> list[bytes]:
        query = pb.InstanceQuery(fetchInputsAndOutputs=True)
        response = self.stub.QueryInstances(pb.QueryInstancesRequest(query=query), timeout=5)
        entities = self.stub.QueryEntities(pb.QueryEntitiesRequest(query=pb.EntityQuery(
            includeState=True, includeTransient=True)), timeout=5)
        return sorted(s.SerializeToString(deterministic=True)
                      for s in [*response.orchestrationState, *entities.entities])

    def call(self, rpc: str, request: Any) -> grpc.StatusCode:
        method: Callable[..., Any] = getattr(self.stub, rpc)
        timeout = 0.3 if rpc.startswith("WaitFor") else 5
        try:
            method(request, timeout=timeout)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details()
        else:
            return OK
        assert details, f"{rpc} answered {code} without a message"
        return code

    def close(self) -> None:
        self.channel.close()
        self.sidecar.stop()


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[Target]:
    t = Target(tmp_path_factory.mktemp("malformed") / "state.db")
    try:
        yield t
    finally:
        t.close()


@pytest.mark.slow
@pytest.mark.parametrize("rpc", sorted(RPCS))
def test_malformed_request_gets_clear_status_and_sidecar_keeps_serving(target, rpc):
    strategy, allowed = RPCS[rpc]

    @HYPOTHESIS
    @given(request=strategy)
    def check(request) -> None:
        before = target.snapshot()
        code = target.call(rpc, request)
        assert code is OK or code in allowed, f"{rpc} answered {code} to {request}"
        if code is not OK:
            assert target.snapshot() == before, f"{rpc} changed the store and failed"
        assert target.stub.Hello(empty_pb2.Empty(), timeout=5) == empty_pb2.Empty()

    check()


@pytest.mark.slow
def test_history_stream_of_bad_or_unknown_id_is_refused_with_a_message(target):
    @HYPOTHESIS
    @given(instance_id=texts)
    def check(instance_id) -> None:
        request = pb.StreamInstanceHistoryRequest(instanceId=instance_id)
        chunks = target.stub.StreamInstanceHistory(request, timeout=5)
        if target.call("GetInstance", pb.GetInstanceRequest(instanceId=instance_id)) is OK:
            exists = target.stub.GetInstance(pb.GetInstanceRequest(instanceId=instance_id))
            if exists.exists:  # created by an earlier StartInstance example
                list(chunks)
                return
        with pytest.raises(grpc.RpcError) as info:
            list(chunks)
        assert info.value.code() in (grpc.StatusCode.INVALID_ARGUMENT,
                                     grpc.StatusCode.NOT_FOUND)
        assert info.value.details()

    check()


def test_out_of_range_timestamps_are_invalid_argument_naming_the_field(harness):
    start = pb.CreateInstanceRequest(instanceId="t", name="o")
    start.scheduledStartTimestamp.seconds = 253402300800
    with pytest.raises(grpc.RpcError) as info:
        harness.stub.StartInstance(start, timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "scheduledStartTimestamp" in info.value.details()
    assert not harness.get("t").exists

    harness.start("i1")
    worker = harness.worker()
    item = worker.orchestration("i1")
    timer = pb.OrchestratorAction(id=1)
    timer.createTimer.fireAt.seconds = -62135596801
    with pytest.raises(grpc.RpcError) as info:
        worker.complete(item, timer)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "fireAt" in info.value.details()
    # An orchestrator's invalid action fails its instance at once (no redelivery fixes it).
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
    assert "fireAt" in state.failureDetails.errorMessage
