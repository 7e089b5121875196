"""Recorded histories (JSON, two shapes) back to wire history events.

The shapes are the output of ``durabletask history ID --json`` and the list
``[history.to_dict(e) for e in client.get_orchestration_history(id)]``. The first names
each event's class (``"event_type": "TaskScheduledEvent"``). The second (1.12.0's
``to_dict``) does not, so the type is inferred from the event's fields. Four field sets
are shared by two or three types; the history's own order decides them:
``orchestratorStarted`` / ``orchestratorCompleted`` alternate (each episode is bracketed by
them), so do ``executionSuspended`` / ``executionResumed``, and a completion or failure of
``task_scheduled_id`` N belongs to an activity or a sub-orchestration according to the
event that scheduled N.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from durabletask import history
from durabletask.internal.failures import failure_details_to_proto
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import FailureDetails

__all__ = ["HistoryFormatError", "load_history", "to_history_events"]

_ONEOF = pb.HistoryEvent.DESCRIPTOR.oneofs_by_name["eventType"]
_KIND_OF_CLASS = {field.message_type.name: field.name for field in _ONEOF.fields}
"""``TaskScheduledEvent`` (the class name in ``event_type``) -> ``taskScheduled``."""
_KINDS = frozenset(_KIND_OF_CLASS.values())
_BASE_KEYS = frozenset({"event_id", "timestamp"})


def _kinds_by_fields() -> dict[frozenset[str], list[str]]:
    table: dict[frozenset[str], list[str]] = {}
    for class_name, kind in _KIND_OF_CLASS.items():
        cls = getattr(history, class_name)
        table.setdefault(frozenset(f.name for f in dataclasses.fields(cls)), []).append(kind)
    return table


_KINDS_BY_FIELDS = _kinds_by_fields()
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class HistoryFormatError(ValueError):
    """A recorded history cannot be read: not JSON, not a list of events, or a bad event."""


def load_history(path: str | Path) -> list[pb.HistoryEvent]:
    """Read a history JSON file (either shape, see the module doc) as wire events.

    Raises:
        HistoryFormatError: The file is not such a history; the message says where.
        OSError: The file cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryFormatError(f"{path}: not JSON ({exc})") from exc
    try:
        return to_history_events(document)
    except HistoryFormatError as exc:
        raise HistoryFormatError(f"{path}: {exc}") from exc


def to_history_events(items: Any) -> list[pb.HistoryEvent]:
    """Convert a recorded history to wire events, oldest first.

    Args:
        items: A list whose items are dicts (either JSON shape), ``history.HistoryEvent``
            objects (as ``get_orchestration_history`` returns) or wire ``HistoryEvent``s.

    Raises:
        HistoryFormatError: ``items`` is not a list of events, or an event is malformed.
    """
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise HistoryFormatError(
            "a history is a JSON list of events (durabletask history ID --json), "
            f"not {type(items).__name__}")
    reader = _Reader()
    events: list[pb.HistoryEvent] = []
    for index, item in enumerate(items):
        if isinstance(item, pb.HistoryEvent):
            event = item
        elif isinstance(item, history.HistoryEvent):
            event = reader.read(index, {"event_type": type(item).__name__, **item.to_dict()})
        elif isinstance(item, Mapping):
            event = reader.read(index, item)
        else:
            raise HistoryFormatError(f"history item {index} is {type(item).__name__}, not an event")
        reader.remember(event)
        events.append(event)
    return events


