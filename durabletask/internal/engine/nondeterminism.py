"""Detects replay mismatches between history and orchestrator code, and explains them."""

from __future__ import annotations

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.task import NonDeterminismError

__all__ = ["ACTION_KIND_OF_EVENT", "check_action_matches", "describe_action", "describe_event"]

ACTION_KIND_OF_EVENT: dict[str, str] = {
    "taskScheduled": "scheduleTask",
    "timerCreated": "createTimer",
    "subOrchestrationInstanceCreated": "createSubOrchestration",
    "eventSent": "sendEvent",
}
"""History event kind -> the action kind whose confirmation it is."""

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


def _event_target(event: pb.HistoryEvent, kind: str) -> str:
    if kind == "taskScheduled":
        return event.taskScheduled.name
    if kind == "subOrchestrationInstanceCreated":
        return event.subOrchestrationInstanceCreated.name
    if kind == "eventSent":
        return event.eventSent.name
    return ""


def _action_target(action: pb.OrchestratorAction, kind: str) -> str:
    if kind == "scheduleTask":
        return action.scheduleTask.name
    if kind == "createSubOrchestration":
        return action.createSubOrchestration.name
    if kind == "sendEvent":
        return action.sendEvent.name
    return ""


def _describe(kind: str, target: str, action_id: int) -> str:
    api = _API_OF_ACTION.get(kind, kind)
    named = f" '{target}'" if target else ""
    return f"{api}{named} ({kind}, id {action_id})"


def describe_event(event: pb.HistoryEvent) -> str:
    """Describe the action a history event confirms, e.g. ``call_activity 'a' (..., id 1)``."""
    kind = event.WhichOneof("eventType") or ""
    action_kind = ACTION_KIND_OF_EVENT.get(kind, kind)
    return _describe(action_kind, _event_target(event, kind), event.eventId)


def describe_action(action: pb.OrchestratorAction) -> str:
    """Describe an action, e.g. ``create_timer (createTimer, id 2)``."""
    kind = action.WhichOneof("orchestratorActionType") or ""
    return _describe(kind, _action_target(action, kind), action.id)


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
    same_kind = ACTION_KIND_OF_EVENT.get(kind) == action_kind
    if not same_kind or _event_target(event, kind) != _action_target(action, action_kind):
        raise NonDeterminismError(
            f"Non-deterministic orchestration: the history expects {expected}, but the "
            f"orchestrator code produced {describe_action(action)}." + _HINT
        )
