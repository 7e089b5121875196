"""Builders for the ``OrchestratorAction`` messages an orchestration episode returns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = [
    "new_complete_action",
    "new_create_sub_orchestration_action",
    "new_create_timer_action",
    "new_rewind_action",
    "new_schedule_task_action",
    "new_send_event_action",
]


def new_schedule_task_action(
    action_id: int,
    name: str,
    encoded_input: str | None,
    tags: Mapping[str, str] | None = None,
) -> pb.OrchestratorAction:
    """Return a ``scheduleTask`` action calling activity ``name``."""
    action = pb.OrchestratorAction(id=action_id)
    action.scheduleTask.name = name
    if encoded_input is not None:
        action.scheduleTask.input.value = encoded_input
    if tags:
        action.scheduleTask.tags.update(tags)
    return action


def new_create_timer_action(action_id: int, fire_at: datetime) -> pb.OrchestratorAction:
    """Return a ``createTimer`` action firing at ``fire_at`` (naive UTC)."""
    action = pb.OrchestratorAction(id=action_id)
    action.createTimer.fireAt.FromDatetime(fire_at)
    return action


def new_create_sub_orchestration_action(
    action_id: int,
    name: str,
    instance_id: str,
    encoded_input: str | None,
    version: str | None,
) -> pb.OrchestratorAction:
    """Return a ``createSubOrchestration`` action starting ``name`` as ``instance_id``."""
    action = pb.OrchestratorAction(id=action_id)
    create = action.createSubOrchestration
    create.name = name
    create.instanceId = instance_id
    if encoded_input is not None:
        create.input.value = encoded_input
    if version is not None:
        create.version.value = version
    return action


def new_send_event_action(
    action_id: int, instance_id: str, event_name: str, encoded_data: str | None
) -> pb.OrchestratorAction:
    """Return a ``sendEvent`` action raising ``event_name`` on ``instance_id``."""
    action = pb.OrchestratorAction(id=action_id)
    action.sendEvent.instance.instanceId = instance_id
    action.sendEvent.name = event_name
    if encoded_data is not None:
        action.sendEvent.data.value = encoded_data
    return action


def new_complete_action(
    action_id: int,
    status: pb.OrchestrationStatus,
    encoded_result: str | None = None,
    failure: pb.TaskFailureDetails | None = None,
    *,
    carryover_events: Iterable[pb.HistoryEvent] = (),
    new_version: str | None = None,
) -> pb.OrchestratorAction:
    """Return a ``completeOrchestration`` action with the given final status."""
    action = pb.OrchestratorAction(id=action_id)
    complete = action.completeOrchestration
    complete.orchestrationStatus = status
    if encoded_result is not None:
        complete.result.value = encoded_result
    if failure is not None:
        complete.failureDetails.CopyFrom(failure)
    complete.carryoverEvents.extend(carryover_events)
    if new_version is not None:
        complete.newVersion.value = new_version
    return action


def new_rewind_action(new_history: Iterable[pb.HistoryEvent]) -> pb.OrchestratorAction:
    """Return the ``rewindOrchestration`` action (id -1) replacing the history."""
    action = pb.OrchestratorAction(id=-1)
    action.rewindOrchestration.newHistory.extend(new_history)
    return action
