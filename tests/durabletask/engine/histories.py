"""History-event builders and small drivers for pure engine tests (no gRPC)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from durabletask.internal.engine import ExecutionResults, OrchestrationExecutor, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb

T0 = datetime(2024, 1, 1, 12, 0, 0)
INSTANCE_ID = "abc123"


def _event(timestamp: datetime | None = None, event_id: int = -1) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=event_id)
    if timestamp is not None:
        event.timestamp.FromDatetime(timestamp)
    return event


def _encode(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def orchestrator_started(timestamp: datetime | None = T0) -> pb.HistoryEvent:
    event = _event(timestamp)
    event.orchestratorStarted.SetInParent()
    return event


def orchestrator_completed() -> pb.HistoryEvent:
    event = _event()
    event.orchestratorCompleted.SetInParent()
    return event


def execution_started(
    name: str,
    input: Any = None,
    *,
    instance_id: str = INSTANCE_ID,
    version: str | None = None,
    parent_instance_id: str | None = None,
    execution_id: str = "exec-1",
) -> pb.HistoryEvent:
    event = _event()
    started = event.executionStarted
    started.name = name
    started.orchestrationInstance.instanceId = instance_id
    started.orchestrationInstance.executionId.value = execution_id
    if input is not None:
        started.input.value = _encode(input) or ""
    if version is not None:
        started.version.value = version
    if parent_instance_id is not None:
        started.parentInstance.taskScheduledId = 1
        started.parentInstance.orchestrationInstance.instanceId = parent_instance_id
    return event


def execution_completed(status: int = pb.ORCHESTRATION_STATUS_FAILED) -> pb.HistoryEvent:
    event = _event()
    event.executionCompleted.orchestrationStatus = status  # type: ignore[assignment]
    return event


def task_scheduled(task_id: int, name: str, input: Any = None) -> pb.HistoryEvent:
    event = _event(event_id=task_id)
    event.taskScheduled.name = name
    if input is not None:
        event.taskScheduled.input.value = _encode(input) or ""
    return event


def task_completed(task_id: int, result: Any = None) -> pb.HistoryEvent:
    event = _event()
    event.taskCompleted.taskScheduledId = task_id
    if result is not None:
        event.taskCompleted.result.value = _encode(result) or ""
    return event


def failure(message: str, error_type: str = "builtins.ValueError") -> pb.TaskFailureDetails:
    return pb.TaskFailureDetails(errorType=error_type, errorMessage=message)


def task_failed(task_id: int, message: str = "boom") -> pb.HistoryEvent:
    event = _event()
    event.taskFailed.taskScheduledId = task_id
    event.taskFailed.failureDetails.CopyFrom(failure(message))
    return event


def timer_created(timer_id: int, fire_at: datetime) -> pb.HistoryEvent:
    event = _event(event_id=timer_id)
    event.timerCreated.fireAt.FromDatetime(fire_at)
    return event


def timer_fired(timer_id: int, fire_at: datetime) -> pb.HistoryEvent:
    event = _event()
    event.timerFired.timerId = timer_id
    event.timerFired.fireAt.FromDatetime(fire_at)
    return event


def sub_orchestration_created(
    task_id: int, name: str, instance_id: str, input: Any = None
) -> pb.HistoryEvent:
    event = _event(event_id=task_id)
    created = event.subOrchestrationInstanceCreated
    created.name = name
    created.instanceId = instance_id
    if input is not None:
        created.input.value = _encode(input) or ""
    return event


def sub_orchestration_completed(task_id: int, result: Any = None) -> pb.HistoryEvent:
    event = _event()
    event.subOrchestrationInstanceCompleted.taskScheduledId = task_id
    if result is not None:
        event.subOrchestrationInstanceCompleted.result.value = _encode(result) or ""
    return event


def sub_orchestration_failed(task_id: int, message: str = "child failed") -> pb.HistoryEvent:
    event = _event()
    event.subOrchestrationInstanceFailed.taskScheduledId = task_id
    event.subOrchestrationInstanceFailed.failureDetails.CopyFrom(failure(message))
    return event


def event_raised(name: str, data: Any = None) -> pb.HistoryEvent:
    event = _event()
    event.eventRaised.name = name
    if data is not None:
        event.eventRaised.input.value = _encode(data) or ""
    return event


def event_sent(task_id: int, instance_id: str, name: str, data: Any = None) -> pb.HistoryEvent:
    event = _event(event_id=task_id)
    event.eventSent.instanceId = instance_id
    event.eventSent.name = name
    if data is not None:
        event.eventSent.input.value = _encode(data) or ""
    return event


def execution_suspended() -> pb.HistoryEvent:
    event = _event()
    event.executionSuspended.SetInParent()
    return event


def execution_resumed() -> pb.HistoryEvent:
    event = _event()
    event.executionResumed.SetInParent()
    return event


def execution_terminated(output: Any = None) -> pb.HistoryEvent:
    event = _event()
    event.executionTerminated.SetInParent()
    if output is not None:
        event.executionTerminated.input.value = _encode(output) or ""
    return event


def execution_rewound(reason: str = "retry it") -> pb.HistoryEvent:
    event = _event()
    event.executionRewound.reason.value = reason
    return event


def confirmations(actions: Iterable[pb.OrchestratorAction]) -> list[pb.HistoryEvent]:
    """Return the history events a sidecar writes for accepted actions."""
    events: list[pb.HistoryEvent] = []
    for action in actions:
        kind = action.WhichOneof("orchestratorActionType")
        event = _event(event_id=action.id)
        if kind == "scheduleTask":
            event.taskScheduled.name = action.scheduleTask.name
            event.taskScheduled.input.CopyFrom(action.scheduleTask.input)
        elif kind == "createTimer":
            event.timerCreated.fireAt.CopyFrom(action.createTimer.fireAt)
        elif kind == "createSubOrchestration":
            create = action.createSubOrchestration
            event.subOrchestrationInstanceCreated.name = create.name
            event.subOrchestrationInstanceCreated.instanceId = create.instanceId
        elif kind == "sendEvent":
            event.eventSent.instanceId = action.sendEvent.instance.instanceId
            event.eventSent.name = action.sendEvent.name
        else:
            continue
        events.append(event)
    return events


def new_executor(
    orchestrators: Sequence[Callable[..., Any]] = (),
    activities: Sequence[Callable[..., Any]] = (),
    **options: Any,
) -> OrchestrationExecutor:
    registry = Registry()
    for fn in orchestrators:
        registry.add_orchestrator(fn)
    for fn in activities:
        registry.add_activity(fn)
    return OrchestrationExecutor(registry, **options)


class Episodes:
    """Plays a simple sidecar: keeps the history and confirms each episode's actions."""

    def __init__(self, executor: OrchestrationExecutor, instance_id: str = INSTANCE_ID) -> None:
        self.executor = executor
        self.instance_id = instance_id
        self.history: list[pb.HistoryEvent] = []
        self.last: ExecutionResults | None = None

    def run(self, *new_events: pb.HistoryEvent, at: datetime = T0) -> ExecutionResults:
        new = [orchestrator_started(at), *new_events]
        results = self.executor.execute(self.instance_id, list(self.history), new)
        self.history.extend(new)
        self.history.extend(confirmations(results.actions))
        self.history.append(orchestrator_completed())
        self.last = results
        return results


def kinds(results: ExecutionResults) -> list[str]:
    return [a.WhichOneof("orchestratorActionType") or "" for a in results.actions]


def completion(results: ExecutionResults) -> pb.CompleteOrchestrationAction:
    last = results.actions[-1]
    assert last.HasField("completeOrchestration"), f"not complete: {results.actions}"
    return last.completeOrchestration


def output_of(results: ExecutionResults) -> Any:
    complete = completion(results)
    assert complete.orchestrationStatus == pb.ORCHESTRATION_STATUS_COMPLETED, complete
    return json.loads(complete.result.value) if complete.HasField("result") else None


def failure_of(results: ExecutionResults) -> pb.TaskFailureDetails:
    complete = completion(results)
    assert complete.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED, complete
    return complete.failureDetails


def after(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
