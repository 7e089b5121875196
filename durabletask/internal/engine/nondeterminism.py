"""Detects replay mismatches between history and orchestrator code, and explains them."""

from __future__ import annotations

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import NonDeterminismError

__all__ = [
    "ACTION_KIND_OF_EVENT",
    "check_action_matches",
    "describe_action",
    "describe_event",
    "wrong_action_error",
]

ACTION_KIND_OF_EVENT: dict[str, str] = {
    "taskScheduled": "scheduleTask",
    "timerCreated": "createTimer",
    "subOrchestrationInstanceCreated": "createSubOrchestration",
    "eventSent": "sendEvent",
    "entityOperationSignaled": "sendEntityMessage",
    "entityOperationCalled": "sendEntityMessage",
    "entityLockRequested": "sendEntityMessage",
    "entityUnlockSent": "sendEntityMessage",
}
"""History event kind -> the action kind whose confirmation it is."""

# An entity message action holds the very event its confirmation records.
_API_OF_ENTITY_MESSAGE = {
    "entityOperationSignaled": "signal_entity",
    "entityOperationCalled": "call_entity",
    "entityLockRequested": "lock_entities",
    "entityUnlockSent": "critical section exit",
}

_API_OF_ACTION = {
    "scheduleTask": "call_activity",
    "createTimer": "create_timer",
    "createSubOrchestration": "call_sub_orchestrator",
    "sendEvent": "send_event",
    "completeOrchestration": "completion",
    "sendEntityMessage": "entity operation",
}

_HINT = (
    " Orchestrator code must make the same calls in the same order on every replay: "
    "avoid branching on wall-clock time, random values or I/O, and ship incompatible "
    "changes under a new orchestrator name or version."
)


def _entity_target(message: pb.SendEntityMessageAction | pb.HistoryEvent, kind: str) -> str:
    if kind in ("entityOperationSignaled", "entityOperationCalled"):
        operation = getattr(message, kind)
        return f"{operation.operation} on {operation.targetInstanceId.value}"
    if kind == "entityLockRequested":
        return ", ".join(message.entityLockRequested.lockSet)
    return ""


def _event_target(event: pb.HistoryEvent, kind: str) -> str:
    if kind in _API_OF_ENTITY_MESSAGE:
        return _entity_target(event, kind)
    if kind == "taskScheduled":
        return event.taskScheduled.name
    if kind == "subOrchestrationInstanceCreated":
        return event.subOrchestrationInstanceCreated.name
    if kind == "eventSent":
        return event.eventSent.name
    return ""


def _action_target(action: pb.OrchestratorAction, kind: str) -> str:
    if kind == "sendEntityMessage":
        message = action.sendEntityMessage
        return _entity_target(message, message.WhichOneof("EntityMessageType") or "")
    if kind == "scheduleTask":
        return action.scheduleTask.name
    if kind == "createSubOrchestration":
        return action.createSubOrchestration.name
    if kind == "sendEvent":
        return action.sendEvent.name
    return ""


def _describe(kind: str, target: str, action_id: int) -> str:
    api = _API_OF_ENTITY_MESSAGE.get(kind) or _API_OF_ACTION.get(kind, kind)
    named = f" '{target}'" if target else ""
    return f"{api}{named} ({kind}, id {action_id})"


def describe_event(event: pb.HistoryEvent) -> str:
    """Describe the action a history event confirms, e.g. ``call_activity 'a' (..., id 1)``."""
    kind = event.WhichOneof("eventType") or ""
    if kind in _API_OF_ENTITY_MESSAGE:
        return _describe(kind, _event_target(event, kind), event.eventId)
    action_kind = ACTION_KIND_OF_EVENT.get(kind, kind)
    return _describe(action_kind, _event_target(event, kind), event.eventId)


def describe_action(action: pb.OrchestratorAction) -> str:
    """Describe an action, e.g. ``create_timer (createTimer, id 2)``."""
    kind = action.WhichOneof("orchestratorActionType") or ""
    if kind == "sendEntityMessage":
        message_kind = action.sendEntityMessage.WhichOneof("EntityMessageType") or kind
        return _describe(message_kind, _action_target(action, kind), action.id)
    return _describe(kind, _action_target(action, kind), action.id)


def _kind_matches(event_kind: str, action: pb.OrchestratorAction) -> bool:
    action_kind = action.WhichOneof("orchestratorActionType") or ""
    if ACTION_KIND_OF_EVENT.get(event_kind) != action_kind:
        return False
    if action_kind != "sendEntityMessage":
        return True
    entity_kind: str | None = action.sendEntityMessage.WhichOneof("EntityMessageType")
    return entity_kind == event_kind


def wrong_action_error(
    event: pb.HistoryEvent, action: pb.OrchestratorAction
) -> NonDeterminismError:
    """Return the error for history ``event`` confirming a different ``action``."""
    return NonDeterminismError(
        f"Non-deterministic orchestration: the history expects {describe_event(event)}, but "
        f"the orchestrator code produced {describe_action(action)}." + _HINT
    )


def check_action_matches(event: pb.HistoryEvent, action: pb.OrchestratorAction | None) -> None:
    """Check that ``action`` (from code) is what history ``event`` records.

    Raises:
        NonDeterminismError: The action is missing, of another kind, or names another
            target; the message names the expected and the actual action.
    """
    kind = event.WhichOneof("eventType") or ""
    expected = describe_event(event)
    if action is None:
        raise NonDeterminismError(
            f"Non-deterministic orchestration: the history expects {expected}, but the "
            f"orchestrator code produced no action with id {event.eventId}." + _HINT
        )
    action_kind = action.WhichOneof("orchestratorActionType") or ""
    if not _kind_matches(kind, action) or (
        _event_target(event, kind) != _action_target(action, action_kind)
    ):
        raise wrong_action_error(event, action)
