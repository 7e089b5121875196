"""Builders for entity work items and entity history events, for pure engine tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from durabletask.entities import EntityInstanceId
from durabletask.internal.engine import EntityExecutor, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import histories as h

T0_UTC = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def encode(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def operation(name: str, input: Any = None, request_id: str = "") -> pb.OperationRequest:
    request = pb.OperationRequest(operation=name, requestId=request_id or f"req-{name}")
    if input is not None:
        request.input.value = encode(input) or ""
    return request


def batch(
    instance_id: str, operations: Sequence[pb.OperationRequest], state: Any = None
) -> pb.EntityBatchRequest:
    """A V1 ``entityRequest`` work item."""
    request = pb.EntityBatchRequest(instanceId=instance_id, operations=operations)
    if state is not None:
        request.entityState.value = encode(state) or ""
    return request


def signaled(name: str, input: Any = None, request_id: str = "sig") -> pb.HistoryEvent:
    """An ``entityOperationSignaled`` message as queued in an entity's V2 work item."""
    event = pb.HistoryEvent(eventId=-1)
    message = event.entityOperationSignaled
    message.requestId = request_id
    message.operation = name
    if input is not None:
        message.input.value = encode(input) or ""
    return event


def called(
    name: str, parent: str, input: Any = None, request_id: str = "call",
    parent_execution: str | None = None,
) -> pb.HistoryEvent:
    """An ``entityOperationCalled`` message from orchestration ``parent``."""
    event = pb.HistoryEvent(eventId=-1)
    message = event.entityOperationCalled
    message.requestId = request_id
    message.operation = name
    message.parentInstanceId.value = parent
    if parent_execution is not None:
        message.parentExecutionId.value = parent_execution
    if input is not None:
        message.input.value = encode(input) or ""
    return event


def request_v2(
    instance_id: str, events: Iterable[pb.HistoryEvent], state: Any = None
) -> pb.EntityRequest:
    """A V2 ``entityRequestV2`` work item."""
    request = pb.EntityRequest(instanceId=instance_id, operationRequests=list(events))
    if state is not None:
        request.entityState.value = encode(state) or ""
    return request


def new_entity_executor(*entities: Any, **options: Any) -> EntityExecutor:
    registry = Registry()
    for entity in entities:
        if isinstance(entity, tuple):
            registry.add_entity(entity[1], name=entity[0])
        else:
            registry.add_entity(entity)
    options.setdefault("clock", lambda: T0_UTC)
    return EntityExecutor(registry, **options)


def state_of(result: pb.EntityBatchResult) -> Any:
    return json.loads(result.entityState.value) if result.HasField("entityState") else None


def outputs(result: pb.EntityBatchResult) -> list[Any]:
    """Each operation's decoded result, or ``("failed", errorType, errorMessage)``."""
    decoded: list[Any] = []
    for item in result.results:
        if item.HasField("failure"):
            details = item.failure.failureDetails
            decoded.append(("failed", details.errorType, details.errorMessage))
        else:
            value = item.success.result.value
            decoded.append(json.loads(value) if value else None)
    return decoded


# ----- orchestration side ------------------------------------------------------------------


def entity_message_event(action: pb.OrchestratorAction) -> pb.HistoryEvent:
    """The history event a sidecar records for a ``sendEntityMessage`` action."""
    message = action.sendEntityMessage
    kind = message.WhichOneof("EntityMessageType")
    event = pb.HistoryEvent(eventId=action.id)
    getattr(event, kind).CopyFrom(getattr(message, kind))
    return event


def confirmations(actions: Iterable[pb.OrchestratorAction]) -> list[pb.HistoryEvent]:
    """Confirmation events of every action, entity messages included."""
    actions = list(actions)
    events = h.confirmations(actions)
    events += [entity_message_event(a) for a in actions if a.HasField("sendEntityMessage")]
    return sorted(events, key=lambda event: event.eventId)


def operation_completed(request_id: str, output: Any = None) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    event.entityOperationCompleted.requestId = request_id
    if output is not None:
        event.entityOperationCompleted.output.value = encode(output) or ""
    return event


def operation_failed(
    request_id: str, message: str = "boom", error_type: str = "builtins.ValueError"
) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    event.entityOperationFailed.requestId = request_id
    event.entityOperationFailed.failureDetails.errorType = error_type
    event.entityOperationFailed.failureDetails.errorMessage = message
    return event


def lock_granted(section_id: str) -> pb.HistoryEvent:
    event = pb.HistoryEvent(eventId=-1)
    event.entityLockGranted.criticalSectionId = section_id
    return event


def messages(results: Any) -> list[tuple[int, str, str]]:
    """``(id, message kind, target)`` of each entity message among ``results.actions``."""
    found = []
    for action in results.actions:
        if not action.HasField("sendEntityMessage"):
            continue
        message = action.sendEntityMessage
        kind = message.WhichOneof("EntityMessageType")
        inner = getattr(message, kind)
        target = (
            ",".join(inner.lockSet) if kind == "entityLockRequested"
            else inner.targetInstanceId.value
        )
        found.append((action.id, kind, target))
    return found


def call_request_id(results: Any, target: EntityInstanceId | str) -> str:
    for action in results.actions:
        called_message = action.sendEntityMessage.entityOperationCalled
        if action.HasField("sendEntityMessage") and called_message.targetInstanceId.value == str(
            target
        ):
            return called_message.requestId
    raise AssertionError(f"no call to {target} in {results.actions}")


def lock_section_id(results: Any) -> str:
    for action in results.actions:
        if action.sendEntityMessage.HasField("entityLockRequested"):
            return action.sendEntityMessage.entityLockRequested.criticalSectionId
    raise AssertionError(f"no lock request in {results.actions}")


class EntityEpisodes(h.Episodes):
    """``histories.Episodes`` that also confirms entity messages, like a real sidecar."""

    def run(self, *new_events: pb.HistoryEvent, at: datetime = h.T0) -> Any:
        new = [h.orchestrator_started(at), *new_events]
        results = self.executor.execute(self.instance_id, list(self.history), new)
        self.history.extend(new)
        self.history.extend(confirmations(results.actions))
        self.history.append(h.orchestrator_completed())
        self.last = results
        return results
