"""Request validation: malformed requests become ``InvalidRequestError`` with a clear message."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.wire_names import (
    MAX_INSTANCE_ID_LENGTH,
    instance_id_problem,
    name_problem,
)
from durabletask.sidecar.errors import InvalidRequestError

# The range of protobuf Timestamps (and Python datetimes): years 1 to 9999.
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799

__all__ = ["MAX_INSTANCE_ID_LENGTH"]  # with the check functions below

# Kinds of actions whose required fields are checked here; others are judged
# (and possibly rejected as unsupported) by the transitions.
_NAMED_ACTIONS = ("scheduleTask", "createSubOrchestration", "sendEvent")
# Actions whose id becomes the eventId of a history event that later results refer to:
# two of them with one id in an answer would make those results ambiguous.
_ID_KEYED_ACTIONS = frozenset({
    "scheduleTask", "createTimer", "createSubOrchestration", "sendEvent", "sendEntityMessage",
})


def instance_id(value: str, field: str = "instanceId") -> str:
    """Check an instance id: non-empty, at most 256 characters, no control characters.

    Args:
        value: The id.
        field: The request field name, for the message.

    Returns:
        The id unchanged.

    Raises:
        InvalidRequestError: The id is malformed.
    """
    if not value:
        raise InvalidRequestError(f"{field} is required: pass a non-empty instance id")
    problem = instance_id_problem(value, field)
    if problem is not None:
        raise InvalidRequestError(problem)
    return value


def name(value: str, field: str = "name") -> str:
    """Check a required orchestrator, activity or event name.

    Raises:
        InvalidRequestError: The name is empty or has control characters.
    """
    if not value or not value.strip():
        raise InvalidRequestError(f"{field} is required: pass a non-empty name")
    problem = name_problem(value, field)
    if problem is not None:
        raise InvalidRequestError(problem)
    return value


def completion_token(value: str, rpc: str) -> str:
    """Check that a completion token is present.

    Raises:
        InvalidRequestError: The token is empty.
    """
    if not value:
        raise InvalidRequestError(
            f"{rpc}: completionToken is required; echo the token of the work item being answered"
        )
    return value


def create_request(request: pb.CreateInstanceRequest) -> None:
    """Validate a ``StartInstance`` request.

    Raises:
        InvalidRequestError: The id or name is malformed, or a replaceable status is unknown.
    """
    instance_id(request.instanceId)
    name(request.name)
    if request.HasField("scheduledStartTimestamp"):
        timestamp(request.scheduledStartTimestamp, "scheduledStartTimestamp")
    for status in request.orchestrationIdReusePolicy.replaceableStatus:
        if status not in pb.OrchestrationStatus.values():
            raise InvalidRequestError(
                f"orchestrationIdReusePolicy.replaceableStatus has unknown status {status}"
            )


def orchestrator_actions(response: pb.OrchestratorResponse) -> None:
    """Validate the actions of a ``CompleteOrchestratorTask`` request.

    The sidecar fails the instance with the message when they are invalid: the worker
    cannot fix an answer its orchestrator produced, so redelivering it would not help.

    Raises:
        InvalidRequestError: An action has no kind, misses a required field, has a
            malformed name or id, or reuses the id of another action of the answer.
    """
    seen: set[int] = set()
    for action in response.actions:
        kind = action.WhichOneof("orchestratorActionType")
        where = f"action {action.id}"
        if kind is None:
            raise InvalidRequestError(f"{where} has no action type set; set exactly one action")
        if kind in _ID_KEYED_ACTIONS:
            if action.id in seen:
                raise InvalidRequestError(
                    f"{where} ({kind}) reuses the id of another action of the same answer; "
                    f"each action needs its own id"
                )
            seen.add(action.id)
        if kind in _NAMED_ACTIONS:
            name(getattr(action, kind).name, f"{where} ({kind}).name")
        if kind == "sendEvent":
            instance_id(action.sendEvent.instance.instanceId, f"{where} (sendEvent).instance")
        elif kind == "createSubOrchestration" and action.createSubOrchestration.instanceId:
            instance_id(action.createSubOrchestration.instanceId, f"{where} instanceId")
        elif kind == "createTimer":
            if not action.createTimer.HasField("fireAt"):
                raise InvalidRequestError(f"{where} (createTimer) needs fireAt")
            timestamp(action.createTimer.fireAt, f"{where} (createTimer).fireAt")
        elif kind == "terminateOrchestration":
            instance_id(action.terminateOrchestration.instanceId, f"{where} instanceId")


def page_size(value: int, field: str) -> int:
    """Check a page size (0 means no limit).

    Raises:
        InvalidRequestError: The value is negative.
    """
    if value < 0:
        raise InvalidRequestError(f"{field} must be >= 0 (0 means no limit), got {value}")
    return value


def timestamp(value: timestamp_pb2.Timestamp, field: str) -> timestamp_pb2.Timestamp:
    """Check a timestamp lies in years 1 to 9999 with valid nanos.

    Raises:
        InvalidRequestError: The timestamp is out of range.
    """
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS or not 0 <= value.nanos < 10**9:
        raise InvalidRequestError(
            f"{field} is out of range (seconds={value.seconds}, nanos={value.nanos}); "
            f"timestamps must lie between years 1 and 9999"
        )
    return value
