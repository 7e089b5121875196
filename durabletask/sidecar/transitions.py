"""Pure state transitions: an episode's actions become history events and outbox effects."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.clock import from_timestamp, to_timestamp
from durabletask.sidecar.entities import routing
from durabletask.sidecar.store.base import (
    TERMINAL_STATUSES,
    EpisodeCommit,
    InboxRow,
    InstanceRecord,
    NewChild,
    OutboxMessage,
)
from durabletask.sidecar.store.entity_base import EntityMessage

logger = logging.getLogger("durabletask.sidecar")

_RUNNING = pb.ORCHESTRATION_STATUS_RUNNING
_SUSPENDED = pb.ORCHESTRATION_STATUS_SUSPENDED
_FAILED = pb.ORCHESTRATION_STATUS_FAILED
_TERMINATED = pb.ORCHESTRATION_STATUS_TERMINATED
_CONTINUED_AS_NEW = pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeContext:
    """The dispatched episode an ``OrchestratorResponse`` answers."""

    record: InstanceRecord
    """The instance as it was when dispatched."""
    past: Sequence[pb.HistoryEvent]
    """Committed history sent as ``pastEvents`` (read-only)."""
    new_events: Sequence[pb.HistoryEvent]
    """Events sent as ``newEvents``, starting with ``orchestratorStarted``."""
    consumed: tuple[int, ...]
    """Inbox sequence numbers of the delivered events."""
    now: datetime
    """Commit time."""
    max_history_size: int
    """Histories longer than this fail the instance."""
    replaces_history: bool = False
    """The committed history was sent as new events (see ``unseen_history``), so the
    commit replaces it instead of appending to it."""


class UnsupportedActionError(Exception):
    """The worker sent an action the embedded sidecar cannot carry out."""


def new_event(now: datetime, event_id: int = -1) -> pb.HistoryEvent:
    """Create an empty history event with a timestamp.

    Args:
        now: The event timestamp.
        event_id: The event id (-1 for messages and backend events).

    Returns:
        A ``HistoryEvent`` without a kind set.
    """
    event = pb.HistoryEvent(eventId=event_id)
    event.timestamp.CopyFrom(to_timestamp(now))
    return event


def wake_marker(now: datetime) -> pb.HistoryEvent:
    """An inbox row that only asks for another episode; never delivered to the worker."""
    event = new_event(now)
    event.orchestratorStarted.SetInParent()
    return event


def episode_events(now: datetime, rows: Iterable[InboxRow]) -> list[pb.HistoryEvent]:
    """Build ``newEvents``: ``orchestratorStarted(now)``, then the inbox events.

    ``executionStarted`` goes first among the inbox events (events raised
    before an instance existed arrive earlier in the inbox), and wake markers
    are dropped.

    Args:
        now: The episode time.
        rows: Visible inbox rows in arrival order.

    Returns:
        The non-empty list of new events.
    """
    started = wake_marker(now)
    starts = [r.event for r in rows if r.event.HasField("executionStarted")]
    others = [
        r.event
        for r in rows
        if not r.event.HasField("executionStarted") and not r.event.HasField("orchestratorStarted")
    ]
    return [started, *starts, *others]


def new_instance(
    now: datetime,
    *,
    instance_id: str,
    name: str,
    version: str | None,
    payload: str | None,
    tags: dict[str, str],
    scheduled: datetime | None,
    trace: pb.TraceContext | None,
) -> tuple[InstanceRecord, pb.HistoryEvent]:
    """Build a new instance's PENDING record and its ``executionStarted`` event.

    Returns:
        The record (with a new execution id) and the start event for its inbox.
    """
    execution_id = uuid.uuid4().hex
    record = InstanceRecord(
        instance_id=instance_id, execution_id=execution_id, name=name, version=version,
        input=payload, tags=tags, created_at=now, last_updated_at=now,
        scheduled_start_at=scheduled,
    )
    event = new_event(now)
    started = event.executionStarted
    started.name = name
    started.orchestrationInstance.instanceId = instance_id
    started.orchestrationInstance.executionId.value = execution_id
    started.tags.update(tags)
    if version is not None:
        started.version.value = version
    if payload is not None:
        started.input.value = payload
    if scheduled is not None:
        started.scheduledStartTimestamp.FromDatetime(scheduled)
    if trace is not None:
        started.parentTraceContext.CopyFrom(trace)
    return record, event


def unseen_history(history: Sequence[pb.HistoryEvent]) -> bool:
    """True when no episode has run on a non-empty committed history.

    That is the first episode after continue-as-new: the history holds the new
    execution's start and the carried-over events, which the worker must receive as
    new events (not replayed), followed by whatever arrived since, as in 1.12.0.
    """
    # Only continue-as-new writes a history that does not start with orchestratorStarted.
    return bool(history) and history[0].HasField("executionStarted")


def failure(error_type: str, message: str) -> pb.TaskFailureDetails:
    """Build failure details.

    Args:
        error_type: The error type name shown to users.
        message: What went wrong and what to do.

    Returns:
        The ``TaskFailureDetails``.
    """
    return pb.TaskFailureDetails(errorType=error_type, errorMessage=message, isNonRetriable=True)


def apply_response(
    ctx: EpisodeContext,
    actions: Sequence[pb.OrchestratorAction],
    custom_status: str | None = None,
    *,
    has_custom_status: bool = False,
    trace_context: pb.OrchestrationTraceContext | None = None,
) -> EpisodeCommit:
    """Turn a worker's answer to an episode into the commit that persists it.

    Args:
        ctx: The dispatched episode.
        actions: The worker's actions, in order.
        custom_status: The new custom status (used when ``has_custom_status``).
        has_custom_status: Whether the response carried a custom status.
        trace_context: Orchestration span info to keep, if sent.

    Returns:
        The commit. Unsupported actions and oversized histories yield a commit
        that fails the instance with a clear message instead.
    """
    builder = _Builder(ctx)
    if has_custom_status:
        builder.custom_status = custom_status
    if trace_context is not None:
        builder.trace_context = trace_context
    try:
        builder.apply(actions)
    except UnsupportedActionError as exc:
        return fail_episode(ctx, failure("UnsupportedAction", str(exc)))
    commit = builder.build()
    size = _history_size(ctx, commit)
    if size > ctx.max_history_size:
        message = (
            f"orchestration '{ctx.record.instance_id}' would have {size} history events, "
            f"over the sidecar limit max_history_size={ctx.max_history_size}; use "
            f"continue_as_new to keep histories short, or start the sidecar with a "
            f"larger max_history_size"
        )
        return fail_episode(ctx, failure("HistoryTooLarge", message))
    return commit


def fail_episode(ctx: EpisodeContext, details: pb.TaskFailureDetails) -> EpisodeCommit:
    """Commit an episode as a FAILED completion, without any worker actions.

    Used when the sidecar itself must fail an instance (lost workers,
    oversized work items or histories, unsupported actions).

    Args:
        ctx: The dispatched (or about to be dispatched) episode.
        details: Why the instance failed.

    Returns:
        The commit: new events consumed, ``executionCompleted(FAILED)`` appended.
    """
    action = pb.OrchestratorAction(id=-1)
    action.completeOrchestration.orchestrationStatus = _FAILED
    action.completeOrchestration.failureDetails.CopyFrom(details)
    builder = _Builder(ctx)
    builder.apply([action])
    return builder.build()


def children_of(history: Iterable[pb.HistoryEvent]) -> list[str]:
    """Return the sub-orchestration instance ids created in a history, in order."""
    return [
        e.subOrchestrationInstanceCreated.instanceId
        for e in history
        if e.HasField("subOrchestrationInstanceCreated")
    ]


def status_after_events(status: int, events: Iterable[pb.HistoryEvent]) -> int:
    """Status of a non-terminal instance after an episode processed ``events``.

    An instance is RUNNING after its first episode; the last suspend or
    resume event in the batch decides SUSPENDED.
    """
    if status not in (_RUNNING, _SUSPENDED):
        status = _RUNNING
    for event in events:
        if event.HasField("executionSuspended"):
            status = _SUSPENDED
        elif event.HasField("executionResumed"):
            status = _RUNNING
    return status


def _history_size(ctx: EpisodeContext, commit: EpisodeCommit) -> int:
    if commit.history_replace is not None:
        return len(commit.history_replace)
    return len(ctx.past) + len(commit.history_append)


@dataclass(slots=True)
class _Builder:
    """Accumulates one episode's history events and effects."""

    ctx: EpisodeContext
    events: list[pb.HistoryEvent] = field(default_factory=list)
    activities: list[pb.ActivityRequest] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    children: list[NewChild] = field(default_factory=list)
    entity_messages: list[EntityMessage] = field(default_factory=list)
    replace: list[pb.HistoryEvent] | None = None
    record: InstanceRecord | None = None
    custom_status: str | None = None
    trace_context: pb.OrchestrationTraceContext | None = None
    done: bool = False

    def __post_init__(self) -> None:
        rec = self.ctx.record
        self.record = dataclasses.replace(
            rec,
            status=status_after_events(rec.status, self.ctx.new_events),
            last_updated_at=self.ctx.now,
        )
        self.custom_status = rec.custom_status
        self.trace_context = rec.trace_context

    @property
    def rec(self) -> InstanceRecord:
        assert self.record is not None  # set in __post_init__
        return self.record

    def event(self, event_id: int) -> pb.HistoryEvent:
        ev = new_event(self.ctx.now, event_id)
        self.events.append(ev)
        return ev

    def apply(self, actions: Sequence[pb.OrchestratorAction]) -> None:
        for action in actions:
            kind = action.WhichOneof("orchestratorActionType")
            if self.done:
                logger.warning(
                    "instance %s: ignoring %s action %d sent after the completion action",
                    self.ctx.record.instance_id, kind, action.id,
                )
                continue
            handler = _HANDLERS.get(kind or "")
            if handler is None:
                raise UnsupportedActionError(
                    f"the embedded sidecar does not support the '{kind}' orchestrator action "
                    f"(action id {action.id})"
                )
            handler(self, action)

    def build(self) -> EpisodeCommit:
        record = dataclasses.replace(
            self.rec, custom_status=self.custom_status, trace_context=self.trace_context
        )
        history: list[pb.HistoryEvent] = []
        replace = self.replace
        if replace is None:
            end = new_event(self.ctx.now)
            end.orchestratorCompleted.SetInParent()
            history = [*self.ctx.new_events, *self.events, end]
            if self.ctx.replaces_history:
                replace, history = history, []
        return EpisodeCommit(
            instance_id=self.ctx.record.instance_id,
            expected_execution_id=self.ctx.record.execution_id,
            record=record,
            consumed=self.ctx.consumed,
            history_append=history,
            history_replace=replace,
            activities=self.activities,
            messages=self.messages,
            children=self.children,
            entity_messages=self.entity_messages,
        )

    def send(self, target: str, event: pb.HistoryEvent, at: datetime | None = None) -> None:
        self.messages.append(OutboxMessage(target_id=target, event=event, visible_at=at))


