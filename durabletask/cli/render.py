"""Output of the ``durabletask`` command: aligned tables, key-value blocks and JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from durabletask.client import OrchestrationState
from durabletask.history import HistoryEvent

# Long payloads would wrap every table row; the full value is always in --json output.
_MAX_CELL_CHARS = 60
# A value shown by `show` is cut after this many characters (a 1 MB name prints 1 MB once
# in --json, never padded into every row of a table).
_MAX_FIELD_CHARS = 2000
# Deeper JSON payloads are shown as their text: the decoder and the printer recurse.
_MAX_JSON_DEPTH = 100
# Fields of history events that hold serialised payloads (decoded for the table only).
_PAYLOAD_KEYS = frozenset({"input", "result", "output", "data"})
# The instance is the one asked about; repeating it on every row is noise.
_HISTORY_SKIPPED_KEYS = frozenset({
    "event_type", "event_id", "timestamp", "orchestration_instance",
})


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Return rows as a text table with left-aligned columns separated by two spaces.

    Args:
        headers: The column titles.
        rows: One sequence of cell texts per row, as long as ``headers``.
    """
    lines = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def render_fields(fields: Iterable[tuple[str, str]]) -> str:
    """Return ``key: value`` lines with the values aligned.

    Args:
        fields: The pairs, in display order.
    """
    pairs = list(fields)
    width = max((len(key) for key, _ in pairs), default=0) + 1
    return "\n".join(f"{(key + ':').ljust(width)}  {value}".rstrip() for key, value in pairs)


def render_json(document: Any) -> str:
    """Return ``document`` as indented JSON (datetimes as ISO 8601 strings).

    Args:
        document: Plain dicts, lists, strings, numbers, booleans and None.
    """
    return json.dumps(document, indent=2, default=_json_default)


def format_time(value: datetime | None) -> str:
    """Return a naive-UTC or aware datetime as ``YYYY-MM-DD HH:MM:SSZ`` (empty for None).

    Args:
        value: The time to show.
    """
    if value is None:
        return ""
    return _as_utc(value).strftime("%Y-%m-%d %H:%M:%SZ")


def format_iso(value: datetime | None) -> str | None:
    """Return a datetime as an ISO 8601 UTC string for JSON output (None for None).

    Args:
        value: The time to show.
    """
    return _iso(value)


def shorten(text: str, limit: int = _MAX_CELL_CHARS) -> str:
    """Return ``text`` on one line, cut to ``limit`` characters with an ellipsis.

    Args:
        text: The text.
        limit: The most characters to keep.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def decode_payload(raw: str | None) -> Any:
    """Return a serialised payload as a JSON value, or the raw text if it is not JSON.

    Args:
        raw: The payload as stored by the sidecar.
    """
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    return value if _depth_within(value, _MAX_JSON_DEPTH) else raw


def cap(text: str, limit: int = _MAX_FIELD_CHARS) -> str:
    """Return ``text`` cut to ``limit`` characters, saying how much was left out.

    Args:
        text: The value to show.
        limit: The most characters to keep.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters; --json prints all)"


def _depth_within(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def state_document(state: OrchestrationState) -> dict[str, Any]:
    """Return an orchestration state as a JSON-ready dict.

    Args:
        state: The state returned by the client.
    """
    failure = state.failure_details
    return {
        "instance_id": state.instance_id,
        "name": state.name,
        "runtime_status": str(state.runtime_status),
        "created_at": _iso(state.created_at),
        "last_updated_at": _iso(state.last_updated_at),
        "input": decode_payload(state.serialized_input),
        "output": decode_payload(state.serialized_output),
        "custom_status": decode_payload(state.serialized_custom_status),
        "failure_details": None if failure is None else {
            "message": failure.message,
            "error_type": failure.error_type,
            "stack_trace": failure.stack_trace,
        },
    }


def state_fields(state: OrchestrationState) -> list[tuple[str, str]]:
    """Return the ``show`` lines of an orchestration state.

    Args:
        state: The state returned by the client.
    """
    fields = [
        ("Instance ID", cap(state.instance_id)),
        ("Name", cap(state.name)),
        ("Status", str(state.runtime_status)),
        ("Created", format_time(state.created_at)),
        ("Last updated", format_time(state.last_updated_at)),
        ("Input", cap(state.serialized_input or "")),
        ("Output", cap(state.serialized_output or "")),
        ("Custom status", cap(state.serialized_custom_status or "")),
    ]
    failure = state.failure_details
    if failure is not None:
        fields.append(("Failure", cap(f"{failure.error_type}: {failure.message}")))
    return fields


def state_row(state: OrchestrationState) -> list[str]:
    """Return the ``list`` table row of an orchestration state.

    Args:
        state: The state returned by the client.
    """
    return [
        shorten(state.instance_id),
        shorten(state.name),
        str(state.runtime_status),
        format_time(state.created_at),
        format_time(state.last_updated_at),
    ]


STATE_HEADERS = ("INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED")
HISTORY_HEADERS = ("ID", "TIMESTAMP", "EVENT", "DETAILS")


def event_row(event: HistoryEvent) -> list[str]:
    """Return the ``history`` table row of an event: id, time, type and its set fields.

    Args:
        event: A history event returned by the client.
    """
    document = history_document(event)
    details = ", ".join(
        f"{key}={_detail_text(_readable(key, value))}"
        for key, value in document.items()
        if key not in _HISTORY_SKIPPED_KEYS and value not in (None, "", [], {})
    )
    return [
        str(event.event_id),
        format_time(event.timestamp),
        str(document["event_type"]).removesuffix("Event"),
        shorten(details),
    ]


def _readable(key: str, value: Any) -> Any:
    if key in _PAYLOAD_KEYS and isinstance(value, str):
        return decode_payload(value)
    if isinstance(value, Mapping):
        return {k: _readable(k, v) for k, v in value.items()}
    return value


def history_document(event: HistoryEvent) -> dict[str, Any]:
    """Return a history event as a JSON-ready dict with its class name under ``event_type``.

    The fields are ``event.to_dict()``'s (times ISO 8601 UTC with ``+00:00``, payloads as
    the serialised text they were recorded as), so ``durabletask replay`` reads the output
    back exactly.

    Args:
        event: A history event returned by the client.
    """
    return {"event_type": type(event).__name__, **event.to_dict()}


def _detail_text(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}={_detail_text(v)}" for k, v in value.items() if v is not None)
        return "{" + inner + "}"
    if isinstance(value, (list, bool)) or value is None:
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else _as_utc(value).isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    return str(value)
