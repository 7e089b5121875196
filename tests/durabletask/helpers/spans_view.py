"""Reading exported spans the way a trace viewer shows them: by name, parent and trace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

DURABLE_TYPE = "durabletask.type"


def durable(spans: Iterable[ReadableSpan]) -> list[ReadableSpan]:
    """The spans our SDK emitted (they all carry ``durabletask.type``)."""
    return [s for s in spans if DURABLE_TYPE in (s.attributes or {})]


def named(spans: Iterable[ReadableSpan], name: str, kind: SpanKind | None = None,
          instance_id: str | None = None) -> list[ReadableSpan]:
    """Spans called ``name`` (of ``kind``, about ``instance_id``, when given)."""
    return [
        s for s in spans
        if s.name == name and (kind is None or s.kind == kind)
        and (instance_id is None
             or (s.attributes or {}).get("durabletask.task.instance_id") == instance_id)
    ]


def one(spans: Sequence[ReadableSpan], name: str, kind: SpanKind | None = None,
        instance_id: str | None = None) -> ReadableSpan:
    """The single span called ``name``; fails listing what was found otherwise."""
    found = named(spans, name, kind, instance_id)
    assert len(found) == 1, f"expected one {name} ({kind}), found {len(found)}: {describe(spans)}"
    return found[0]


def parent_id(span: ReadableSpan) -> int | None:
    """The span id of ``span``'s parent, or None for a root."""
    return span.parent.span_id if span.parent is not None else None


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    """True when ``child`` sits directly under ``parent`` in the same trace."""
    return (child.context.trace_id == parent.context.trace_id
            and parent_id(child) == parent.context.span_id)


def describe(spans: Iterable[ReadableSpan]) -> list[tuple[str, str, Any]]:
    """A compact listing for assertion messages."""
    return [(s.name, s.kind.name, (s.attributes or {}).get("durabletask.task.instance_id"))
            for s in spans]
