"""Spans through OpenTelemetry; importing this module fails when the extra is absent.

Most spans go through the public API. Two kinds cannot: an orchestration's SERVER span and
the CLIENT span of a scheduled activity or sub-orchestration are emitted when the work they
cover ends, possibly in another process, but their span ids were chosen (and sent to their
children) when it began. With the OpenTelemetry SDK they are handed to its span processors
as finished spans with those ids, as 1.12.0 does; with any other tracer provider they are
emitted with a new id (children then hang under the orchestration's parent).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from durabletask.internal.observability.carrier import SpanRef
from durabletask.internal.observability.names import TRACER_NAME

_sdk: Any
try:  # the SDK is optional even when the API is installed
    from opentelemetry.sdk import trace as _sdk
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
except ImportError:  # pragma: no cover - exercised only without opentelemetry-sdk
    _sdk = None

__all__ = ["KINDS", "current_ref", "emit_finished", "start", "use_parent"]

_logger = logging.getLogger("durabletask.observability")

KINDS: Mapping[str, SpanKind] = {
    "client": SpanKind.CLIENT, "server": SpanKind.SERVER, "producer": SpanKind.PRODUCER,
    "internal": SpanKind.INTERNAL,
}


# Once: the SDK's get_tracer is costly. Before a provider is set this is the API's proxy,
# which follows the provider set later.
_TRACER = trace.get_tracer(TRACER_NAME)


def _tracer() -> trace.Tracer:
    return _TRACER


def recording() -> bool:
    """True once the application set a tracer provider (before that, spans go nowhere)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _span_context(ref: SpanRef, remote: bool) -> SpanContext:
    state = TraceState.from_header([ref.state]) if ref.state else None
    return SpanContext(ref.trace_id, ref.span_id, is_remote=remote,
                       trace_flags=TraceFlags(ref.flags), trace_state=state)


def _parent_context(parent: SpanRef | None) -> Any:
    """An OpenTelemetry context whose current span is ``parent`` (None: an empty context)."""
    if parent is None:
        return otel_context.Context()
    return trace.set_span_in_context(NonRecordingSpan(_span_context(parent, remote=True)))


def current_ref() -> SpanRef | None:
    """The current span of the caller's context, if it is valid."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    state = span_context.trace_state.to_header() if span_context.trace_state else None
    return SpanRef(span_context.trace_id, span_context.span_id, int(span_context.trace_flags),
                   state or None)


def ref_of(span: Any) -> SpanRef | None:
    """The identity of a started span (None when it is not valid, e.g. a no-op tracer)."""
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return None
    state = span_context.trace_state.to_header() if span_context.trace_state else None
    return SpanRef(span_context.trace_id, span_context.span_id, int(span_context.trace_flags),
                   state or None)


def start(
    name: str, kind: str, attributes: Mapping[str, Any], *,
    parent: SpanRef | None = None, use_current: bool = False, start_ns: int | None = None,
) -> Any:
    """Start a span under ``parent`` (or under the caller's current span with ``use_current``)."""
    context = None if use_current else _parent_context(parent)
    return _tracer().start_span(name, context=context, kind=KINDS[kind],
                                attributes=dict(attributes), start_time=start_ns)


def end(span: Any, error: str | None = None, end_ns: int | None = None) -> None:
    """End ``span``, with an ERROR status carrying ``error`` when there is one."""
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=end_ns)


@contextlib.contextmanager
def use_parent(parent: SpanRef | None) -> Iterator[None]:
    """Make ``parent`` the current span (without starting one) for user spans."""
    if parent is None:
        yield
        return
    token = otel_context.attach(_parent_context(parent))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextlib.contextmanager
def current(span: Any) -> Iterator[None]:
    """Make ``span`` the current span of the block."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


def emit_finished(
    name: str, kind: str, ref: SpanRef, parent: SpanRef | None,
    attributes: Mapping[str, Any], start_ns: int | None, end_ns: int | None = None,
    error: str | None = None,
) -> None:
    """Emit a finished span whose id (``ref``) was chosen before it started."""
    if not ref.sampled:
        return
    end_ns = end_ns or time.time_ns()
    start_ns = start_ns or end_ns
    provider = trace.get_tracer_provider()
    processor = getattr(provider, "_active_span_processor", None)
    if _sdk is not None and isinstance(provider, _sdk.TracerProvider) and processor:
        status = Status(StatusCode.ERROR, error) if error is not None else Status(StatusCode.UNSET)
        try:
            span = _sdk.ReadableSpan(
                name=name, context=_span_context(ref, remote=False),
                parent=_span_context(parent, remote=True) if parent is not None else None,
                resource=provider.resource, attributes=dict(attributes), kind=KINDS[kind],
                status=status, start_time=start_ns, end_time=end_ns,
                instrumentation_scope=InstrumentationScope(TRACER_NAME),
            )
            processor.on_end(span)
            return
        except Exception:  # the SDK changed its internals: fall back to a new span id
            _logger.debug("could not emit span %s with its own id", name, exc_info=True)
    span = start(name, kind, attributes, parent=parent, start_ns=start_ns)
    end(span, error, end_ns)
