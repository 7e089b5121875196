"""Offline replay of a whole recorded history that reports every divergence, not the first.

The worker fails an orchestration at the first ``NonDeterminismError``. An audit instead
records the divergence and carries on (the code's task under that id takes the recorded
result), so one run lists every place where the code no longer does what the history
records: a renamed, added or removed step, a changed timer, a different outcome. The first
divergence is the cause; later ones may follow from it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from durabletask.internal.engine.executor import OrchestrationExecutor
from durabletask.internal.engine.nondeterminism import (
    ACTION_KIND_OF_EVENT,
    describe_action,
    describe_event,
)
from durabletask.internal.engine.registry import OrchestratorNotRegisteredError
from durabletask.internal.engine.runner import OrchestrationRunner
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import NonDeterminismError, OrchestrationStateError

__all__ = ["Audit", "Mismatch", "audit_history"]


@dataclass(frozen=True)
class Mismatch:
    """One place where the orchestrator code diverges from a recorded history.

    Attributes:
        index: Position of the event in the history (0-based).
        event_id: The event's ``event_id``: the action id for scheduling events, -1 for
            most others.
        event_type: The event kind, e.g. ``taskScheduled``.
        history: What the history records there.
        code: What the orchestrator code did instead.
    """

    index: int
    event_id: int
    event_type: str
    history: str
    code: str

    def __str__(self) -> str:
        # Only scheduling events carry a meaningful event_id (the action id); others have -1.
        where = f"event {self.index} ({self.event_type}"
        if self.event_id >= 0:
            where += f", event_id {self.event_id}"
        return f"{where}): the history has {self.history}; the code {self.code}"


@dataclass(frozen=True)
class Audit:
    """The outcome of auditing one history.

    Attributes:
        instance_id: The instance id recorded in ``executionStarted``.
        orchestrator: The orchestrator name recorded in ``executionStarted``.
        mismatches: Every divergence, in history order.
    """

    instance_id: str
    orchestrator: str
    mismatches: list[Mismatch]


def audit_history(
    executor: OrchestrationExecutor, events: Sequence[pb.HistoryEvent]
) -> Audit:
    """Replay ``events`` (one execution, oldest first) and list every divergence.

    Raises:
        OrchestrationStateError: The history has no ``executionStarted`` event.
        OrchestratorNotRegisteredError: The recorded orchestrator is not registered.
    """
    started = _execution_started(events)
    runner = executor.new_runner(started.orchestrationInstance.instanceId or "replay")
    runner.context.set_replaying(True)
    found: list[Mismatch] = []
    made_up_to: list[int] = []  # the last action id made once event i was processed
    completed_at: int | None = None
    for index, event in enumerate(events):
        found.extend(_feed(runner, index, event))
        made_up_to.append(runner.context.last_action_id)
        if completed_at is None and runner.completion is not None:
            completed_at = index
    found.extend(_unrecorded_actions(runner, events, made_up_to))
    found.extend(_outcome_mismatch(runner, events, completed_at))
    return Audit(started.orchestrationInstance.instanceId, started.name,
                 sorted(found, key=lambda m: m.index))


def _execution_started(events: Sequence[pb.HistoryEvent]) -> pb.ExecutionStartedEvent:
    for event in events:
        if event.HasField("executionStarted"):
            return event.executionStarted
    raise OrchestrationStateError(
        "The history has no executionStarted event, so it cannot be replayed; record the "
        "whole history of one execution (durabletask history ID --json)."
    )


def _feed(runner: OrchestrationRunner, index: int, event: pb.HistoryEvent) -> list[Mismatch]:
    kind = event.WhichOneof("eventType") or ""
    peeked = runner.context.pending_action(event.eventId) if kind in ACTION_KIND_OF_EVENT else None
    found = _timer_mismatch(index, event, peeked)
    try:
        runner.process_event(event)
    except OrchestratorNotRegisteredError:
        raise
    except NonDeterminismError:
        actual = ("made no action with that id" if peeked is None
                  else f"made {_with_fire_time(describe_action(peeked), peeked)}")
        found.append(Mismatch(index, event.eventId, kind, _describe_event(event), actual))
    except (ValueError, TypeError) as exc:  # a history the engine cannot apply at all
        found.append(Mismatch(index, event.eventId, kind, _describe_event(event),
                              f"could not apply it: {type(exc).__name__}: {exc}"))
    return found


def _timer_mismatch(
    index: int, event: pb.HistoryEvent, action: pb.OrchestratorAction | None
) -> list[Mismatch]:
    # The runtime does not compare fire times (as 1.12.0), but running instances keep the
    # recorded time, and a lengthened timer is extended by a timer the history lacks.
    if action is None or not event.HasField("timerCreated") or not action.HasField(
            "createTimer"):
        return []
    if action.createTimer.fireAt == event.timerCreated.fireAt:
        return []
    return [Mismatch(index, event.eventId, "timerCreated", _describe_event(event),
                     f"made {_with_fire_time(describe_action(action), action)}")]


def _unrecorded_actions(
    runner: OrchestrationRunner, events: Sequence[pb.HistoryEvent], made_up_to: list[int]
) -> list[Mismatch]:
    found = []
    for action in runner.context.pending_actions():
        # The action was made while the first event whose count reaches its id was applied.
        index = min(bisect.bisect_left(made_up_to, action.id), len(events) - 1)
        event = events[index]
        found.append(Mismatch(
            index, event.eventId, event.WhichOneof("eventType") or "",
            f"no action with id {action.id}",
            f"then made {_with_fire_time(describe_action(action), action)}",
        ))
    return found


def _outcome_mismatch(
    runner: OrchestrationRunner, events: Sequence[pb.HistoryEvent], completed_at: int | None
) -> list[Mismatch]:
    recorded = _recorded_outcome(events)
    completion = runner.completion
    if recorded is None and completion is None:
        return []
    if recorded is None:
        assert completion is not None
        assert completed_at is not None
        event = events[completed_at]
        return [Mismatch(completed_at, event.eventId, event.WhichOneof("eventType") or "",
                         "an orchestration that is still running after its last event",
                         f"finished here: {_describe_completion(completion)}")]
    index, status = recorded
    event = events[index]
    kind = event.WhichOneof("eventType") or ""
    if completion is None:
        return [Mismatch(index, event.eventId, kind, f"the orchestration {_status(status)}",
                         "is still waiting for a task the history never completes")]
    code_status = completion.completeOrchestration.orchestrationStatus
    if code_status == status:
        return []
    return [Mismatch(index, event.eventId, kind, f"the orchestration {_status(status)}",
                     _describe_completion(completion))]


def _recorded_outcome(events: Sequence[pb.HistoryEvent]) -> tuple[int, int] | None:
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.HasField("executionCompleted"):
            return index, event.executionCompleted.orchestrationStatus
        if event.HasField("executionTerminated"):
            return index, pb.ORCHESTRATION_STATUS_TERMINATED
    return None


def _status(status: int) -> str:
    full_name: str = pb.OrchestrationStatus.Name(status)
    name = full_name.removeprefix("ORCHESTRATION_STATUS_")
    return name.lower().replace("_", " ")


def _describe_completion(completion: pb.OrchestratorAction) -> str:
    complete = completion.completeOrchestration
    text = _status(complete.orchestrationStatus)
    if complete.HasField("failureDetails"):
        failure = complete.failureDetails
        text += f" ({failure.errorType}: {failure.errorMessage.splitlines()[0][:300]})"
    return text


def _describe_event(event: pb.HistoryEvent) -> str:
    text = describe_event(event)
    if event.HasField("timerCreated"):
        return f"{text[:-1]}, fires at {_iso(event.timerCreated.fireAt)})"
    return text


def _with_fire_time(text: str, action: pb.OrchestratorAction) -> str:
    if action.HasField("createTimer"):
        return f"{text[:-1]}, fires at {_iso(action.createTimer.fireAt)})"
    return text


def _iso(timestamp: Timestamp) -> str:
    value: datetime = timestamp.ToDatetime()
    return value.isoformat() + "Z"
