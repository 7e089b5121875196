"""JSON shapes of the dashboard's API: instances, failures and history timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from google.protobuf import json_format

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store.base import InstanceRecord

_STATUS_PREFIX = "ORCHESTRATION_STATUS_"

STATUS_NAMES: dict[int, str] = {
    value: name.removeprefix(_STATUS_PREFIX) for name, value in pb.OrchestrationStatus.items()
}
"""``OrchestrationStatus`` values by their short names (``RUNNING``, ``FAILED``, ...)."""

STATUS_VALUES: dict[str, int] = {name: value for value, name in STATUS_NAMES.items()}
"""Short status names to ``OrchestrationStatus`` values."""

# Events answering an earlier one, and the field holding that event's id.
_COMPLETIONS = {
    "taskCompleted": "taskScheduledId",
    "taskFailed": "taskScheduledId",
    "subOrchestrationInstanceCompleted": "taskScheduledId",
    "subOrchestrationInstanceFailed": "taskScheduledId",
    "timerFired": "timerId",
}
# The field of each event kind that names what it is about.
_NAME_FIELDS = ("name", "operation")


def iso(when: datetime | None) -> str | None:
    """ISO 8601 text of a UTC time, or None."""
    return None if when is None else when.isoformat()


def instance_summary(record: InstanceRecord) -> dict[str, Any]:
    """The row of one instance in the list (no payloads)."""
    return {
        "id": record.instance_id,
        "name": record.name,
        "version": record.version,
        "status": STATUS_NAMES.get(record.status, str(record.status)),
        "createdAt": iso(record.created_at),
        "lastUpdatedAt": iso(record.last_updated_at),
        "completedAt": iso(record.completed_at),
        "parentInstanceId": record.parent_instance_id,
    }


def instance_detail(record: InstanceRecord) -> dict[str, Any]:
    """Everything the instance page shows except the history."""
    detail = instance_summary(record)
    detail.update(
        executionId=record.execution_id,
        scheduledStartAt=iso(record.scheduled_start_at),
        tags=dict(record.tags),
        input=record.input,
        output=record.output,
        customStatus=record.custom_status,
        failure=failure_details(record.failure),
    )
    return detail


def failure_details(details: pb.TaskFailureDetails | None) -> dict[str, Any] | None:
    """A failure and its inner failures as nested objects, or None."""
    if details is None:
        return None
    return {
        "errorType": details.errorType,
        "errorMessage": details.errorMessage,
        "stackTrace": details.stackTrace.value if details.HasField("stackTrace") else None,
        "isNonRetriable": details.isNonRetriable,
        "innerFailure": (
            failure_details(details.innerFailure) if details.HasField("innerFailure") else None
        ),
    }


def timeline(history: Sequence[pb.HistoryEvent]) -> list[dict[str, Any]]:
    """The history as timeline entries: kind, time, a one-line summary and every field.

    Completions name what they complete: a ``taskCompleted`` for task 3 is summarised with
    the name of the activity scheduled as event 3.
    """
    names: dict[int, str] = {}
    entries = []
    for event in history:
        kind = event.WhichOneof("eventType") or "unknown"
        details = json_format.MessageToDict(getattr(event, kind)) if kind != "unknown" else {}
        name = next((str(details[f]) for f in _NAME_FIELDS if details.get(f)), "")
        if kind == "timerCreated":
            names[event.eventId] = "timer"
        elif name:
            names[event.eventId] = name
        when = event.timestamp.ToDatetime(timezone.utc) if event.HasField("timestamp") else None
        entries.append({
            "eventId": event.eventId,
            "timestamp": iso(when),
            "kind": kind,
            "summary": _summary(kind, details, name, names),
            "details": details,
        })
    return entries


def _summary(kind: str, details: dict[str, Any], name: str, names: dict[int, str]) -> str:
    if kind in _COMPLETIONS:
        # proto3 leaves a zero id out of the JSON: task 0 is the first one scheduled
        ref = int(details.get(_COMPLETIONS[kind], 0))
        text = f"{names.get(ref, '')} (#{ref})".lstrip()
        failure = details.get("failureDetails")
        if failure:
            text += f": {failure.get('errorType', '')}: {failure.get('errorMessage', '')}"
        return text
    if kind == "executionCompleted":
        return str(details.get("orchestrationStatus", "")).removeprefix(_STATUS_PREFIX)
    if kind == "timerCreated":
        return f"fires at {details.get('fireAt', '')}"
    if kind == "entityLockRequested":
        return "lock " + ", ".join(details.get("lockSet", []))
    target = details.get("instanceId") or details.get("targetInstanceId")
    if name and target:
        return f"{name} -> {target}"
    return name or str(details.get("reason") or details.get("input") or "")
