"""The two activities of an export job: list a page of terminal instances, export one.

The client and the writer cannot travel through orchestration inputs, so each activity
asks a *resolver* for a :class:`HistoryExportContext` every time it runs; the resolver
is captured when the activities are built (:func:`build_activities`, :func:`register`),
never stored in a global. Hosts with their own dependency injection may call the bodies
(:func:`run_list_terminal_instances`, :func:`run_export_instance_history`) directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from durabletask import client as client_module
from durabletask import task
from durabletask import worker as worker_module
from durabletask.extensions.history_export._times import from_iso
from durabletask.extensions.history_export.models import ExportFormat, ExportFormatKind
from durabletask.extensions.history_export.serialization import (
    content_encoding_for,
    content_type_for,
    file_extension_for,
    orchestration_state_to_dict,
    serialize_history,
)
from durabletask.extensions.history_export.writer import HistoryWriter

__all__ = [
    "EXPORT_INSTANCE_HISTORY_ACTIVITY",
    "LIST_TERMINAL_INSTANCES_ACTIVITY",
    "HistoryExportContext",
    "HistoryExportContextResolver",
    "build_activities",
    "build_list_activity_input",
    "export_instance",
    "register",
    "run_export_instance_history",
    "run_list_terminal_instances",
]

LIST_TERMINAL_INSTANCES_ACTIVITY = "list_terminal_instances"
EXPORT_INSTANCE_HISTORY_ACTIVITY = "export_instance_history"

_TERMINAL = frozenset({
    client_module.OrchestrationStatus.COMPLETED,
    client_module.OrchestrationStatus.FAILED,
    client_module.OrchestrationStatus.TERMINATED,
})
_DEFAULT_FORMAT = {"kind": ExportFormatKind.JSONL_GZIP.value, "schema_version": "1.0"}


@dataclass
class HistoryExportContext:
    """What the export activities need at run time: a client to read, a writer to write."""

    client: client_module.TaskHubGrpcClient
    writer: HistoryWriter


HistoryExportContextResolver = Callable[[], HistoryExportContext]
"""Returns the context for one activity execution (called each time an activity runs)."""

BlobNamer = Callable[[client_module.OrchestrationState], str]
"""Names the blob of an instance from its (terminal) state."""


def run_list_terminal_instances(
    context: HistoryExportContext, input: Mapping[str, Any]
) -> dict[str, Any]:
    """List one page of instances matching the input's statuses and completion window.

    Returns:
        ``{"instance_ids": [...], "continuation_token": str | None}``.

    Raises:
        ValueError: The input has no ``completed_time_from``.
    """
    start = from_iso(input.get("completed_time_from"))
    if start is None:
        raise ValueError("list_terminal_instances requires 'completed_time_from'")
    names = input.get("runtime_status")
    page_size = input.get("page_size")
    token = input.get("continuation_token")
    page = context.client.list_instance_ids(
        runtime_status=None if names is None
        else [client_module.OrchestrationStatus[name] for name in names],
        completed_time_from=start,
        completed_time_to=from_iso(input.get("completed_time_to")),
        page_size=None if page_size is None else int(page_size),
        continuation_token=None if token is None else str(token),
    )
    return {"instance_ids": list(page.items), "continuation_token": page.continuation_token}


def run_export_instance_history(
    context: HistoryExportContext, input: Mapping[str, Any]
) -> dict[str, Any]:
    """Export one instance's history through the context's writer.

    A failure to read or write is reported in the result, not raised, so that the
    orchestrator can count it and retry the page.

    Returns:
        ``{"instance_id": str, "success": bool, "error": str | None}``.

    Raises:
        ValueError: The input has no destination container.
        TypeError: The input's format is not a mapping.
    """
    instance_id = str(input["instance_id"])
    fmt_input = input.get("format") or _DEFAULT_FORMAT
    if not isinstance(fmt_input, Mapping):
        raise TypeError("format must be a mapping")
    fmt = ExportFormat.from_dict(fmt_input)
    destination = input.get("destination") or {}
    if not destination.get("container"):
        raise ValueError("destination.container is required")
    prefix = destination.get("prefix")

    def name(state: client_module.OrchestrationState) -> str:
        return _blob_name_for(instance_id=instance_id, last_updated_at=state.last_updated_at,
                              prefix=None if prefix is None else str(prefix), fmt=fmt)

    error = export_instance(
        context, instance_id, fmt=fmt, container=str(destination["container"]),
        blob_name_for=name)[1]
    return {"instance_id": instance_id, "success": error is None, "error": error}


def export_instance(
    context: HistoryExportContext,
    instance_id: str,
    *,
    fmt: ExportFormat,
    container: str,
    blob_name_for: BlobNamer,
) -> tuple[str | None, str | None]:
    """Write one terminal instance's history (with its state as metadata) as one blob.

    An instance that is gone, or no longer terminal, is not written.

    Returns:
        ``(blob_name, None)`` when written, ``(None, "why not")`` otherwise.
    """
    try:
        state = context.client.get_orchestration_state(instance_id, fetch_payloads=True)
        if state is None:
            return None, f"instance {instance_id!r} no longer exists or has been purged"
        if state.runtime_status not in _TERMINAL:
            return None, (f"instance {instance_id!r} is no longer terminal "
                          f"(runtime_status={state.runtime_status.name})")
        events = context.client.get_orchestration_history(instance_id)
        payload = serialize_history(events, instance_id=instance_id, fmt=fmt,
                                    metadata=orchestration_state_to_dict(state))
        blob_name = blob_name_for(state)
        context.writer.write(
            instance_id=instance_id, container=container, blob_name=blob_name,
            payload=payload, content_type=content_type_for(fmt),
            content_encoding=content_encoding_for(fmt), metadata={"instance_id": instance_id})
    except Exception as exc:  # reported to the orchestrator, which retries and records it
        return None, f"{type(exc).__name__}: {exc}"
    return blob_name, None


def _blob_name_for(
    *, instance_id: str, last_updated_at: datetime, prefix: str | None, fmt: ExportFormat
) -> str:
    """The .NET SDK's blob name: sha256 of ``"{last update, .NET "O"}|{instance id}"``.

    The same completion of an instance always gets the same name (a retry overwrites),
    a later completion a new one, and ids differing only by ``/`` never collide.
    """
    digest = hashlib.sha256(
        f"{_dotnet_o_format(last_updated_at)}|{instance_id}".encode()).hexdigest()
    name = f"{digest}{file_extension_for(fmt)}"
    return f"{prefix.rstrip('/')}/{name}" if prefix else name


def _dotnet_o_format(dt: datetime) -> str:
    """Format like .NET ``DateTimeOffset.ToString("O")``: 7 fraction digits, ``+hh:mm``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    offset = dt.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond:06d}0{sign}{hours:02d}:{minutes:02d}"


