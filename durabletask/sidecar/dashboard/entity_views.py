"""JSON shapes of the dashboard's entity API: entity rows, one entity, its queued messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timezone
from typing import Any

from durabletask.sidecar.entities.ids import split_entity_id
from durabletask.sidecar.entities.scheduler import sender
from durabletask.sidecar.store.entity_base import EntityRecord, EntityRow
from durabletask.sidecar.dashboard.views import iso

PREVIEW_CHARS = 200
"""State and input previews are cut to this many characters (the entity page shows all state)."""

MAX_QUEUED_SHOWN = 100
"""Queued messages listed on the entity page; ``backlog`` counts them all."""

# Inbox message kinds by the history event field that carries them.
_KINDS = {
    "entityOperationSignaled": "signal",
    "entityOperationCalled": "call",
    "entityLockRequested": "lock",
    "entityUnlockSent": "unlock",
}


def preview(raw: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    """The first ``limit`` characters of a serialized value, with an ellipsis if cut."""
    if raw is None or len(raw) <= limit:
        return raw
    return raw[:limit] + "…"


def entity_summary(record: EntityRecord) -> dict[str, Any]:
    """The row of one entity in the list (state as a short preview)."""
    name, key = split_entity_id(record.entity_id) or ("", record.entity_id)
    return {
        "id": record.entity_id,
        "name": name,
        "key": key,
        "lastModifiedAt": iso(record.last_modified_at),
        "backlog": record.backlog,
        "lockedBy": record.lock.holder_id if record.lock is not None else None,
        "hasState": record.state is not None,
        "statePreview": preview(record.state),
    }


def entity_detail(record: EntityRecord, queued: Sequence[EntityRow]) -> dict[str, Any]:
    """Everything the entity page shows: state in full, the lock and the first queued messages."""
    detail = entity_summary(record)
    del detail["statePreview"]
    lock = record.lock
    detail.update(
        state=record.state,
        lock=None if lock is None else {
            "holder": lock.holder_id,
            "holderExecution": lock.holder_execution,
            "criticalSection": lock.section_id,
        },
        queued=[queued_message(row) for row in queued[:MAX_QUEUED_SHOWN]],
    )
    return detail


def queued_message(row: EntityRow) -> dict[str, Any]:
    """One message waiting in an entity's inbox."""
    event = row.event
    field = event.WhichOneof("eventType") or ""
    body = getattr(event, field) if field else None
    origin = sender(row)
    return {
        "kind": _KINDS.get(field, field),
        "operation": getattr(body, "operation", None) or None,
        "requestId": getattr(body, "requestId", None) or None,
        "criticalSection": getattr(body, "criticalSectionId", None) or None,
        "from": origin,
        # Entities signal each other without an execution id; orchestrations always send one.
        "fromEntity": bool(origin and row.source_execution is None
                           and split_entity_id(origin) is not None),
        "enqueuedAt": (iso(event.timestamp.ToDatetime(timezone.utc))
                       if event.HasField("timestamp") else None),
        "visibleAt": iso(row.visible_at),
        "inputPreview": _input(body),
    }


def _input(body: Any) -> str | None:
    if body is None or not hasattr(body, "input") or not body.HasField("input"):
        return None
    return preview(body.input.value)
