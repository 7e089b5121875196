"""History events as frozen dataclasses, converted from the wire by one generic mapper.

Field names are the snake_case forms of the proto fields (``taskScheduledId`` ->
``task_scheduled_id``, ``spanID`` -> ``span_id``). Optional strings are ``None`` when
unset, timestamps are naive UTC datetimes, inputs and results stay serialised strings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from durabletask.task import FailureDetails

if TYPE_CHECKING:
    from durabletask.client import OrchestrationState, OrchestrationStatus
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


@dataclass(frozen=True)
class OrchestrationInstance:
    """An orchestration instance id and, when known, its execution id."""

    instance_id: str = ""
    execution_id: str | None = None


@dataclass(frozen=True)
class ParentInstanceInfo:
    """The parent orchestration of a sub-orchestration."""

    task_scheduled_id: int = 0
    name: str | None = None
    version: str | None = None
    orchestration_instance: OrchestrationInstance | None = None


@dataclass(frozen=True)
class TraceContext:
    """A W3C trace context carried with an event."""

    trace_parent: str = ""
    span_id: str = ""
    trace_state: str | None = None


@dataclass(frozen=True)
class HistoryEvent:
    """Base of every history event: its sequence id and when it was recorded (naive UTC)."""

    event_id: int
    timestamp: datetime | None


@dataclass(frozen=True)
class ExecutionStartedEvent(HistoryEvent):
    """An orchestration execution started."""

    name: str = ""
    version: str | None = None
    input: str | None = None
    orchestration_instance: OrchestrationInstance | None = None
    parent_instance: ParentInstanceInfo | None = None
    scheduled_start_timestamp: datetime | None = None
    parent_trace_context: TraceContext | None = None
    orchestration_span_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionCompletedEvent(HistoryEvent):
    """The orchestration completed, failed or continued as new."""

    orchestration_status: OrchestrationStatus | None = None
    result: str | None = None
    failure_details: FailureDetails | None = None


@dataclass(frozen=True)
class ExecutionTerminatedEvent(HistoryEvent):
    """The orchestration was terminated; ``input`` is the termination output."""

    input: str | None = None
    recurse: bool = False


@dataclass(frozen=True)
class TaskScheduledEvent(HistoryEvent):
    """An activity was scheduled."""

    name: str = ""
    version: str | None = None
    input: str | None = None
    parent_trace_context: TraceContext | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskCompletedEvent(HistoryEvent):
    """An activity completed."""

    task_scheduled_id: int = 0
    result: str | None = None


@dataclass(frozen=True)
class TaskFailedEvent(HistoryEvent):
    """An activity failed."""

    task_scheduled_id: int = 0
    failure_details: FailureDetails | None = None


@dataclass(frozen=True)
class SubOrchestrationInstanceCreatedEvent(HistoryEvent):
    """A sub-orchestration was started."""

    instance_id: str = ""
    name: str = ""
    version: str | None = None
    input: str | None = None
    parent_trace_context: TraceContext | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SubOrchestrationInstanceCompletedEvent(HistoryEvent):
    """A sub-orchestration completed."""

    task_scheduled_id: int = 0
    result: str | None = None


@dataclass(frozen=True)
class SubOrchestrationInstanceFailedEvent(HistoryEvent):
    """A sub-orchestration failed."""

    task_scheduled_id: int = 0
    failure_details: FailureDetails | None = None


@dataclass(frozen=True)
class TimerCreatedEvent(HistoryEvent):
    """A durable timer was created."""

    fire_at: datetime | None = None


@dataclass(frozen=True)
class TimerFiredEvent(HistoryEvent):
    """A durable timer fired."""

    fire_at: datetime | None = None
    timer_id: int = 0


@dataclass(frozen=True)
class OrchestratorStartedEvent(HistoryEvent):
    """An orchestrator episode started; its timestamp is the orchestration's clock."""


@dataclass(frozen=True)
class OrchestratorCompletedEvent(HistoryEvent):
    """An orchestrator episode completed."""


@dataclass(frozen=True)
class EventSentEvent(HistoryEvent):
    """The orchestration sent an event to another instance."""

    instance_id: str = ""
    name: str = ""
    input: str | None = None


@dataclass(frozen=True)
class EventRaisedEvent(HistoryEvent):
    """An external event arrived."""

    name: str = ""
    input: str | None = None


@dataclass(frozen=True)
class GenericEvent(HistoryEvent):
    """An informational event (ignored by replay)."""

    data: str | None = None


@dataclass(frozen=True)
class HistoryStateEvent(HistoryEvent):
    """A snapshot of the orchestration's state."""

    orchestration_state: OrchestrationState | None = None


@dataclass(frozen=True)
class ContinueAsNewEvent(HistoryEvent):
    """The orchestration continued as new with ``input``."""

    input: str | None = None


