"""The tracing half of the facade: what clients and the worker call (OpenTelemetry loaded).

``Tracing(emit=False)`` is 1.12.0's ``emit_trace_spans=False``: no span of ours, but the
caller's context still travels (clients send their caller's current span; orchestrations
pass their parent context on; activities run with it as the current context).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from durabletask.internal.observability import names, otel_spans
from durabletask.internal.observability.carrier import parse
from durabletask.internal.observability.noop import NOOP_TRACING
from durabletask.internal.observability.orchestration_spans import EpisodeTrace
from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["ActivityTrace", "Tracing"]

T = TypeVar("T")


class ActivityTrace:
    """Runs one activity inside its SERVER span (a child of the caller's CLIENT span)."""

    __slots__ = ("_request", "_parent", "_emit")

    def __init__(self, request: pb.ActivityRequest, emit: bool) -> None:
        """Prepare the span of ``request``; it starts when the activity runs."""
        self._request = request
        self._parent = parse(request.parentTraceContext)
        self._emit = emit

    def _enter(self) -> tuple[Any, Any]:
        """Start the span (when emitting) and make it, or the parent, current."""
        if not self._emit:
            if self._parent is None:
                return None, None
            return None, otel_spans.attach_parent(self._parent)
        request = self._request
        attributes = {
            names.ATTR_TYPE: names.TYPE_ACTIVITY,
            names.ATTR_INSTANCE_ID: request.orchestrationInstance.instanceId,
            names.ATTR_NAME: request.name,
            names.ATTR_TASK_ID: str(request.taskId),
        }
        span = otel_spans.start(names.span_name(names.TYPE_ACTIVITY, request.name), "server",
                                attributes, parent=self._parent)
        return span, otel_spans.attach_span(span)

    @staticmethod
    def _exit(span: Any, token: Any, outcome: Any) -> None:
        if token is not None:
            otel_spans.detach(token)
        if span is not None:
            failure = getattr(outcome, "failure", None)
            otel_spans.end(span, failure.errorMessage if failure is not None else None)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` in the span (on the calling thread); the outcome ends it."""
        span, token = self._enter()
        try:
            outcome = fn(*args)
        except BaseException:
            self._exit(None, token, None)  # an internal failure: the item is redelivered
            raise
        self._exit(span, token, outcome)
        return outcome

    async def run_async(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Await ``fn(*args)`` in the span."""
        span, token = self._enter()
        try:
            outcome = await fn(*args)
        except BaseException:
            self._exit(None, token, None)
            raise
        self._exit(span, token, outcome)
        return outcome


class _Producer:
    """A client call's PRODUCER span: started now, ended (with an error, if any) on exit.

    A plain context manager rather than a generator: the client makes one per call.
    """

    __slots__ = ("_span", "_sends_context")

    def __init__(self, name: str, attributes: dict[str, Any], sends_context: bool) -> None:
        self._span = otel_spans.start(name, "producer", attributes, use_current=True)
        self._sends_context = sends_context

    def __enter__(self) -> Any:
        return otel_spans.context_of(self._span) if self._sends_context else None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        otel_spans.end(self._span, None if exc is None else str(exc) or type(exc).__name__)


_NOTHING = contextlib.nullcontext()


class Tracing:
    """Tracing with OpenTelemetry importable; ``emit`` is ``emit_trace_spans``."""

    enabled = True

    def __init__(self, emit: bool = True) -> None:
        """Configure; ``emit=False`` propagates context without emitting spans."""
        self.emit = emit

    def _emitting(self) -> bool:
        # Without a tracer provider nothing would be exported: only propagate.
        return self.emit and otel_spans.recording()

    def scheduling(
        self, name: str, instance_id: str, version: str | None
    ) -> contextlib.AbstractContextManager[pb.TraceContext | None]:
        """The PRODUCER span of scheduling an orchestration; yields the context to send."""
        if not self._emitting():
            return contextlib.nullcontext(self.current_context())
        attributes = {names.ATTR_TYPE: names.TYPE_ORCHESTRATION, names.ATTR_NAME: name,
                      names.ATTR_INSTANCE_ID: instance_id}
        if version:
            attributes[names.ATTR_VERSION] = version
        return _Producer(names.span_name(names.CREATE_ORCHESTRATION, name, version), attributes,
                         sends_context=True)

    def raising_event(
        self, event_name: str, instance_id: str
    ) -> contextlib.AbstractContextManager[None]:
        """The PRODUCER span of raising an event from a client."""
        if not self._emitting():
            return _NOTHING
        attributes = {names.ATTR_TYPE: names.TYPE_EVENT, names.ATTR_NAME: event_name,
                      names.ATTR_TARGET_INSTANCE_ID: instance_id}
        return _Producer(names.span_name(names.ORCHESTRATION_EVENT, event_name), attributes,
                         sends_context=False)

    def current_context(self) -> pb.TraceContext | None:
        """The caller's current span as a protocol ``TraceContext`` (entity signals)."""
        return otel_spans.context_of(None)

    def episode(self, request: pb.OrchestratorRequest, results: Any) -> EpisodeTrace | None:
        """The trace of one orchestration episode, or None when it recorded no facts."""
        record = getattr(results, "trace", None)
        if record is None:
            return None
        emit = self._emitting()
        if not emit and record.parent is None and not request.HasField(
                "orchestrationTraceContext"):
            return None  # no span, and no context to pass on or keep
        return EpisodeTrace(request, record, emit)

    def activity(self, request: pb.ActivityRequest) -> Any:
        """The span to run one activity in (none at all while no tracer provider is set)."""
        if not otel_spans.recording():
            return NOOP_TRACING.activity(request)
        return ActivityTrace(request, self.emit)

    def entity_batch(self, request: Any, result: pb.EntityBatchResult) -> None:
        """Emit a SERVER span per operation of a finished entity batch (from its times)."""
        if not self._emitting():
            return
        entity = request.instanceId
        entity_name = entity.split("@")[1] if entity.count("@") >= 2 else entity
        operations = _operations(request)
        for (operation, trace_context), outcome in zip(operations, result.results):
            attributes = {names.ATTR_TYPE: names.TYPE_ENTITY, names.ATTR_INSTANCE_ID: entity,
                          names.ATTR_NAME: entity_name, names.ATTR_ENTITY_OPERATION: operation}
            done = outcome.success if outcome.HasField("success") else outcome.failure
            start_ns = int(done.startTimeUtc.ToNanoseconds()) if done.HasField(
                "startTimeUtc") else None
            end_ns = int(done.endTimeUtc.ToNanoseconds()) if done.HasField(
                "endTimeUtc") else None
            error = (outcome.failure.failureDetails.errorMessage
                     if outcome.HasField("failure") else None)
            span = otel_spans.start(
                names.span_name(names.TYPE_ENTITY, f"{entity_name}:{operation}"), "server",
                attributes, parent=parse(trace_context), start_ns=start_ns)
            otel_spans.end(span, error, end_ns)


def _operations(request: Any) -> list[tuple[str, pb.TraceContext | None]]:
    """Each operation's name and trace context, for both entity work-item forms."""
    if isinstance(request, pb.EntityBatchRequest):
        return [(op.operation, op.traceContext if op.HasField("traceContext") else None)
                for op in request.operations]
    found: list[tuple[str, pb.TraceContext | None]] = []
    for event in request.operationRequests:
        kind = event.WhichOneof("eventType")
        if kind in ("entityOperationSignaled", "entityOperationCalled"):
            found.append((getattr(event, kind).operation, None))
    return found