def _schedule_task(b: _Builder, action: pb.OrchestratorAction) -> None:
    a = action.scheduleTask
    ev = b.event(action.id)
    ev.taskScheduled.name = a.name
    ev.taskScheduled.tags.update(a.tags)
    request = pb.ActivityRequest(name=a.name, taskId=action.id)
    request.orchestrationInstance.instanceId = b.rec.instance_id
    request.orchestrationInstance.executionId.value = b.rec.execution_id
    request.tags.update(a.tags)
    for msg in (ev.taskScheduled, request):
        if a.HasField("version"):
            msg.version.CopyFrom(a.version)
        if a.HasField("input"):
            msg.input.CopyFrom(a.input)
        if a.HasField("parentTraceContext"):
            msg.parentTraceContext.CopyFrom(a.parentTraceContext)
    b.activities.append(request)


def _create_timer(b: _Builder, action: pb.OrchestratorAction) -> None:
    fire_at = action.createTimer.fireAt
    b.event(action.id).timerCreated.fireAt.CopyFrom(fire_at)
    fired = new_event(b.ctx.now)
    fired.timerFired.timerId = action.id
    fired.timerFired.fireAt.CopyFrom(fire_at)
    b.send(b.rec.instance_id, fired, from_timestamp(fire_at))


def _create_sub_orchestration(b: _Builder, action: pb.OrchestratorAction) -> None:
    a = action.createSubOrchestration
    child_id = a.instanceId or f"{b.rec.instance_id}:{action.id:04x}"
    created = b.event(action.id).subOrchestrationInstanceCreated
    created.instanceId = child_id
    created.name = a.name
    created.tags.update(a.tags)
    start = new_event(b.ctx.now)
    started = start.executionStarted
    started.name = a.name
    started.tags.update(a.tags)
    execution_id = uuid.uuid4().hex
    started.orchestrationInstance.instanceId = child_id
    started.orchestrationInstance.executionId.value = execution_id
    parent = started.parentInstance
    parent.taskScheduledId = action.id
    parent.name.value = b.rec.name
    if b.rec.version is not None:
        parent.version.value = b.rec.version
    parent.orchestrationInstance.instanceId = b.rec.instance_id
    parent.orchestrationInstance.executionId.value = b.rec.execution_id
    for msg in (created, started):
        if a.HasField("version"):
            msg.version.CopyFrom(a.version)
        if a.HasField("input"):
            msg.input.CopyFrom(a.input)
        if a.HasField("parentTraceContext"):
            msg.parentTraceContext.CopyFrom(a.parentTraceContext)
    child = InstanceRecord(
        instance_id=child_id,
        execution_id=execution_id,
        name=a.name,
        version=a.version.value if a.HasField("version") else None,
        input=a.input.value if a.HasField("input") else None,
        tags=dict(a.tags),
        parent_instance_id=b.rec.instance_id,
        parent_task_id=action.id,
        created_at=b.ctx.now,
        last_updated_at=b.ctx.now,
    )
    failed = new_event(b.ctx.now)
    failed.subOrchestrationInstanceFailed.taskScheduledId = action.id
    failed.subOrchestrationInstanceFailed.failureDetails.CopyFrom(
        failure(
            "InstanceAlreadyExists",
            f"cannot start sub-orchestration '{child_id}': an instance with that id is "
            f"already running; use a unique instance id",
        )
    )
    b.children.append(NewChild(record=child, start_event=start, failed_event=failed))


