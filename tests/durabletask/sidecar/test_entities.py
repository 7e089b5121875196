"""Entities over raw gRPC: signals, calls, results, batches, state, actions and queries.

The test acts as the worker (GetWorkItems, CompleteEntityTask, CompleteOrchestratorTask)
against the real embedded sidecar, on both stores.
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import wrappers_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store import SqliteStore
from tests.durabletask.sidecar.fake_worker import (
    call_entity,
    complete,
    in_seconds,
    kinds,
    op_failure,
    operations,
    signal_entity,
    success,
    ts,
)

COUNTER = "@counter@c1"


@pytest.fixture(params=["memory", "sqlite"])
def eh(request, make_harness, tmp_path):
    """A harness over a memory or a SQLite sidecar."""
    if request.param == "sqlite":
        return make_harness(store=SqliteStore(tmp_path / "entities.db"))
    return make_harness()


def signal(h, entity_id: str, operation: str, data: str | None = None, **fields) -> None:
    request = pb.SignalEntityRequest(instanceId=entity_id, name=operation, requestId="r", **fields)
    if data is not None:
        request.input.value = data
    h.stub.SignalEntity(request, timeout=5)


def get_entity(h, entity_id: str, state: bool = True) -> pb.GetEntityResponse:
    return h.stub.GetEntity(pb.GetEntityRequest(instanceId=entity_id, includeState=state),
                            timeout=5)


def query(h, **fields) -> pb.QueryEntitiesResponse:
    return h.stub.QueryEntities(pb.QueryEntitiesRequest(query=pb.EntityQuery(**fields)),
                                timeout=5)


def test_client_signal_runs_as_a_v2_batch_and_stores_the_state(eh):
    worker = eh.worker()
    signal(eh, COUNTER, "add", "5")
    item = worker.entity(COUNTER)
    request = item.entityRequestV2
    assert not request.HasField("entityState")
    assert operations(item) == [("entityOperationSignaled", "add", "5")]
    assert request.operationRequests[0].entityOperationSignaled.targetInstanceId.value == COUNTER
    worker.complete_entity(item, state="5")

    found = get_entity(eh, COUNTER)
    assert found.exists
    assert found.entity.instanceId == COUNTER
    assert found.entity.serializedState.value == "5"
    assert found.entity.backlogQueueSize == 0
    assert not found.entity.HasField("lockedBy")
    assert found.entity.lastModifiedTime.seconds > 0
    assert not get_entity(eh, COUNTER, state=False).entity.HasField("serializedState")

    signal(eh, COUNTER, "add", "1")
    again = worker.entity(COUNTER)
    assert again.entityRequestV2.entityState.value == "5"


def test_call_from_an_orchestration_returns_the_result_to_the_caller(eh):
    eh.start("o1")
    worker = eh.worker()
    worker.complete(worker.orchestration("o1"), call_entity(0, COUNTER, "get", "req-1", "null"))
    item = worker.entity(COUNTER)
    called = item.entityRequestV2.operationRequests[0].entityOperationCalled
    assert called.requestId == "req-1"
    assert called.parentInstanceId.value == "o1"
    assert called.parentExecutionId.value == eh.get("o1").orchestrationState.executionId.value
    worker.complete_entity(item, [success("42")], state="42")

    episode = worker.orchestration("o1").orchestratorRequest
    result = episode.newEvents[-1]
    assert result.WhichOneof("eventType") == "entityOperationCompleted"
    assert result.entityOperationCompleted.requestId == "req-1"
    assert result.entityOperationCompleted.output.value == "42"
    confirmed = [e for e in episode.pastEvents if e.HasField("entityOperationCalled")]
    assert [e.eventId for e in confirmed] == [0]  # the A-event carries the action id


def test_failed_operation_reaches_the_caller_as_entity_operation_failed(eh):
    eh.start("o1")
    worker = eh.worker()
    worker.complete(worker.orchestration("o1"), call_entity(0, COUNTER, "boom", "req-1"))
    worker.complete_entity(worker.entity(COUNTER), [op_failure("no way")])
    failed = worker.orchestration("o1").orchestratorRequest.newEvents[-1].entityOperationFailed
    assert failed.requestId == "req-1"
    assert failed.failureDetails.errorMessage == "no way"
    assert failed.failureDetails.errorType == "ValueError"


def test_operations_beyond_the_returned_results_are_delivered_again(eh):
    worker = eh.worker()
    signal(eh, COUNTER, "a")
    first = worker.entity(COUNTER)
    signal(eh, COUNTER, "b")
    signal(eh, COUNTER, "c")
    worker.complete_entity(first, state="1")
    batch = worker.entity(COUNTER)
    assert [op for _, op, _ in operations(batch)] == ["b", "c"]
    worker.complete_entity(batch, [success()], state="2")  # only "b" was run
    rest = worker.entity(COUNTER)
    assert [op for _, op, _ in operations(rest)] == ["c"]
    assert rest.entityRequestV2.entityState.value == "2"


def test_absent_state_deletes_it_and_the_entity_no_longer_exists(eh):
    worker = eh.worker()
    signal(eh, COUNTER, "set")
    worker.complete_entity(worker.entity(COUNTER), state="1")
    signal(eh, COUNTER, "delete")
    worker.complete_entity(worker.entity(COUNTER))
    # DTFx semantics: an entity without state does not exist, but is listed as transient.
    assert not get_entity(eh, COUNTER).exists
    assert [e.instanceId for e in query(eh).entities] == []
    assert [e.instanceId for e in query(eh, includeTransient=True).entities] == [COUNTER]


def test_entity_actions_signal_another_entity_and_start_an_orchestration(eh):
    worker = eh.worker()
    signal(eh, COUNTER, "fan")
    item = worker.entity(COUNTER)
    notify = pb.OperationAction(id=0)
    notify.sendSignal.instanceId = "@other@k"
    notify.sendSignal.name = "ping"
    notify.sendSignal.input.value = '"hi"'
    start = pb.OperationAction(id=1)
    start.startNewOrchestration.instanceId = "started-by-entity"
    start.startNewOrchestration.name = "orch"
    start.startNewOrchestration.input.value = "7"
    worker.complete_entity(item, actions=[notify, start])

    assert operations(worker.entity("@other@k")) == [("entityOperationSignaled", "ping", '"hi"')]
    episode = worker.orchestration("started-by-entity").orchestratorRequest
    assert episode.newEvents[1].executionStarted.input.value == "7"


def test_delayed_signal_waits_for_its_scheduled_time(eh):
    worker = eh.worker()
    signal(eh, COUNTER, "later", scheduledTime=ts(in_seconds(0.6)))
    signal(eh, COUNTER, "now")
    first = worker.entity(COUNTER)
    assert [op for _, op, _ in operations(first)] == ["now"]
    worker.complete_entity(first)
    assert get_entity(eh, COUNTER).exists is False  # no state yet
    delayed = worker.entity(COUNTER, timeout=5)
    assert [op for _, op, _ in operations(delayed)] == ["later"]


def test_orchestration_signal_is_recorded_and_delivered(eh):
    eh.start("o1")
    worker = eh.worker()
    worker.complete(
        worker.orchestration("o1"), signal_entity(0, COUNTER, "add", "1"), complete(1)
    )
    assert operations(worker.entity(COUNTER)) == [("entityOperationSignaled", "add", "1")]
    history = eh.history("o1")
    assert "entityOperationSignaled" in kinds(history)


def test_one_batch_in_flight_per_entity(eh):
    worker = eh.worker()
    signal(eh, COUNTER, "a")
    first = worker.entity(COUNTER)
    signal(eh, COUNTER, "b")
    worker.expect_nothing(within=0.2)
    worker.complete_entity(first)
    assert [op for _, op, _ in operations(worker.entity(COUNTER))] == ["b"]


def test_query_filters_and_pages(eh):
    worker = eh.worker()
    for key in ("a1", "a2", "b1"):
        signal(eh, f"@counter@{key}", "set")
        worker.complete_entity(worker.entity(f"@counter@{key}"), state=f'"{key}"')
    first = query(eh, pageSize=wrappers_pb2.Int32Value(value=2))
    assert [e.instanceId for e in first.entities] == ["@counter@a1", "@counter@a2"]
    assert not first.entities[0].HasField("serializedState")
    second = query(eh, continuationToken=first.continuationToken, includeState=True,
                   pageSize=wrappers_pb2.Int32Value(value=2))
    assert [e.serializedState.value for e in second.entities] == ['"b1"']
    assert not second.HasField("continuationToken")
    prefixed = query(eh, instanceIdStartsWith=wrappers_pb2.StringValue(value="@counter@a"))
    assert len(prefixed.entities) == 2
    later = query(eh, lastModifiedFrom=ts(in_seconds(60)))
    assert list(later.entities) == []


@pytest.mark.parametrize("bad", ["counter", "@counter", "@@k", "@counter@", "@a@b@c", ""])
def test_malformed_entity_ids_are_rejected_with_the_expected_form(harness, bad):
    for call in (
        lambda: signal(harness, bad, "op"),
        lambda: get_entity(harness, bad),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        if bad:
            assert "@name@key" in caught.value.details()
