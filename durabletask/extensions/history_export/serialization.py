"""How an instance's history is written: one JSON document, or gzipped JSON lines.

* ``JSON``: ``{"schema_version", "instance_id", "events": [...], "metadata": {...}}``.
* ``JSONL_GZIP``: a first line ``{"kind": "metadata", "schema_version", "instance_id",
  "metadata"}``, then one line per event; gzip-compressed.

Every event carries an ``event_type`` discriminator (its class name). The output is
deterministic: sorted keys, compact separators, and a gzip header without a timestamp,
so the same history always gives the same bytes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from durabletask import client as client_module
from durabletask import history, task
from durabletask.extensions.history_export._times import to_iso
from durabletask.extensions.history_export.models import ExportFormat, ExportFormatKind

__all__ = [
    "content_encoding_for",
    "content_type_for",
    "event_to_dict",
    "failure_details_to_dict",
    "file_extension_for",
    "orchestration_state_to_dict",
    "serialize_history",
]

# kind -> (content type, content encoding, file extension)
_FORMATS: dict[ExportFormatKind, tuple[str, str | None, str]] = {
    ExportFormatKind.JSON: ("application/json", None, ".json"),
    ExportFormatKind.JSONL_GZIP: ("application/x-ndjson", "gzip", ".jsonl.gz"),
}


def _format_of(fmt: ExportFormat) -> tuple[str, str | None, str]:
    found = _FORMATS.get(fmt.kind) if isinstance(fmt.kind, ExportFormatKind) else None
    if found is None:
        raise ValueError(f"Unsupported export format kind: {fmt.kind!r}")
    return found


def event_to_dict(event: history.HistoryEvent) -> dict[str, Any]:
    """Return ``event`` as JSON values, with its class name first as ``event_type``."""
    return {"event_type": type(event).__name__, **event.to_dict()}


def failure_details_to_dict(failure: task.FailureDetails) -> dict[str, Any]:
    """Return failure details (and their inner failures, recursively) as JSON values."""
    inner = failure.inner_failure
    return {
        "message": failure.message,
        "error_type": failure.error_type,
        "stack_trace": failure.stack_trace,
        "inner_failure": None if inner is None else failure_details_to_dict(inner),
        "properties": failure.properties,
    }


def orchestration_state_to_dict(state: client_module.OrchestrationState) -> dict[str, Any]:
    """Return an instance's status and payloads as JSON values (the ``metadata`` block)."""
    failure = state.failure_details
    return {
        "instance_id": state.instance_id,
        "name": state.name,
        "runtime_status": state.runtime_status.name,
        "created_at": to_iso(state.created_at),
        "last_updated_at": to_iso(state.last_updated_at),
        "serialized_input": state.serialized_input,
        "serialized_output": state.serialized_output,
        "serialized_custom_status": state.serialized_custom_status,
        "failure_details": None if failure is None else failure_details_to_dict(failure),
    }


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def serialize_history(
    events: Sequence[history.HistoryEvent],
    *,
    instance_id: str,
    fmt: ExportFormat,
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """Serialize one instance's history in ``fmt``.

    Args:
        events: The instance's history, in order.
        instance_id: The instance.
        fmt: The format (kind and schema version).
        metadata: Usually :func:`orchestration_state_to_dict` of the instance; embedded
            as ``metadata`` (in the first line for JSON lines).

    Raises:
        ValueError: ``fmt.kind`` is not a known format.
    """
    _format_of(fmt)
    if fmt.kind is ExportFormatKind.JSON:
        document: dict[str, Any] = {
            "schema_version": fmt.schema_version,
            "instance_id": instance_id,
            "events": [event_to_dict(event) for event in events],
        }
        if metadata is not None:
            document["metadata"] = dict(metadata)
        return _dump(document).encode("utf-8")
    return _jsonl_gzip(events, instance_id, fmt, metadata)


def _jsonl_gzip(
    events: Iterable[history.HistoryEvent],
    instance_id: str,
    fmt: ExportFormat,
    metadata: Mapping[str, Any] | None,
) -> bytes:
    header: dict[str, Any] = {
        "schema_version": fmt.schema_version, "instance_id": instance_id, "kind": "metadata"}
    if metadata is not None:
        header["metadata"] = dict(metadata)
    lines = [_dump(header), *(_dump(event_to_dict(event)) for event in events)]
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


def content_type_for(fmt: ExportFormat) -> str:
    """The HTTP content type of ``fmt`` (``application/json`` or ``application/x-ndjson``)."""
    return _format_of(fmt)[0]


def content_encoding_for(fmt: ExportFormat) -> str | None:
    """The content encoding of ``fmt``: ``"gzip"`` for JSON lines, else ``None``."""
    return _format_of(fmt)[1]


def file_extension_for(fmt: ExportFormat) -> str:
    """The file extension of ``fmt`` (``.json`` or ``.jsonl.gz``)."""
    return _format_of(fmt)[2]
