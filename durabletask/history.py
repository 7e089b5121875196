"""History events as frozen dataclasses, converted from the wire by one generic mapper.

Field names are the snake_case forms of the proto fields (``taskScheduledId`` ->
``task_scheduled_id``, ``spanID`` -> ``span_id``). As in durabletask 1.12.0: optional
strings and empty tag maps are ``None``, timestamps are aware UTC datetimes, statuses are
the proto's numbers, a history state is the ``MessageToDict`` form of the proto state, and
inputs and results stay serialised strings.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format
from google.protobuf.message import Message

from durabletask.task import FailureDetails

if TYPE_CHECKING:
    from durabletask.internal.proto import orchestrator_service_pb2 as pb
    from durabletask.serialization import DataConverter

__all__ = [
    "ContinueAsNewEvent", "EntityLockGrantedEvent", "EntityLockRequestedEvent",
    "EntityOperationCalledEvent", "EntityOperationCompletedEvent", "EntityOperationFailedEvent",
    "EntityOperationSignaledEvent", "EntityUnlockSentEvent", "EventRaisedEvent",
    "EventSentEvent", "ExecutionCompletedEvent", "ExecutionResumedEvent",
    "ExecutionRewoundEvent", "ExecutionStartedEvent", "ExecutionSuspendedEvent",
    "ExecutionTerminatedEvent", "GenericEvent", "HistoryEvent", "HistoryStateEvent",
    "OrchestrationInstance", "OrchestratorCompletedEvent", "OrchestratorStartedEvent",
    "ParentInstanceInfo", "SubOrchestrationInstanceCompletedEvent",
    "SubOrchestrationInstanceCreatedEvent", "SubOrchestrationInstanceFailedEvent",
    "TaskCompletedEvent", "TaskFailedEvent", "TaskScheduledEvent", "TimerCreatedEvent",
    "TimerFiredEvent", "TraceContext", "history_event_from_proto", "to_dict",
]


@dataclass(slots=True)
class OrchestrationInstance:
    """An orchestration instance id and, when known, its execution id."""

    instance_id: str
    execution_id: str | None = None


@dataclass(slots=True)
class ParentInstanceInfo:
    """The parent orchestration of a sub-orchestration."""

    task_scheduled_id: int
    name: str | None = None
    version: str | None = None
    orchestration_instance: OrchestrationInstance | None = None


@dataclass(slots=True)
class TraceContext:
    """A W3C trace context carried with an event."""

    trace_parent: str
    span_id: str
    trace_state: str | None = None


@dataclass(slots=True)
class HistoryEvent:
    """Base of every history event: its sequence id and when it was recorded (aware UTC)."""

    event_id: int
    timestamp: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return the event's fields, in declaration order, as a JSON-ready dict.

        Nested dataclasses become dicts, datetimes ISO 8601 strings; the result shares no
        mutable value with the event (``dataclasses.asdict`` copies every leaf).
        """
        result: dict[str, Any] = _walk(dataclasses.asdict(self))
        return result


@dataclass(slots=True)
class ExecutionStartedEvent(HistoryEvent):
    """An orchestration execution started."""

    name: str
    version: str | None = None
    input: str | None = None
    orchestration_instance: OrchestrationInstance | None = None
    parent_instance: ParentInstanceInfo | None = None
    scheduled_start_timestamp: datetime | None = None
    parent_trace_context: TraceContext | None = None
    orchestration_span_id: str | None = None
    tags: dict[str, str] | None = None


@dataclass(slots=True)
class ExecutionCompletedEvent(HistoryEvent):
    """The orchestration completed, failed or continued as new."""

    orchestration_status: int
    result: str | None = None
    failure_details: FailureDetails | None = None


@dataclass(slots=True)
class ExecutionTerminatedEvent(HistoryEvent):
    """The orchestration was terminated; ``input`` is the termination output."""

    input: str | None = None
    recurse: bool = False


@dataclass(slots=True)
class TaskScheduledEvent(HistoryEvent):
    """An activity was scheduled."""

    name: str
    version: str | None = None
    input: str | None = None
    parent_trace_context: TraceContext | None = None
    tags: dict[str, str] | None = None


@dataclass(slots=True)
class TaskCompletedEvent(HistoryEvent):
    """An activity completed."""

    task_scheduled_id: int
    result: str | None = None


@dataclass(slots=True)
class TaskFailedEvent(HistoryEvent):
    """An activity failed."""

    task_scheduled_id: int
    failure_details: FailureDetails | None = None


