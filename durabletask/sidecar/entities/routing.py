"""Orchestrator ``sendEntityMessage`` actions: their history events and entity messages (pure).

Each action is confirmed by the same event in the orchestration's history
(``eventId`` = action id, the payload as sent), and the message goes to the
target entity's inbox in the same commit:

* ``entityOperationSignaled``: to ``targetInstanceId``, delayed until ``scheduledTime``.
* ``entityOperationCalled``: to ``targetInstanceId``, with ``parentInstanceId`` and
  ``parentExecutionId`` set to the caller, so the result finds its way back.
* ``entityLockRequested``: to the first entity of the sorted, deduplicated lock set
  (``position`` 0); each entity forwards it to the next once it holds the lock.
* ``entityUnlockSent``: to ``targetInstanceId``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from google.protobuf import timestamp_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import validation
from durabletask.sidecar.clock import from_timestamp, to_timestamp
from durabletask.sidecar.entities.ids import EXPECTED_FORM, split_entity_id
from durabletask.sidecar.errors import InvalidRequestError
from durabletask.sidecar.store.entity_base import EntityMessage


class EntityActionError(ValueError):
    """A ``sendEntityMessage`` action the sidecar cannot route (the message says why)."""


def route_action(
    message: pb.SendEntityMessageAction,
    action_id: int,
    now: datetime,
    source_id: str,
    source_execution: str,
) -> tuple[pb.HistoryEvent, EntityMessage]:
    """Turn one ``sendEntityMessage`` action into its history event and entity message.

    Args:
        message: The action's payload.
        action_id: The action id (becomes the history event's ``eventId``).
        now: Commit time (the events' timestamp).
        source_id: The orchestration sending it.
        source_execution: Its current execution id.

    Returns:
        The history event, and the message for the target entity's inbox.

    Raises:
        EntityActionError: No message kind is set, or a target is not an entity id.
    """
    kind = message.WhichOneof("EntityMessageType")
    if kind is None:
        raise EntityActionError(f"sendEntityMessage action {action_id} has no message kind set")
    payload = getattr(message, kind)
    history = _event(now, action_id)
    getattr(history, kind).CopyFrom(payload)
    outgoing = _event(now)
    body = getattr(outgoing, kind)
    body.CopyFrom(payload)
    visible_at = None
    if kind == "entityLockRequested":
        lock_set = sorted(set(payload.lockSet))
        if not lock_set:
            raise EntityActionError(f"entityLockRequested action {action_id} has an empty lockSet")
        for member in lock_set:
            _check_target(member, action_id, kind)
        del body.lockSet[:]
        body.lockSet.extend(lock_set)
        body.position = 0
        body.parentInstanceId.value = source_id
        target = lock_set[0]
    else:
        target = _check_target(payload.targetInstanceId.value, action_id, kind)
        if kind == "entityOperationCalled":
            body.parentInstanceId.value = source_id
            body.parentExecutionId.value = source_execution
        elif kind == "entityUnlockSent":
            body.parentInstanceId.value = source_id
        elif payload.HasField("scheduledTime"):
            visible_at = _scheduled(payload.scheduledTime, action_id)
    return history, EntityMessage(
        target_id=target, event=outgoing, visible_at=visible_at,
        source_id=source_id, source_execution=source_execution,
    )


def release_held_locks(
    events: Iterable[pb.HistoryEvent], now: datetime, source_id: str, source_execution: str
) -> list[EntityMessage]:
    """Unlock messages for every lock an ending orchestration requested and never released.

    The SDK normally sends these itself when it leaves a critical section; this
    covers instances that end without doing so (terminated, failed by the sidecar,
    or a worker that does not unlock). An unlock for a lock never granted also
    cancels the request if it is still queued at that entity.

    Args:
        events: The execution's history, including this episode's events.
        now: Commit time.
        source_id: The orchestration.
        source_execution: Its execution id.

    Returns:
        One ``entityUnlockSent`` message per (critical section, entity) still open.
    """
    open_locks: dict[tuple[str, str], None] = {}
    for event in events:
        if event.HasField("entityLockRequested"):
            section = event.entityLockRequested.criticalSectionId
            for member in event.entityLockRequested.lockSet:
                open_locks[(section, member)] = None
        elif event.HasField("entityUnlockSent"):
            unlock = event.entityUnlockSent
            open_locks.pop((unlock.criticalSectionId, unlock.targetInstanceId.value), None)
    messages = []
    for section, member in open_locks:
        if split_entity_id(member) is None:
            continue
        event = _event(now)
        unlock = event.entityUnlockSent
        unlock.criticalSectionId = section
        unlock.parentInstanceId.value = source_id
        unlock.targetInstanceId.value = member
        messages.append(EntityMessage(
            target_id=member, event=event,
            source_id=source_id, source_execution=source_execution,
        ))
    return messages


def _scheduled(value: timestamp_pb2.Timestamp, action_id: int) -> datetime:
    try:
        return from_timestamp(validation.timestamp(value, "scheduledTime"))
    except InvalidRequestError as exc:
        raise EntityActionError(f"entityOperationSignaled action {action_id}: {exc}") from None


def _check_target(target: str, action_id: int, kind: str) -> str:
    if split_entity_id(target) is None:
        raise EntityActionError(
            f"{kind} action {action_id} targets {target!r}, which is not an entity id; "
            f"entity ids have the form {EXPECTED_FORM}"
        )
    return target


def _event(now: datetime, event_id: int = -1) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=event_id)
    event.timestamp.CopyFrom(to_timestamp(now))
    return event
