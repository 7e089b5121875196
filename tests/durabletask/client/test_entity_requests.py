"""The client's entity operations: requests built and responses mapped, without I/O."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from google.protobuf import wrappers_pb2

from durabletask.client import CleanEntityStorageResult, EntityQuery
from durabletask.entities import EntityInstanceId
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests import ClientSettings, entity_flows
from tests.durabletask.client.flow_driver import drive

SETTINGS = ClientSettings(address="a")
COUNTER = EntityInstanceId("Counter", "k")


def test_signal_entity_builds_request_with_id_operation_input_and_time() -> None:
    calls, _ = drive(
        entity_flows.signal_entity(SETTINGS, COUNTER, "add", 5, datetime(2030, 1, 1)),
        [pb.SignalEntityResponse()],
    )
    request = calls[0].request
    assert (request.instanceId, request.name, request.input.value) == ("@counter@k", "add", "5")
    assert request.scheduledTime.ToDatetime() == datetime(2030, 1, 1)
    # Official shapes: a UUID string request id and the time of the request.
    assert str(uuid.UUID(request.requestId)) == request.requestId
    assert request.HasField("requestTime")


def test_signal_entity_accepts_the_string_form_and_rejects_malformed_ids() -> None:
    flow = entity_flows.signal_entity(SETTINGS, "@Counter@k", "add")  # type: ignore[arg-type]
    calls, _ = drive(flow, [pb.SignalEntityResponse()])
    assert calls[0].request.instanceId == "@counter@k"
    with pytest.raises(ValueError, match="@name@key"):
        next(entity_flows.signal_entity(SETTINGS, "counter-k", "add"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EntityInstanceId"):
        next(entity_flows.signal_entity(SETTINGS, 42, "add"))  # type: ignore[arg-type]


def test_get_entity_maps_missing_to_none_and_existing_to_metadata() -> None:
    _, missing = drive(entity_flows.get_entity(SETTINGS, COUNTER),
                       [pb.GetEntityResponse(exists=False)])
    assert missing is None
    entity = pb.EntityMetadata(instanceId="@counter@k", backlogQueueSize=2,
                               serializedState=wrappers_pb2.StringValue(value="3"))
    _, metadata = drive(entity_flows.get_entity(SETTINGS, COUNTER),
                        [pb.GetEntityResponse(exists=True, entity=entity)])
    assert metadata.id == COUNTER
    assert metadata.get_typed_state() == 3


def test_get_all_entities_follows_continuation_tokens() -> None:
    first = pb.QueryEntitiesResponse(
        entities=[pb.EntityMetadata(instanceId="@a@1")],
        continuationToken=wrappers_pb2.StringValue(value="t"))
    second = pb.QueryEntitiesResponse(entities=[pb.EntityMetadata(instanceId="@b@2")])
    calls, result = drive(
        entity_flows.get_all_entities(SETTINGS, EntityQuery(instance_id_starts_with="@",
                                                            page_size=1)),
        [first, second],
    )
    assert [str(m.id) for m in result] == ["@a@1", "@b@2"]
    assert calls[0].request.query.pageSize.value == 1
    assert calls[1].request.query.continuationToken.value == "t"


def test_a_zero_continuation_token_ends_the_paging_like_the_official_client() -> None:
    page = pb.QueryEntitiesResponse(entities=[pb.EntityMetadata(instanceId="@a@1")],
                                    continuationToken=wrappers_pb2.StringValue(value="0"))
    calls, result = drive(entity_flows.get_all_entities(SETTINGS), [page])
    assert len(calls) == 1
    assert [str(m.id) for m in result] == ["@a@1"]


def test_clean_entity_storage_sums_all_pages() -> None:
    first = pb.CleanEntityStorageResponse(
        emptyEntitiesRemoved=1, orphanedLocksReleased=2,
        continuationToken=wrappers_pb2.StringValue(value="t"))
    second = pb.CleanEntityStorageResponse(emptyEntitiesRemoved=3)
    _, result = drive(entity_flows.clean_entity_storage(SETTINGS), [first, second])
    assert result == CleanEntityStorageResult(4, 2)