def _send_event(b: _Builder, action: pb.OrchestratorAction) -> None:
    a = action.sendEvent
    sent = b.event(action.id).eventSent
    sent.instanceId = a.instance.instanceId
    sent.name = a.name
    raised = new_event(b.ctx.now)
    raised.eventRaised.name = a.name
    if a.HasField("data"):
        sent.input.CopyFrom(a.data)
        raised.eventRaised.input.CopyFrom(a.data)
    b.send(a.instance.instanceId, raised)


def _send_entity_message(b: _Builder, action: pb.OrchestratorAction) -> None:
    try:
        event, message = routing.route_action(
            action.sendEntityMessage, action.id, b.ctx.now, b.rec.instance_id, b.rec.execution_id
        )
    except routing.EntityActionError as exc:
        raise UnsupportedActionError(str(exc)) from None
    b.events.append(event)
    b.entity_messages.append(message)


def _release_entity_locks(b: _Builder) -> None:
    """An execution that ends (or continues as new) gives back the locks it still holds."""
    b.entity_messages.extend(routing.release_held_locks(
        [*b.ctx.past, *b.ctx.new_events, *b.events], b.ctx.now,
        b.rec.instance_id, b.rec.execution_id,
    ))


def _terminate_other(b: _Builder, action: pb.OrchestratorAction) -> None:
    a = action.terminateOrchestration
    ev = new_event(b.ctx.now)
    ev.executionTerminated.recurse = a.recurse
    if a.HasField("reason"):
        ev.executionTerminated.input.CopyFrom(a.reason)
    b.send(a.instanceId, ev)


