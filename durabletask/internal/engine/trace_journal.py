"""What an orchestration's history says about its trace: pure facts, no OpenTelemetry.

The worker turns these facts into spans (``durabletask.internal.observability``). The
journal lives in the runner, so with the orchestration cache it spans episodes; replayed
events only rebuild what it knows (the parent context, what was scheduled when), and only
events processed as new produce a fact. A fact is therefore produced once per delivery of
an event, however often the history is replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timezone

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["TaskFinished", "TimerFired", "TraceJournal", "TraceRecord"]


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A scheduled activity or sub-orchestration finished: the caller's CLIENT span.

    Attributes:
        kind: ``activity`` or ``orchestration`` (a sub-orchestration).
        name: The activity or sub-orchestrator name.
        version: Its version, if any.
        instance_id: The orchestration's id (activity) or the sub-orchestration's id.
        task_id: The scheduling action's id.
        context: The trace context the action carried (the span's own id).
        scheduled_ns: When it was scheduled (the history's timestamp), ns since the epoch.
        finished_ns: When it finished, ns since the epoch.
        failure: The failure message, or None when it succeeded.
    """

    kind: str
    name: str
    version: str | None
    instance_id: str
    task_id: int
    context: pb.TraceContext
    scheduled_ns: int | None
    finished_ns: int | None
    failure: str | None


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A durable timer fired: an INTERNAL span from its creation to now (as 1.12.0 does)."""

    timer_id: int
    fire_at: datetime | None
    created_ns: int | None


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """The trace facts of one episode, handed to the worker in ``ExecutionResults.trace``.

    Attributes:
        name: The orchestrator name (from ``executionStarted``).
        version: The orchestration version, if any.
        execution_id: The execution id, if the history names one.
        parent: ``executionStarted.parentTraceContext``, if one was sent.
        facts: What finished during this episode (new events only).
    """

    name: str
    version: str | None
    execution_id: str
    parent: pb.TraceContext | None
    facts: tuple[TaskFinished | TimerFired, ...]


@dataclass
class _Scheduled:
    kind: str
    name: str
    version: str | None
    instance_id: str
    context: pb.TraceContext | None
    scheduled_ns: int | None
    action: pb.OrchestratorAction | None = None

    def trace_context(self) -> pb.TraceContext | None:
        """The context sent with the action (read late: the worker stamps it after)."""
        if self.context is not None:
            return self.context
        assert self.action is not None
        kind = self.action.WhichOneof("orchestratorActionType")
        sent = getattr(self.action, kind or "").parentTraceContext
        return sent if sent.traceParent else None


def _epoch_ns(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1_000_000_000)


def _ns(event: pb.HistoryEvent) -> int | None:
    if not event.HasField("timestamp"):
        return None
    return int(event.timestamp.ToNanoseconds())


def _version(message: Any) -> str | None:
    return message.version.value if message.HasField("version") else None


@dataclass
class TraceJournal:
    """Follows one orchestration's history for tracing (one per runner)."""

    instance_id: str
    name: str = ""
    version: str | None = None
    execution_id: str = ""
    parent: pb.TraceContext | None = None
    _scheduled: dict[int, _Scheduled] = field(default_factory=dict)
    _timers: dict[int, int | None] = field(default_factory=dict)
    _facts: list[TaskFinished | TimerFired] = field(default_factory=list)

    def observe(self, kind: str, event: pb.HistoryEvent, replaying: bool) -> None:
        """Learn from one history event; events processed as new may produce a fact."""
        handler = _OBSERVERS.get(kind)
        if handler is not None:
            handler(self, event, replaying)

    def note_actions(self, actions: Sequence[pb.OrchestratorAction], now: datetime) -> None:
        """Remember what this episode schedules (and when, by the orchestration's clock).

        With history streaming a cached orchestration never sees the ``taskScheduled`` or
        ``timerCreated`` events of its own actions; the actions stand in for them.
        """
        now_ns = _epoch_ns(now)
        for action in actions:
            kind = action.WhichOneof("orchestratorActionType")
            if kind == "createTimer":
                self._timers.setdefault(action.id, now_ns)
            elif kind == "scheduleTask" and action.id not in self._scheduled:
                task = action.scheduleTask
                self._scheduled[action.id] = _Scheduled(
                    "activity", task.name, _version(task), self.instance_id, None, now_ns,
                    action)
            elif kind == "createSubOrchestration" and action.id not in self._scheduled:
                sub = action.createSubOrchestration
                self._scheduled[action.id] = _Scheduled(
                    "orchestration", sub.name, _version(sub), sub.instanceId, None, now_ns,
                    action)

    def record(self) -> TraceRecord:
        """Return this episode's facts (and forget them)."""
        facts, self._facts = tuple(self._facts), []
        return TraceRecord(self.name, self.version, self.execution_id, self.parent, facts)

    def _started(self, event: pb.HistoryEvent, replaying: bool) -> None:
        started = event.executionStarted
        self.name = started.name
        self.version = started.version.value if started.HasField("version") else None
        self.execution_id = started.orchestrationInstance.executionId.value
        if started.HasField("parentTraceContext") and started.parentTraceContext.traceParent:
            self.parent = started.parentTraceContext

    def _task_scheduled(self, event: pb.HistoryEvent, replaying: bool) -> None:
        scheduled = event.taskScheduled
        if scheduled.parentTraceContext.traceParent:
            self._scheduled[event.eventId] = _Scheduled(
                "activity", scheduled.name, _version(scheduled), self.instance_id,
                scheduled.parentTraceContext, _ns(event))

    def _sub_created(self, event: pb.HistoryEvent, replaying: bool) -> None:
        created = event.subOrchestrationInstanceCreated
        if created.parentTraceContext.traceParent:
            self._scheduled[event.eventId] = _Scheduled(
                "orchestration", created.name, _version(created), created.instanceId,
                created.parentTraceContext, _ns(event))

    def _timer_created(self, event: pb.HistoryEvent, replaying: bool) -> None:
        self._timers[event.eventId] = _ns(event)

    def _finished(self, task_id: int, event: pb.HistoryEvent, replaying: bool,
                  failure: str | None) -> None:
        scheduled = self._scheduled.pop(task_id, None)
        if scheduled is None or replaying:
            return
        context = scheduled.trace_context()
        if context is None:
            return
        self._facts.append(TaskFinished(
            scheduled.kind, scheduled.name, scheduled.version, scheduled.instance_id, task_id,
            context, scheduled.scheduled_ns, _ns(event), failure))

    def _task_completed(self, event: pb.HistoryEvent, replaying: bool) -> None:
        self._finished(event.taskCompleted.taskScheduledId, event, replaying, None)

    def _task_failed(self, event: pb.HistoryEvent, replaying: bool) -> None:
        failed = event.taskFailed
        self._finished(failed.taskScheduledId, event, replaying,
                       failed.failureDetails.errorMessage)

    def _sub_completed(self, event: pb.HistoryEvent, replaying: bool) -> None:
        self._finished(event.subOrchestrationInstanceCompleted.taskScheduledId, event,
                       replaying, None)

    def _sub_failed(self, event: pb.HistoryEvent, replaying: bool) -> None:
        failed = event.subOrchestrationInstanceFailed
        self._finished(failed.taskScheduledId, event, replaying,
                       failed.failureDetails.errorMessage)

    def _timer_fired(self, event: pb.HistoryEvent, replaying: bool) -> None:
        fired = event.timerFired
        created = self._timers.pop(fired.timerId, None)
        if replaying:
            return
        fire_at = fired.fireAt.ToDatetime() if fired.HasField("fireAt") else None
        self._facts.append(TimerFired(fired.timerId, fire_at, created))


_OBSERVERS = {
    "executionStarted": TraceJournal._started,
    "taskScheduled": TraceJournal._task_scheduled,
    "subOrchestrationInstanceCreated": TraceJournal._sub_created,
    "timerCreated": TraceJournal._timer_created,
    "taskCompleted": TraceJournal._task_completed,
    "taskFailed": TraceJournal._task_failed,
    "subOrchestrationInstanceCompleted": TraceJournal._sub_completed,
    "subOrchestrationInstanceFailed": TraceJournal._sub_failed,
    "timerFired": TraceJournal._timer_fired,
}
