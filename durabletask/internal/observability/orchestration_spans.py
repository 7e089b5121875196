"""One orchestration episode's trace: stamp its actions, fill its response, emit its spans.

The orchestration's span id is chosen by its first episode and kept by the sidecar
(``OrchestrationTraceContext.spanID``, with the start time); every activity and
sub-orchestration the orchestration schedules gets a CLIENT span id of its own, sent with
the action, under which the worker that runs it puts its SERVER span. Spans are emitted only
once the sidecar accepted the episode's completion, so an episode that is redelivered does
not emit twice; replayed history emits nothing (see ``engine/trace_journal.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from durabletask.internal.observability import names, otel_spans
from durabletask.internal.observability.carrier import parse, parse_span_id, root_for
from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["EpisodeTrace"]

_STAMPED = ("scheduleTask", "createSubOrchestration")


class EpisodeTrace:
    """The trace of one episode of one orchestration execution."""

    def __init__(self, request: pb.OrchestratorRequest, record: Any, emit: bool) -> None:
        """Work out the orchestration's span from the request and the journal's record.

        Args:
            request: The episode's request (its ``orchestrationTraceContext``).
            record: The ``TraceRecord`` of the episode.
            emit: False for propagate-only: no spans, actions carry the parent context.
        """
        self._request = request
        self._record = record
        self._emit = emit
        self._parent = parse(record.parent)
        persisted = request.orchestrationTraceContext
        span_id = None
        if persisted.HasField("spanID"):
            span_id = parse_span_id(persisted.spanID.value)
        self._start_ns = (
            int(persisted.spanStartTime.ToNanoseconds())
            if persisted.HasField("spanStartTime") else time.time_ns())
        execution_id = record.execution_id or request.executionId.value
        trace = self._parent or root_for(request.instanceId, execution_id)
        self.span = trace.child(span_id)
        """The orchestration's SERVER span (the parent of what it schedules)."""

    def stamp(self, actions: Sequence[pb.OrchestratorAction]) -> None:
        """Give each new activity and sub-orchestration its trace context."""
        for action in actions:
            kind = action.WhichOneof("orchestratorActionType")
            if kind not in _STAMPED:
                continue
            target = getattr(action, kind)
            if target.parentTraceContext.traceParent:
                continue  # stamped when first sent
            if self._emit:
                self.span.child().write_to(target.parentTraceContext)
            elif self._parent is not None:
                self._parent.write_to(target.parentTraceContext)

    def fill(self, response: pb.OrchestratorResponse) -> None:
        """Tell the sidecar the orchestration span's id and start, to keep for later episodes."""
        if not self._emit:
            if self._request.HasField("orchestrationTraceContext"):
                response.orchestrationTraceContext.CopyFrom(
                    self._request.orchestrationTraceContext)
            return
        kept = response.orchestrationTraceContext
        kept.spanID.value = self.span.span_hex
        kept.spanStartTime.seconds, kept.spanStartTime.nanos = divmod(self._start_ns, 10**9)

    def emit(self, actions: Sequence[pb.OrchestratorAction]) -> None:
        """Emit the episode's spans; call once the sidecar accepted its completion."""
        if not self._emit:
            return
        record = self._record
        for fact in record.facts:
            if hasattr(fact, "context"):
                self._emit_task(fact)
            else:
                self._emit_timer(fact)
        for action in actions:
            kind = action.WhichOneof("orchestratorActionType")
            if kind == "sendEvent":
                self._emit_event(action.sendEvent)
            elif kind == "completeOrchestration":
                self._emit_orchestration(action.completeOrchestration)

    def _base(self, kind: str, name: str, instance_id: str) -> dict[str, Any]:
        return {names.ATTR_TYPE: kind, names.ATTR_NAME: name,
                names.ATTR_INSTANCE_ID: instance_id}

    def _emit_task(self, fact: Any) -> None:
        ref = parse(fact.context)
        if ref is None:
            return
        attributes = self._base(fact.kind, fact.name, fact.instance_id)
        attributes[names.ATTR_TASK_ID] = str(fact.task_id)
        if fact.version:
            attributes[names.ATTR_VERSION] = fact.version
        otel_spans.emit_finished(
            names.span_name(fact.kind, fact.name, fact.version), "client", ref, self.span,
            attributes, fact.scheduled_ns, fact.finished_ns, fact.failure)

    def _emit_timer(self, fact: Any) -> None:
        name = self._record.name
        attributes = self._base(names.TYPE_TIMER, name, self._request.instanceId)
        attributes[names.ATTR_TASK_ID] = str(fact.timer_id)
        if fact.fire_at is not None:
            attributes[names.ATTR_FIRE_AT] = fact.fire_at.isoformat()
        span = otel_spans.start(names.timer_span_name(name), "internal", attributes,
                                parent=self.span, start_ns=fact.created_ns)
        otel_spans.end(span)

    def _emit_event(self, sent: pb.SendEventAction) -> None:
        attributes = self._base(names.TYPE_EVENT, sent.name, self._request.instanceId)
        if sent.instance.instanceId:
            attributes[names.ATTR_TARGET_INSTANCE_ID] = sent.instance.instanceId
        span = otel_spans.start(names.span_name(names.ORCHESTRATION_EVENT, sent.name),
                                "producer", attributes, parent=self.span)
        otel_spans.end(span)

    def _emit_orchestration(self, completion: pb.CompleteOrchestrationAction) -> None:
        record = self._record
        attributes = self._base(names.TYPE_ORCHESTRATION, record.name, self._request.instanceId)
        if record.version:
            attributes[names.ATTR_VERSION] = record.version
        failed = completion.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
        attributes[names.ATTR_STATUS] = names.STATUS_FAILED if failed else names.STATUS_COMPLETED
        error = completion.failureDetails.errorMessage if failed else None
        otel_spans.emit_finished(
            names.span_name(names.TYPE_ORCHESTRATION, record.name, record.version), "server",
            self.span, self._parent, attributes, self._start_ns, error=error)