def _rewind(b: _Builder, action: pb.OrchestratorAction) -> None:
    history = _without_failed_children(b.ctx.past, action.rewindOrchestration.newHistory)
    execution_id = b.rec.execution_id
    for ev in history:
        if ev.HasField("executionStarted"):
            execution_id = ev.executionStarted.orchestrationInstance.executionId.value
            break
    b.replace = history
    b.record = dataclasses.replace(b.rec, status=_RUNNING, execution_id=execution_id or "")
    b.send(b.rec.instance_id, wake_marker(b.ctx.now))
    b.done = True


def _without_failed_children(
    past: Sequence[pb.HistoryEvent], new_history: Sequence[pb.HistoryEvent]
) -> list[pb.HistoryEvent]:
    """Drop the creation of sub-orchestrations that failed from a rewound history.

    The official worker keeps those ``subOrchestrationInstanceCreated`` events (its own
    in-memory backend then rewinds each failed child); without them the replay creates
    the child again under the same id, which this sidecar allows over a failed or
    purged instance. Histories from our worker have them dropped already.
    """
    latest: dict[int, pb.HistoryEvent] = {}  # task id -> its latest creation
    failed: set[bytes] = set()
    for e in past:
        if e.HasField("subOrchestrationInstanceCreated"):
            latest[e.eventId] = e
        elif e.HasField("subOrchestrationInstanceFailed"):
            created = latest.pop(e.subOrchestrationInstanceFailed.taskScheduledId, None)
            if created is not None:  # only this attempt failed; a retry may have succeeded
                failed.add(created.SerializeToString(deterministic=True))
    return [
        e for e in new_history
        if not (e.HasField("subOrchestrationInstanceCreated")
                and e.SerializeToString(deterministic=True) in failed)
    ]


