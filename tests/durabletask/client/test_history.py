"""History events: every proto kind converts to its dataclass; to_dict is JSON-ready."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest
from google.protobuf import wrappers_pb2

from durabletask import history
from durabletask.client import OrchestrationStatus
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import FailureDetails

ONEOF_CASES = [f.name for f in pb.HistoryEvent.DESCRIPTOR.oneofs_by_name["eventType"].fields]


def test_history_covers_all_28_proto_event_kinds() -> None:
    assert len(ONEOF_CASES) == 28
    subclasses = {c for c in vars(history).values()
                  if isinstance(c, type) and issubclass(c, history.HistoryEvent)
                  and c is not history.HistoryEvent}
    assert len(subclasses) == 28


@pytest.mark.parametrize("case", ONEOF_CASES)
def test_history_event_from_proto_converts_each_kind(case: str) -> None:
    event = pb.HistoryEvent(eventId=7)
    event.timestamp.FromDatetime(datetime(2024, 2, 3, 4, 5, 6))
    getattr(event, case).SetInParent()
    converted = history.history_event_from_proto(event)
    assert converted.event_id == 7
    # 1.12.0 gives aware UTC timestamps.
    assert converted.timestamp == datetime(2024, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    assert dataclasses.is_dataclass(converted)
    json.dumps(history.to_dict(converted))
    assert converted.to_dict() == history.to_dict(converted)


def test_history_event_fields_match_the_proto_fields() -> None:
    for case in ONEOF_CASES:
        event = pb.HistoryEvent()
        getattr(event, case).SetInParent()
        cls = type(history.history_event_from_proto(event))
        proto_fields = len(getattr(event, case).DESCRIPTOR.fields)
        assert len(dataclasses.fields(cls)) == proto_fields + 2, cls.__name__


def test_execution_started_event_converts_nested_values() -> None:
    started = pb.ExecutionStartedEvent(
        name="orch", input=wrappers_pb2.StringValue(value='"in"'),
        orchestrationInstance=pb.OrchestrationInstance(
            instanceId="i", executionId=wrappers_pb2.StringValue(value="e")),
        parentTraceContext=pb.TraceContext(traceParent="00-ab", spanID="cd"),
        tags={"k": "v"},
    )
    converted = history.history_event_from_proto(
        pb.HistoryEvent(eventId=-1, executionStarted=started)
    )
    assert isinstance(converted, history.ExecutionStartedEvent)
    assert converted.name == "orch"
    assert converted.input == '"in"'
    assert converted.version is None
    assert converted.parent_instance is None
    assert converted.orchestration_instance == history.OrchestrationInstance("i", "e")
    assert converted.parent_trace_context == history.TraceContext("00-ab", "cd", None)
    assert converted.tags == {"k": "v"}
    # An unset wire timestamp reads as the epoch, as in 1.12.0.
    assert converted.timestamp == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_task_failed_and_execution_completed_events_convert_failure_and_status() -> None:
    failed = history.history_event_from_proto(pb.HistoryEvent(
        eventId=3, taskFailed=pb.TaskFailedEvent(
            taskScheduledId=2,
            failureDetails=pb.TaskFailureDetails(errorType="builtins.ValueError",
                                                 errorMessage="bad"))))
    assert isinstance(failed, history.TaskFailedEvent)
    assert failed.task_scheduled_id == 2
    assert failed.failure_details == FailureDetails("bad", "builtins.ValueError", None)
    completed = history.history_event_from_proto(pb.HistoryEvent(
        executionCompleted=pb.ExecutionCompletedEvent(
            orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED,
            result=wrappers_pb2.StringValue(value="1"))))
    # 1.12.0 keeps the proto's number for the status.
    assert completed.orchestration_status == OrchestrationStatus.COMPLETED.value
    assert history.to_dict(completed)["orchestration_status"] == 1


def test_to_dict_formats_datetimes_in_field_order() -> None:
    fired = history.TimerFiredEvent(event_id=4, timestamp=datetime(2024, 1, 1, tzinfo=timezone.utc),
                                    fire_at=datetime(2024, 1, 1, 0, 0, 1), timer_id=2)
    assert history.to_dict(fired) == {
        "event_id": 4, "timestamp": "2024-01-01T00:00:00+00:00",
        "fire_at": "2024-01-01T00:00:01", "timer_id": 2,
    }


def test_history_event_from_proto_rejects_event_without_type() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        history.history_event_from_proto(pb.HistoryEvent(eventId=1))
