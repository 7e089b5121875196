"""Builders for the ``sendEntityMessage`` actions of orchestrations (the official shapes).

Every entity message is one ``OrchestratorAction`` whose ``sendEntityMessage`` holds the
very history event the sidecar records (``eventId`` = the action id):

* ``entityOperationCalled{requestId, operation, input?, parentInstanceId, targetInstanceId}``
* ``entityOperationSignaled{requestId, operation, input?, scheduledTime?, targetInstanceId}``
* ``entityLockRequested{criticalSectionId, lockSet (sorted, deduplicated), position=0,
  parentInstanceId}``
* ``entityUnlockSent{criticalSectionId, parentInstanceId, targetInstanceId}``, one per
  locked entity.

``requestId`` and ``criticalSectionId`` come from ``ctx.new_uuid()``, so they are the same
on every replay.
"""

from __future__ import annotations

from datetime import datetime

from durabletask.entities import EntityInstanceId
from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = [
    "new_call_entity_action",
    "new_lock_entities_action",
    "new_signal_entity_action",
    "new_unlock_entity_action",
]


def new_call_entity_action(
    action_id: int,
    parent_instance_id: str,
    entity: EntityInstanceId,
    operation: str,
    encoded_input: str | None,
    request_id: str,
) -> pb.OrchestratorAction:
    """Return the ``entityOperationCalled`` message of ``ctx.call_entity``."""
    action = pb.OrchestratorAction(id=action_id)
    called = action.sendEntityMessage.entityOperationCalled
    called.requestId = request_id
    called.operation = operation
    if encoded_input is not None:
        called.input.value = encoded_input
    called.parentInstanceId.value = parent_instance_id
    called.targetInstanceId.value = str(entity)
    return action


def new_signal_entity_action(
    action_id: int,
    entity: EntityInstanceId,
    operation: str,
    encoded_input: str | None,
    request_id: str,
    signal_time: datetime | None = None,
) -> pb.OrchestratorAction:
    """Return the ``entityOperationSignaled`` message of ``ctx.signal_entity``.

    A naive ``signal_time`` is UTC; an aware one is converted to UTC.
    """
    action = pb.OrchestratorAction(id=action_id)
    signaled = action.sendEntityMessage.entityOperationSignaled
    signaled.requestId = request_id
    signaled.operation = operation
    if signal_time is not None:
        signaled.scheduledTime.FromDatetime(signal_time)
    if encoded_input is not None:
        signaled.input.value = encoded_input
    signaled.targetInstanceId.value = str(entity)
    return action


def new_lock_entities_action(
    action_id: int, parent_instance_id: str, section_id: str, lock_set: list[str]
) -> pb.OrchestratorAction:
    """Return the ``entityLockRequested`` message of ``ctx.lock_entities``."""
    action = pb.OrchestratorAction(id=action_id)
    requested = action.sendEntityMessage.entityLockRequested
    requested.criticalSectionId = section_id
    requested.lockSet.extend(lock_set)
    requested.position = 0
    requested.parentInstanceId.value = parent_instance_id
    return action


def new_unlock_entity_action(
    action_id: int, parent_instance_id: str, section_id: str, entity: EntityInstanceId
) -> pb.OrchestratorAction:
    """Return the ``entityUnlockSent`` message releasing ``entity`` at the section's end."""
    action = pb.OrchestratorAction(id=action_id)
    unlock = action.sendEntityMessage.entityUnlockSent
    unlock.criticalSectionId = section_id
    unlock.parentInstanceId.value = parent_instance_id
    unlock.targetInstanceId.value = str(entity)
    return action