class _Reader:
    """Turns event dicts into wire events, with what the history so far tells about types."""

    def __init__(self) -> None:
        self._in_episode = False
        self._suspended = False
        self._scheduled: dict[int, str] = {}  # action id -> taskScheduled / subOrch...Created

    def read(self, index: int, document: Mapping[str, Any]) -> pb.HistoryEvent:
        kind = self._kind_of(index, document)
        try:
            return _to_event(kind, document)
        except (ValueError, TypeError, AttributeError, json_format.ParseError) as exc:
            raise HistoryFormatError(f"history item {index} ({kind}): {exc}") from exc

    def remember(self, event: pb.HistoryEvent) -> None:
        kind = event.WhichOneof("eventType")
        if kind in ("orchestratorStarted", "orchestratorCompleted"):
            self._in_episode = kind == "orchestratorStarted"
        elif kind in ("executionSuspended", "executionResumed"):
            self._suspended = kind == "executionSuspended"
        elif kind in ("taskScheduled", "subOrchestrationInstanceCreated"):
            self._scheduled[event.eventId] = kind

    def _kind_of(self, index: int, document: Mapping[str, Any]) -> str:
        named = document.get("event_type")
        if named is not None:
            kind = _KIND_OF_CLASS.get(str(named)) or (named if named in _KINDS else None)
            if kind is None:
                raise HistoryFormatError(f"history item {index}: unknown event_type {named!r}")
            return str(kind)
        keys = frozenset(document) - {"event_type"}
        candidates = _KINDS_BY_FIELDS.get(keys)
        if candidates is None:
            raise HistoryFormatError(
                f"history item {index}: no history event has exactly the fields {sorted(keys)}")
        if len(candidates) == 1:
            return candidates[0]
        return self._disambiguate(candidates, document)

    def _disambiguate(self, candidates: list[str], document: Mapping[str, Any]) -> str:
        if "orchestratorStarted" in candidates:
            return "orchestratorCompleted" if self._in_episode else "orchestratorStarted"
        if "executionSuspended" in candidates:
            return "executionResumed" if self._suspended else "executionSuspended"
        scheduled_by = self._scheduled.get(int(document.get("task_scheduled_id") or 0))
        is_sub = scheduled_by == "subOrchestrationInstanceCreated"
        if "taskCompleted" in candidates:
            return "subOrchestrationInstanceCompleted" if is_sub else "taskCompleted"
        return "subOrchestrationInstanceFailed" if is_sub else "taskFailed"


def _to_event(kind: str, document: Mapping[str, Any]) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=int(document.get("event_id", -1)))
    if document.get("timestamp"):
        event.timestamp.FromDatetime(_parse_time(document["timestamp"]))
        if not (event.timestamp.seconds or event.timestamp.nanos):
            event.ClearField("timestamp")  # the epoch is how an unset timestamp is written
    body = getattr(event, kind)
    body.SetInParent()
    _fill(body, {k: v for k, v in document.items() if k not in _BASE_KEYS | {"event_type"}})
    return event


def _fill(message: Message, values: Mapping[str, Any]) -> None:
    fields = {_snake(field.name): field for field in message.DESCRIPTOR.fields}
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            raise ValueError(f"{message.DESCRIPTOR.name} has no field {key!r}")
        if value is not None:
            _set(message, field, value)


def _set(message: Message, field: FieldDescriptor, value: Any) -> None:
    name = field.name
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        getattr(message, name).update({str(k): str(v) for k, v in value.items()})
    elif field.is_repeated:
        getattr(message, name).extend(value)
    elif field.message_type is None:
        setattr(message, name, value)
    else:
        _set_message(getattr(message, name), value)


def _set_message(target: Message, value: Any) -> None:
    type_name = target.DESCRIPTOR.name
    if type_name in ("StringValue", "BoolValue", "Int32Value", "Int64Value"):
        target.value = value
    elif type_name == "Timestamp":
        target.FromDatetime(_parse_time(value))
    elif type_name == "TaskFailureDetails":
        target.CopyFrom(failure_details_to_proto(_failure_details(value)))
    elif type_name == "OrchestrationState":
        json_format.ParseDict(value, target, ignore_unknown_fields=True)
    else:
        _fill(target, value)


def _failure_details(value: Mapping[str, Any]) -> FailureDetails:
    inner = value.get("inner_failure")
    return FailureDetails(
        message=value.get("message") or "",
        error_type=value.get("error_type") or "",
        stack_trace=value.get("stack_trace"),
        inner_failure=_failure_details(inner) if inner else None,
        properties=value.get("properties"),
    )


def _parse_time(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(
        str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()