@dataclass(slots=True)
class SubOrchestrationInstanceCreatedEvent(HistoryEvent):
    """A sub-orchestration was started."""

    instance_id: str
    name: str
    version: str | None = None
    input: str | None = None
    parent_trace_context: TraceContext | None = None
    tags: dict[str, str] | None = None


@dataclass(slots=True)
class SubOrchestrationInstanceCompletedEvent(HistoryEvent):
    """A sub-orchestration completed."""

    task_scheduled_id: int
    result: str | None = None


@dataclass(slots=True)
class SubOrchestrationInstanceFailedEvent(HistoryEvent):
    """A sub-orchestration failed."""

    task_scheduled_id: int
    failure_details: FailureDetails | None = None


@dataclass(slots=True)
class TimerCreatedEvent(HistoryEvent):
    """A durable timer was created."""

    fire_at: datetime


@dataclass(slots=True)
class TimerFiredEvent(HistoryEvent):
    """A durable timer fired."""

    fire_at: datetime
    timer_id: int


@dataclass(slots=True)
class OrchestratorStartedEvent(HistoryEvent):
    """An orchestrator episode started; its timestamp is the orchestration's clock."""


@dataclass(slots=True)
class OrchestratorCompletedEvent(HistoryEvent):
    """An orchestrator episode completed."""


@dataclass(slots=True)
class EventSentEvent(HistoryEvent):
    """The orchestration sent an event to another instance."""

    instance_id: str
    name: str
    input: str | None = None


@dataclass(slots=True)
class EventRaisedEvent(HistoryEvent):
    """An external event arrived."""

    name: str
    input: str | None = None


@dataclass(slots=True)
class GenericEvent(HistoryEvent):
    """An informational event (ignored by replay)."""

    data: str | None = None


@dataclass(slots=True)
class HistoryStateEvent(HistoryEvent):
    """A snapshot of the orchestration's state."""

    orchestration_state: dict[str, Any]


@dataclass(slots=True)
class ContinueAsNewEvent(HistoryEvent):
    """The orchestration continued as new with ``input``."""

    input: str | None = None


@dataclass(slots=True)
class ExecutionSuspendedEvent(HistoryEvent):
    """The orchestration was suspended; ``input`` is the reason."""

    input: str | None = None


@dataclass(slots=True)
class ExecutionResumedEvent(HistoryEvent):
    """The orchestration was resumed; ``input`` is the reason."""

    input: str | None = None


@dataclass(slots=True)
class EntityOperationSignaledEvent(HistoryEvent):
    """The orchestration signalled an entity operation."""

    request_id: str
    operation: str
    scheduled_time: datetime | None = None
    input: str | None = None
    target_instance_id: str | None = None


@dataclass(slots=True)
class EntityOperationCalledEvent(HistoryEvent):
    """The orchestration called an entity operation."""

    request_id: str
    operation: str
    scheduled_time: datetime | None = None
    input: str | None = None
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    target_instance_id: str | None = None


@dataclass(slots=True)
class EntityOperationCompletedEvent(HistoryEvent):
    """A called entity operation completed."""

    request_id: str
    output: str | None = None


@dataclass(slots=True)
class EntityOperationFailedEvent(HistoryEvent):
    """A called entity operation failed."""

    request_id: str
    failure_details: FailureDetails | None = None


@dataclass(slots=True)
class EntityLockRequestedEvent(HistoryEvent):
    """The orchestration asked to lock a set of entities."""

    critical_section_id: str
    lock_set: list[str]
    position: int
    parent_instance_id: str | None = None


@dataclass(slots=True)
class EntityLockGrantedEvent(HistoryEvent):
    """The requested entity locks were granted."""

    critical_section_id: str


@dataclass(slots=True)
class EntityUnlockSentEvent(HistoryEvent):
    """The orchestration released an entity lock."""

    critical_section_id: str
    parent_instance_id: str | None = None
    target_instance_id: str | None = None


@dataclass(slots=True)
class ExecutionRewoundEvent(HistoryEvent):
    """The orchestration was rewound; ``reason`` says why."""

    reason: str | None = None
    parent_execution_id: str | None = None
    instance_id: str | None = None
    parent_trace_context: TraceContext | None = None
    name: str | None = None
    version: str | None = None
    input: str | None = None
    parent_instance: ParentInstanceInfo | None = None
    tags: dict[str, str] | None = None


