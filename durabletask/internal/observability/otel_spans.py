"""Spans through OpenTelemetry; importing this module fails when the extra is absent.

Most spans go through the public API. Two kinds cannot: an orchestration's SERVER span and
the CLIENT span of a scheduled activity or sub-orchestration are emitted when the work they
cover ends, possibly in another process, but their span ids were chosen (and sent to their
children) when it began. With the OpenTelemetry SDK they are handed to its span processors
as finished spans with those ids, as 1.12.0 does; with any other tracer provider they are
emitted with a new id (children then hang under the orchestration's parent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.environment_variables import OTEL_PYTHON_TRACER_PROVIDER
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from durabletask.internal.observability.carrier import SpanRef
from durabletask.internal.observability.names import TRACER_NAME
from durabletask.internal.observability.providers import ProviderWatch
from durabletask.internal.proto import orchestrator_service_pb2 as pb

_sdk: Any
try:  # the SDK is optional even when the API is installed
    from opentelemetry.sdk import trace as _sdk
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
except ImportError:  # pragma: no cover - exercised only without opentelemetry-sdk
    _sdk = None

__all__ = ["KINDS", "attach_parent", "attach_span", "context_of", "detach", "emit_finished",
           "start"]

_logger = logging.getLogger("durabletask.observability")

KINDS: Mapping[str, SpanKind] = {
    "client": SpanKind.CLIENT, "server": SpanKind.SERVER, "producer": SpanKind.PRODUCER,
    "internal": SpanKind.INTERNAL,
}


# Once: the SDK's get_tracer is costly. Before a provider is set this is the API's proxy,
# which follows the provider set later.
_TRACER = trace.get_tracer(TRACER_NAME)
_SCOPE = InstrumentationScope(TRACER_NAME) if _sdk is not None else None
_UNSET = Status(StatusCode.UNSET)
_FLAGS = {flags: TraceFlags(flags) for flags in (0, TraceFlags.SAMPLED)}
_EMPTY_CONTEXT = otel_context.Context()
recording = ProviderWatch(trace, "_TRACER_PROVIDER", OTEL_PYTHON_TRACER_PROVIDER,
                          trace.get_tracer_provider, trace.ProxyTracerProvider)
"""True once the application set a tracer provider (before that, spans go nowhere)."""


def _span_context(ref: SpanRef, remote: bool) -> SpanContext:
    state = TraceState.from_header([ref.state]) if ref.state else None
    flags = _FLAGS.get(ref.flags)
    if flags is None:
        flags = TraceFlags(ref.flags)
    return SpanContext(ref.trace_id, ref.span_id, is_remote=remote, trace_flags=flags,
                       trace_state=state)


def _parent_context(parent: SpanRef | None) -> Any:
    """An OpenTelemetry context whose current span is ``parent`` (None: an empty context)."""
    if parent is None:
        return _EMPTY_CONTEXT
    return trace.set_span_in_context(NonRecordingSpan(_span_context(parent, remote=True)))


def context_of(span: Any) -> pb.TraceContext | None:
    """``span`` (None: the caller's current span) as a protocol ``TraceContext``, if valid."""
    span_context = (span if span is not None else trace.get_current_span()).get_span_context()
    if not span_context.is_valid:
        return None
    span_id = f"{span_context.span_id:016x}"
    message = pb.TraceContext(
        traceParent=f"00-{span_context.trace_id:032x}-{span_id}-{span_context.trace_flags:02x}",
        spanID=span_id)
    if span_context.trace_state:
        message.traceState.value = span_context.trace_state.to_header()
    return message


def start(
    name: str, kind: str, attributes: Mapping[str, Any], *,
    parent: SpanRef | None = None, use_current: bool = False, start_ns: int | None = None,
) -> Any:
    """Start a span under ``parent`` (or under the caller's current span with ``use_current``)."""
    context = None if use_current else _parent_context(parent)
    # The SDK copies ``attributes`` (callers pass a fresh dict).
    return _TRACER.start_span(name, context=context, kind=KINDS[kind], attributes=attributes,
                              start_time=start_ns)


def end(span: Any, error: str | None = None, end_ns: int | None = None) -> None:
    """End ``span``, with an ERROR status carrying ``error`` when there is one."""
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=end_ns)


def attach_parent(parent: SpanRef) -> object:
    """Make ``parent`` the current span (without starting one); returns a token to detach."""
    return otel_context.attach(_parent_context(parent))


def attach_span(span: Any) -> object:
    """Make ``span`` the current span; returns a token to detach."""
    return otel_context.attach(trace.set_span_in_context(span))


def detach(token: Any) -> None:
    """Undo an ``attach_*``."""
    otel_context.detach(token)


_sdk_in_use: Any = None


def _sdk_provider() -> tuple[Any, Any] | None:
    """The SDK's tracer provider and its span processor, when that is the provider set.

    Looked up once: the API lets the global provider be set only once.
    """
    global _sdk_in_use
    if _sdk_in_use is None:
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider):
            return None  # not set yet
        processor = getattr(provider, "_active_span_processor", None)
        is_sdk = _sdk is not None and isinstance(provider, _sdk.TracerProvider)
        _sdk_in_use = (provider, processor) if is_sdk and processor is not None else False
    return _sdk_in_use or None


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
    sdk = _sdk_provider()
    if sdk is not None:
        provider, processor = sdk
        status = Status(StatusCode.ERROR, error) if error is not None else _UNSET
        try:
            span = _sdk.ReadableSpan(
                name=name, context=_span_context(ref, remote=False),
                parent=_span_context(parent, remote=True) if parent is not None else None,
                resource=provider.resource, attributes=attributes, kind=KINDS[kind],
                status=status, start_time=start_ns, end_time=end_ns,
                instrumentation_scope=_SCOPE,
            )
            processor.on_end(span)
            return
        except Exception:  # the SDK changed its internals: fall back to a new span id
            _logger.debug("could not emit span %s with its own id", name, exc_info=True)
    span = start(name, kind, attributes, parent=parent, start_ns=start_ns)
    end(span, error, end_ns)
