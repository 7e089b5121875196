"""One handler per history event type, dispatched through the ``HANDLERS`` table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from durabletask.internal.proto import orchestrator_service_pb2 as pb

if TYPE_CHECKING:
    from durabletask.internal.engine.runner import OrchestrationRunner

__all__ = ["BUFFERED_WHILE_SUSPENDED", "HANDLERS", "Handler"]

Handler = Callable[["OrchestrationRunner", pb.HistoryEvent], None]


def _on_orchestrator_started(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.advance_clock(event.timestamp)


def _on_execution_started(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.start(event)


def _on_execution_terminated(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    terminated = event.executionTerminated
    run.terminate(terminated.input.value if terminated.HasField("input") else None)


def _on_execution_suspended(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.suspend()


def _on_execution_resumed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.resume_execution()


def _on_action_confirmed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.confirm_action(event)


def _on_task_completed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    completed = event.taskCompleted
    result = completed.result.value if completed.HasField("result") else None
    run.context.complete_task(completed.taskScheduledId, result)


def _on_task_failed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.fail_task(event.taskFailed.taskScheduledId, event.taskFailed.failureDetails)


def _on_sub_orchestration_completed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    completed = event.subOrchestrationInstanceCompleted
    result = completed.result.value if completed.HasField("result") else None
    run.context.complete_task(completed.taskScheduledId, result)


def _on_sub_orchestration_failed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    failed = event.subOrchestrationInstanceFailed
    run.context.fail_task(failed.taskScheduledId, failed.failureDetails)


def _on_timer_fired(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    fired = event.timerFired
    fire_at = fired.fireAt
    fired_at = fire_at.ToDatetime() if (fire_at.seconds or fire_at.nanos) else None
    run.context.fire_timer(fired.timerId, fired_at)


def _on_event_raised(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.raise_event(event)


def _on_event_sent(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.confirm_event_sent(event)


def _on_entity_message_confirmed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.confirm_entity_message(event)


def _on_entity_unlock_sent(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.confirm_entity_unlock(event)


def _on_entity_operation_completed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    completed = event.entityOperationCompleted
    output = completed.output.value if completed.HasField("output") else None
    run.context.complete_entity_call(completed.requestId, output)


def _on_entity_operation_failed(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    failed = event.entityOperationFailed
    run.context.fail_entity_call(failed.requestId, failed.failureDetails)


def _on_entity_lock_granted(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    run.context.grant_entity_lock(event.entityLockGranted.criticalSectionId)


def _on_informational(run: OrchestrationRunner, event: pb.HistoryEvent) -> None:
    """Events that only record what happened (completion, snapshots, markers)."""


HANDLERS: dict[str, Handler] = {
    "orchestratorStarted": _on_orchestrator_started,
    "orchestratorCompleted": _on_informational,
    "executionStarted": _on_execution_started,
    "executionCompleted": _on_informational,
    "executionTerminated": _on_execution_terminated,
    "executionSuspended": _on_execution_suspended,
    "executionResumed": _on_execution_resumed,
    "executionRewound": _on_informational,
    "taskScheduled": _on_action_confirmed,
    "timerCreated": _on_action_confirmed,
    "subOrchestrationInstanceCreated": _on_action_confirmed,
    "eventSent": _on_event_sent,
    "taskCompleted": _on_task_completed,
    "taskFailed": _on_task_failed,
    "subOrchestrationInstanceCompleted": _on_sub_orchestration_completed,
    "subOrchestrationInstanceFailed": _on_sub_orchestration_failed,
    "timerFired": _on_timer_fired,
    "eventRaised": _on_event_raised,
    "genericEvent": _on_informational,
    "historyState": _on_informational,
    "continueAsNew": _on_informational,
    "entityOperationSignaled": _on_entity_message_confirmed,
    "entityOperationCalled": _on_entity_message_confirmed,
    "entityLockRequested": _on_entity_message_confirmed,
    "entityUnlockSent": _on_entity_unlock_sent,
    "entityOperationCompleted": _on_entity_operation_completed,
    "entityOperationFailed": _on_entity_operation_failed,
    "entityLockGranted": _on_entity_lock_granted,
}
"""History event kind (the ``eventType`` oneof name) -> its handler."""

BUFFERED_WHILE_SUSPENDED = frozenset({
    "taskCompleted",
    "taskFailed",
    "subOrchestrationInstanceCompleted",
    "subOrchestrationInstanceFailed",
    "timerFired",
    "eventRaised",
    "entityOperationCompleted",
    "entityOperationFailed",
    "entityLockGranted",
})
"""Events that drive the orchestrator, held back while it is suspended.

Clock events, action confirmations and resume/terminate are not buffered: confirmations
must match the actions made before the suspension, and the clock must not run backwards.
"""