# The proto oneof case of HistoryEvent.eventType -> its dataclass.
_EVENT_TYPES: dict[str, type[HistoryEvent]] = {
    "executionStarted": ExecutionStartedEvent,
    "executionCompleted": ExecutionCompletedEvent,
    "executionTerminated": ExecutionTerminatedEvent,
    "taskScheduled": TaskScheduledEvent,
    "taskCompleted": TaskCompletedEvent,
    "taskFailed": TaskFailedEvent,
    "subOrchestrationInstanceCreated": SubOrchestrationInstanceCreatedEvent,
    "subOrchestrationInstanceCompleted": SubOrchestrationInstanceCompletedEvent,
    "subOrchestrationInstanceFailed": SubOrchestrationInstanceFailedEvent,
    "timerCreated": TimerCreatedEvent,
    "timerFired": TimerFiredEvent,
    "orchestratorStarted": OrchestratorStartedEvent,
    "orchestratorCompleted": OrchestratorCompletedEvent,
    "eventSent": EventSentEvent,
    "eventRaised": EventRaisedEvent,
    "genericEvent": GenericEvent,
    "historyState": HistoryStateEvent,
    "continueAsNew": ContinueAsNewEvent,
    "executionSuspended": ExecutionSuspendedEvent,
    "executionResumed": ExecutionResumedEvent,
    "entityOperationSignaled": EntityOperationSignaledEvent,
    "entityOperationCalled": EntityOperationCalledEvent,
    "entityOperationCompleted": EntityOperationCompletedEvent,
    "entityOperationFailed": EntityOperationFailedEvent,
    "entityLockRequested": EntityLockRequestedEvent,
    "entityLockGranted": EntityLockGrantedEvent,
    "entityUnlockSent": EntityUnlockSentEvent,
    "executionRewound": ExecutionRewoundEvent,
}

_NESTED_TYPES: dict[str, type] = {
    "OrchestrationInstance": OrchestrationInstance,
    "ParentInstanceInfo": ParentInstanceInfo,
    "TraceContext": TraceContext,
}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _convert_message(value: Message) -> Any:
    type_name = value.DESCRIPTOR.name
    if type_name in ("StringValue", "BoolValue", "Int32Value", "Int64Value"):
        return value.value
    if type_name == "Timestamp":
        return value.ToDatetime(timezone.utc)
    if type_name == "TaskFailureDetails":
        from durabletask.internal.failures import failure_details_from_proto

        return failure_details_from_proto(value)
    if type_name == "OrchestrationState":
        return json_format.MessageToDict(value, preserving_proto_field_name=True)
    nested = _NESTED_TYPES.get(type_name)
    if nested is None:
        raise ValueError(f"history conversion does not know the message type {type_name}")
    return nested(**_fields_of(value))


def _fields_of(message: Message) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for descriptor in message.DESCRIPTOR.fields:
        raw = getattr(message, descriptor.name)
        key = _snake(descriptor.name)
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            values[key] = dict(raw) or None  # an empty map reads as None, as in 1.12.0
        elif descriptor.is_repeated:
            values[key] = list(raw)
        elif descriptor.message_type is not None:
            values[key] = _convert_message(raw) if message.HasField(descriptor.name) else None
        else:
            values[key] = raw  # enums (orchestration_status) stay the proto's numbers
    return values


def history_event_from_proto(
    event: pb.HistoryEvent, data_converter: DataConverter | None = None
) -> HistoryEvent:
    """Convert a wire ``HistoryEvent`` to its dataclass.

    Args:
        event: The wire event.
        data_converter: Unused; kept so existing callers keep working (payloads stay
            serialised strings).

    Returns:
        The matching ``HistoryEvent`` subclass instance.

    Raises:
        ValueError: The event has no (or an unknown) event type.
    """
    kind = event.WhichOneof("eventType")
    cls = _EVENT_TYPES.get(kind or "")
    if cls is None:
        raise ValueError(f"history event {event.eventId} has an unknown event type {kind!r}")
    payload = _fields_of(getattr(event, kind or ""))
    return cls(event_id=event.eventId, timestamp=event.timestamp.ToDatetime(timezone.utc),
               **payload)


def _walk(value: Any) -> Any:
    # Applied to the result of dataclasses.asdict: datetimes in lists and dicts become ISO
    # strings; everything else (tuples included) stays what asdict made of it, as in 1.12.0.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_walk(item) for item in value]
    if isinstance(value, dict):
        return {key: _walk(item) for key, item in value.items()}
    return value


def to_dict(event: HistoryEvent) -> dict[str, Any]:
    """Return a JSON-ready dict of the event (the same as the event's own method)."""
    return event.to_dict()