def build_activities(
    resolver: HistoryExportContextResolver,
) -> tuple[task.Activity[Any, Any], task.Activity[Any, Any]]:
    """Return ``(list_terminal_instances, export_instance_history)`` bound to ``resolver``.

    ``resolver`` is called once per activity execution for the client and the writer.
    """
    def list_terminal_instances(_: task.ActivityContext, input: Mapping[str, Any]) -> Any:
        return run_list_terminal_instances(resolver(), input)

    def export_instance_history(_: task.ActivityContext, input: Mapping[str, Any]) -> Any:
        return run_export_instance_history(resolver(), input)

    return list_terminal_instances, export_instance_history


def register(
    worker_instance: worker_module.TaskHubGrpcWorker, resolver: HistoryExportContextResolver
) -> None:
    """Register both activities on ``worker_instance``; see :func:`build_activities`."""
    for activity in build_activities(resolver):
        worker_instance.add_activity(activity)


def build_list_activity_input(
    *,
    runtime_status_names: list[str] | None,
    completed_time_from: datetime,
    completed_time_to: datetime | None,
    page_size: int,
    continuation_token: str | None,
) -> dict[str, Any]:
    """Return the input of ``list_terminal_instances`` for one page."""
    return {
        "runtime_status": runtime_status_names,
        "completed_time_from": completed_time_from.isoformat(),
        "completed_time_to": None if completed_time_to is None else completed_time_to.isoformat(),
        "page_size": page_size,
        "continuation_token": continuation_token,
    }
