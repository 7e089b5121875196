"""durabletask.history as in 1.12.0: event shapes and ``to_dict``.

Pins the behaviour of the official ``HistoryEvent.to_dict`` (the ``asdict`` + datetime
walk its own test file compares against) and of its proto conversion.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

from google.protobuf import wrappers_pb2

from durabletask import history
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import FailureDetails

TS = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def test_every_event_class_has_to_dict_in_field_order():
    # 1.12.0: HistoryEvent.to_dict() exists on every event class; keys follow the
    # dataclass declaration order, datetimes become isoformat() strings.
    event = history.TaskScheduledEvent(event_id=1, timestamp=TS, name="A", version="1",
                                       input="2", tags={"k": "v"})
    assert list(event.to_dict()) == [
        "event_id", "timestamp", "name", "version", "input", "parent_trace_context", "tags"]
    assert event.to_dict()["timestamp"] == "2025-01-02T03:04:05.678901+00:00"
    classes = [getattr(history, n) for n in history.__all__]
    events = [c for c in classes if isinstance(c, type) and issubclass(c, history.HistoryEvent)]
    assert len(events) == 29  # the base class and the 28 proto event kinds
    assert all(callable(getattr(c, "to_dict", None)) for c in events)


def test_to_dict_keeps_none_and_nested_dataclasses_as_dicts():
    # 1.12.0: unset optionals stay None (tags too), nested values become plain dicts.
    event = history.ExecutionStartedEvent(
        event_id=-1, timestamp=TS, name="orch",
        parent_instance=history.ParentInstanceInfo(
            task_scheduled_id=7, orchestration_instance=history.OrchestrationInstance("p")))
    document = event.to_dict()
    assert document["tags"] is None
    assert document["version"] is None
    assert document["parent_instance"] == {
        "task_scheduled_id": 7, "name": None, "version": None,
        "orchestration_instance": {"instance_id": "p", "execution_id": None}}
    json.dumps(document)


def test_to_dict_result_shares_nothing_with_the_event():
    # 1.12.0: to_dict deep-copies (dataclasses.asdict), so mutating the result is safe.
    event = history.HistoryStateEvent(event_id=-1, timestamp=TS,
                                      orchestration_state={"tags": {"a": "1"}, "ts": [TS]})
    document = event.to_dict()
    document["orchestration_state"]["tags"]["a"] = "changed"
    assert event.orchestration_state["tags"] == {"a": "1"}
    assert document["orchestration_state"]["ts"] == [TS.isoformat()]
    assert history.to_dict(event) == event.to_dict()


def test_required_fields_match_the_official_constructors():
    # 1.12.0: name / task_scheduled_id / fire_at ... have no defaults.
    required = {
        f.name for f in dataclasses.fields(history.TimerFiredEvent)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    assert required == {"event_id", "timestamp", "fire_at", "timer_id"}


def test_converted_events_have_aware_timestamps_status_numbers_and_none_tags():
    # 1.12.0's proto conversion: ToDatetime(timezone.utc), the raw status number, tags
    # None when empty, failure details as task.FailureDetails.
    wire = pb.HistoryEvent(eventId=4, executionCompleted=pb.ExecutionCompletedEvent(
        orchestrationStatus=pb.ORCHESTRATION_STATUS_FAILED,
        failureDetails=pb.TaskFailureDetails(errorType="builtins.ValueError",
                                             errorMessage="bad")))
    wire.timestamp.FromDatetime(datetime(2024, 5, 6, 7, 8, 9))
    completed = history.history_event_from_proto(wire)
    assert completed.timestamp == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert completed.orchestration_status == 3
    assert completed.failure_details == FailureDetails("bad", "builtins.ValueError", None)
    started = history.history_event_from_proto(pb.HistoryEvent(
        executionStarted=pb.ExecutionStartedEvent(
            name="o", input=wrappers_pb2.StringValue(value="1"))))
    assert started.tags is None
    assert started.input == "1"


def test_history_state_event_holds_the_message_to_dict_form():
    # 1.12.0: HistoryStateEvent.orchestration_state is MessageToDict(..., preserving
    # proto field names) of the wire state.
    wire = pb.HistoryEvent(historyState=pb.HistoryStateEvent(
        orchestrationState=pb.OrchestrationState(instanceId="i", name="n")))
    state = history.history_event_from_proto(wire).orchestration_state
    assert state == {"instanceId": "i", "name": "n"}