@dataclass(frozen=True)
class ExecutionSuspendedEvent(HistoryEvent):
    """The orchestration was suspended; ``input`` is the reason."""

    input: str | None = None


@dataclass(frozen=True)
class ExecutionResumedEvent(HistoryEvent):
    """The orchestration was resumed; ``input`` is the reason."""

    input: str | None = None


@dataclass(frozen=True)
class EntityOperationSignaledEvent(HistoryEvent):
    """The orchestration signalled an entity operation."""

    request_id: str = ""
    operation: str = ""
    scheduled_time: datetime | None = None
    input: str | None = None
    target_instance_id: str | None = None


@dataclass(frozen=True)
class EntityOperationCalledEvent(HistoryEvent):
    """The orchestration called an entity operation."""

    request_id: str = ""
    operation: str = ""
    scheduled_time: datetime | None = None
    input: str | None = None
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    target_instance_id: str | None = None


@dataclass(frozen=True)
class EntityOperationCompletedEvent(HistoryEvent):
    """A called entity operation completed."""

    request_id: str = ""
    output: str | None = None


@dataclass(frozen=True)
class EntityOperationFailedEvent(HistoryEvent):
    """A called entity operation failed."""

    request_id: str = ""
    failure_details: FailureDetails | None = None


@dataclass(frozen=True)
class EntityLockRequestedEvent(HistoryEvent):
    """The orchestration asked to lock a set of entities."""

    critical_section_id: str = ""
    lock_set: list[str] = field(default_factory=list)
    position: int = 0
    parent_instance_id: str | None = None


@dataclass(frozen=True)
class EntityLockGrantedEvent(HistoryEvent):
    """The requested entity locks were granted."""

    critical_section_id: str = ""


@dataclass(frozen=True)
class EntityUnlockSentEvent(HistoryEvent):
    """The orchestration released an entity lock."""

    critical_section_id: str = ""
    parent_instance_id: str | None = None
    target_instance_id: str | None = None


@dataclass(frozen=True)
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
    tags: dict[str, str] = field(default_factory=dict)


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

_STATUS_ENUM = "OrchestrationStatus"
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _convert_message(value: Message, converter: DataConverter | None) -> Any:
    type_name = value.DESCRIPTOR.name
    if type_name in ("StringValue", "BoolValue", "Int32Value", "Int64Value"):
        return value.value
    if type_name == "Timestamp":
        return value.ToDatetime()
    if type_name == "TaskFailureDetails":
        from durabletask.internal.failures import failure_details_from_proto

        return failure_details_from_proto(value)
    if type_name == "OrchestrationState":
        from durabletask.internal.requests.models import parse_orchestration_state

        return parse_orchestration_state(value, converter)
    nested = _NESTED_TYPES.get(type_name)
    if nested is None:
        raise ValueError(f"history conversion does not know the message type {type_name}")
    return nested(**_fields_of(value, converter))


def _fields_of(message: Message, converter: DataConverter | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for descriptor in message.DESCRIPTOR.fields:
        raw = getattr(message, descriptor.name)
        key = _snake(descriptor.name)
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            values[key] = dict(raw)
        elif descriptor.is_repeated:
            values[key] = list(raw)
        elif descriptor.message_type is not None:
            has = message.HasField(descriptor.name)
            values[key] = _convert_message(raw, converter) if has else None
        elif descriptor.enum_type is not None and descriptor.enum_type.name == _STATUS_ENUM:
            from durabletask.internal.requests.models import status_from_proto

            values[key] = status_from_proto(raw)
        else:
            values[key] = raw
    return values


def history_event_from_proto(
    event: pb.HistoryEvent, data_converter: DataConverter | None = None
) -> HistoryEvent:
    """Convert a wire ``HistoryEvent`` to its dataclass.

    Args:
        event: The wire event.
        data_converter: Given to the state of a ``HistoryStateEvent``.

    Returns:
        The matching ``HistoryEvent`` subclass instance.

    Raises:
        ValueError: The event has no (or an unknown) event type.
    """
    kind = event.WhichOneof("eventType")
    cls = _EVENT_TYPES.get(kind or "")
    if cls is None:
        raise ValueError(f"history event {event.eventId} has an unknown event type {kind!r}")
    timestamp = event.timestamp.ToDatetime() if event.HasField("timestamp") else None
    payload = _fields_of(getattr(event, kind or ""), data_converter)
    return cls(event_id=event.eventId, timestamp=timestamp, **payload)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_dict(event: HistoryEvent) -> dict[str, Any]:
    """Return a JSON-ready dict of ``event``, with its class name under ``"event_type"``.

    Datetimes become ISO 8601 strings, statuses their names, nested values plain dicts.
    """
    return {"event_type": type(event).__name__, **_plain(event)}
