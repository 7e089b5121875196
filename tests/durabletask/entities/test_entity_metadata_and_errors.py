"""EntityMetadata from wire messages, EntityLock and EntityOperationFailedException."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from google.protobuf import timestamp_pb2, wrappers_pb2

from durabletask.entities import (
    EntityInstanceId,
    EntityLock,
    EntityMetadata,
    EntityOperationFailedException,
)
from durabletask.errors import DurableTaskError
from durabletask.internal.proto import orchestrator_service_pb2 as pb


@dataclass
class Tally:
    count: int


def _wire_entity(**overrides) -> pb.EntityMetadata:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime(2025, 5, 6, 7, 8, 9))
    entity = pb.EntityMetadata(
        instanceId="@counter@k", lastModifiedTime=stamp, backlogQueueSize=2,
        serializedState=wrappers_pb2.StringValue(value=json.dumps({"count": 4})),
    )
    for name, value in overrides.items():
        getattr(entity, name).CopyFrom(value)
    return entity


def test_entity_metadata_from_entity_response_reads_every_field():
    response = pb.GetEntityResponse(exists=True, entity=_wire_entity())

    metadata = EntityMetadata.from_entity_response(response, True)

    assert metadata.id == EntityInstanceId("counter", "k")
    assert metadata.last_modified == datetime(2025, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert metadata.backlog_queue_size == 2
    assert metadata.includes_state is True
    assert metadata.get_typed_state() == {"count": 4}
    assert json.loads(metadata.get_state()) == {"count": 4}  # stored JSON, as in 1.12.0
    assert metadata.get_typed_state(Tally) == Tally(count=4)
    assert metadata.get_locked_by() is None


def test_entity_metadata_without_state_returns_none():
    metadata = EntityMetadata.from_entity_metadata(_wire_entity(), False)

    assert metadata.includes_state is False
    assert metadata.get_state() is None


def test_entity_metadata_get_typed_state_raises_when_the_type_does_not_match():
    metadata = EntityMetadata.from_entity_metadata(_wire_entity(), True)

    with pytest.raises(TypeError, match="not a int"):
        metadata.get_typed_state(int)


def test_entity_metadata_reports_the_lock_holder():
    locked = _wire_entity(lockedBy=wrappers_pb2.StringValue(value="@owner@1"))
    by_orchestration = _wire_entity(lockedBy=wrappers_pb2.StringValue(value="orch-1"))

    assert EntityMetadata.from_entity_metadata(locked).get_locked_by() == EntityInstanceId(
        "owner", "1"
    )
    metadata = EntityMetadata.from_entity_metadata(by_orchestration)
    assert metadata.get_locked_by() is None
    assert metadata.locked_by == "orch-1"


def test_entity_metadata_rejects_an_invalid_instance_id():
    with pytest.raises(ValueError, match="invalid instance id 'not-an-entity'"):
        EntityMetadata.from_entity_metadata(pb.EntityMetadata(instanceId="not-an-entity"))


class _RecordingContext:
    def __init__(self) -> None:
        self.exits = 0

    def _exit_critical_section(self) -> None:
        self.exits += 1


def test_entity_lock_exits_the_critical_section_when_the_block_ends():
    context = _RecordingContext()

    with EntityLock(context) as lock:
        assert isinstance(lock, EntityLock)
        assert context.exits == 0

    assert context.exits == 1


def test_entity_lock_exits_the_critical_section_and_propagates_errors():
    context = _RecordingContext()

    with pytest.raises(KeyError), EntityLock(context):
        raise KeyError("boom")

    assert context.exits == 1


def test_entity_operation_failed_exception_names_entity_operation_and_error():
    details = pb.TaskFailureDetails(errorType="builtins.ValueError", errorMessage="bad amount")
    entity_id = EntityInstanceId("counter", "k")

    error = EntityOperationFailedException(entity_id, "add", details)

    assert isinstance(error, DurableTaskError)
    assert error.entity_instance_id == entity_id
    assert error.operation_name == "add"
    assert error.failure_details.errorMessage == "bad amount"
    assert "'add'" in str(error)
    assert "@counter@k" in str(error)
    assert "bad amount" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert copy.failure_details == details