def _complete(b: _Builder, action: pb.OrchestratorAction) -> None:
    a = action.completeOrchestration
    b.done = True
    _release_entity_locks(b)
    if a.orchestrationStatus == _CONTINUED_AS_NEW:
        _continue_as_new(b, a)
        return
    status = a.orchestrationStatus if a.orchestrationStatus in TERMINAL_STATUSES else _FAILED
    done = b.event(action.id).executionCompleted
    done.orchestrationStatus = status
    if a.HasField("result"):
        done.result.CopyFrom(a.result)
    if a.HasField("failureDetails"):
        done.failureDetails.CopyFrom(a.failureDetails)
    b.record = dataclasses.replace(
        b.rec,
        status=status,
        output=a.result.value if a.HasField("result") else None,
        failure=done.failureDetails if done.HasField("failureDetails") else None,
        completed_at=b.ctx.now,
    )
    _notify_parent(b, done)
    _terminate_children(b)


def _notify_parent(b: _Builder, done: pb.ExecutionCompletedEvent) -> None:
    rec = b.rec
    if rec.parent_instance_id is None or rec.parent_task_id is None:
        return
    ev = new_event(b.ctx.now)
    if rec.status == pb.ORCHESTRATION_STATUS_COMPLETED:
        ev.subOrchestrationInstanceCompleted.taskScheduledId = rec.parent_task_id
        if done.HasField("result"):
            ev.subOrchestrationInstanceCompleted.result.CopyFrom(done.result)
    else:
        failed = ev.subOrchestrationInstanceFailed
        failed.taskScheduledId = rec.parent_task_id
        if done.HasField("failureDetails"):
            failed.failureDetails.CopyFrom(done.failureDetails)
        else:
            reason = f": {done.result.value}" if done.HasField("result") else ""
            failed.failureDetails.CopyFrom(
                failure(
                    "OrchestrationTerminated",
                    f"sub-orchestration '{rec.instance_id}' was terminated{reason}",
                )
            )
    b.send(rec.parent_instance_id, ev)


def _terminate_children(b: _Builder) -> None:
    recurse = [
        e.executionTerminated
        for e in b.ctx.new_events
        if e.HasField("executionTerminated") and e.executionTerminated.recurse
    ]
    if not recurse or b.rec.status != _TERMINATED:
        return
    for child_id in children_of([*b.ctx.past, *b.events]):
        ev = new_event(b.ctx.now)
        ev.executionTerminated.CopyFrom(recurse[0])
        b.send(child_id, ev)


def _continue_as_new(b: _Builder, a: pb.CompleteOrchestrationAction) -> None:
    original = _execution_started(b.ctx)
    started_event = new_event(b.ctx.now)
    started = started_event.executionStarted
    if original is not None:
        started.CopyFrom(original)
        started.ClearField("scheduledStartTimestamp")
    started.name = b.rec.name
    started.ClearField("input")
    if a.HasField("result"):
        started.input.CopyFrom(a.result)
    version = a.newVersion.value if a.HasField("newVersion") else b.rec.version
    started.ClearField("version")
    if version is not None:
        started.version.value = version
    started.tags.update(a.tags)
    execution_id = uuid.uuid4().hex
    started.orchestrationInstance.instanceId = b.rec.instance_id
    started.orchestrationInstance.executionId.value = execution_id
    b.replace = [started_event, *a.carryoverEvents]  # sent as new events: unseen_history
    b.trace_context = None  # the new execution gets an orchestration span of its own
    b.record = dataclasses.replace(
        b.rec,
        status=_RUNNING,
        execution_id=execution_id,
        input=a.result.value if a.HasField("result") else None,
        version=version,
        tags=dict(started.tags),
        output=None,
        failure=None,
    )
    b.send(b.rec.instance_id, wake_marker(b.ctx.now))


def _execution_started(ctx: EpisodeContext) -> pb.ExecutionStartedEvent | None:
    for events in (ctx.past, ctx.new_events):
        for ev in events:
            if ev.HasField("executionStarted"):
                return ev.executionStarted
    return None


_HANDLERS: dict[str, Callable[[_Builder, pb.OrchestratorAction], None]] = {
    "scheduleTask": _schedule_task,
    "createTimer": _create_timer,
    "createSubOrchestration": _create_sub_orchestration,
    "sendEvent": _send_event,
    "sendEntityMessage": _send_entity_message,
    "completeOrchestration": _complete,
    "terminateOrchestration": _terminate_other,
    "rewindOrchestration": _rewind,
}
