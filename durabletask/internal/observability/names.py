"""Span names and attribute keys, the same as 1.12.0's so mixed fleets' traces join up."""

from __future__ import annotations

TRACER_NAME = "durabletask"
METER_NAME = "durabletask"

# Span attribute keys (1.12.0's `durabletask.internal.tracing`, after the .NET schema).
ATTR_TYPE = "durabletask.type"
ATTR_NAME = "durabletask.task.name"
ATTR_VERSION = "durabletask.task.version"
ATTR_INSTANCE_ID = "durabletask.task.instance_id"
ATTR_STATUS = "durabletask.task.status"
ATTR_TASK_ID = "durabletask.task.task_id"
ATTR_TARGET_INSTANCE_ID = "durabletask.event.target_instance_id"
ATTR_FIRE_AT = "durabletask.fire_at"
ATTR_ENTITY_OPERATION = "durabletask.entity.operation"

TYPE_ORCHESTRATION = "orchestration"
TYPE_ACTIVITY = "activity"
TYPE_ENTITY = "entity"
TYPE_TIMER = "timer"
TYPE_EVENT = "event"

STATUS_COMPLETED = "Completed"
STATUS_FAILED = "Failed"

# Span name prefixes that are not a type.
CREATE_ORCHESTRATION = "create_orchestration"
ORCHESTRATION_EVENT = "orchestration_event"


def span_name(kind: str, name: str, version: str | None = None) -> str:
    """``kind:name``, or ``kind:name@(version)`` when there is a version."""
    return f"{kind}:{name}@({version})" if version else f"{kind}:{name}"


def timer_span_name(orchestration: str) -> str:
    """``orchestration:<name>:timer``."""
    return f"{TYPE_ORCHESTRATION}:{orchestration}:{TYPE_TIMER}"
