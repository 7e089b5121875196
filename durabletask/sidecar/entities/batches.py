"""Entity batches: the ``entityRequestV2`` work item and what its result commits (pure).

Wire shape sent to workers (the form the official in-memory backend sends):
``WorkItem{entityRequestV2: EntityRequest{instanceId: "@name@key", entityState
(absent when the entity has no state), operationRequests: [HistoryEvent with
entityOperationSignaled{requestId, operation, input, scheduledTime, targetInstanceId}
or entityOperationCalled{requestId, operation, input, parentInstanceId,
parentExecutionId, targetInstanceId}]}, completionToken}``.

The answer, ``EntityBatchResult``, has ``results`` aligned by index with the
operations. The sidecar routes results by what it sent (it does not trust
``operationInfos``): result *i* of a call goes to its caller as
``entityOperationCompleted{requestId, output}`` or ``entityOperationFailed{requestId,
failureDetails}``. Operations beyond the returned results stay queued and are sent
again. ``entityState`` absent deletes the state. ``actions`` run in the same commit:
``sendSignal`` queues an ``entityOperationSignaled`` (delayed by ``scheduledTime``),
``startNewOrchestration`` creates an instance (replacing a finished one with its id,
skipped if that one still runs).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from google.protobuf import timestamp_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import transitions, validation
from durabletask.sidecar.clock import from_timestamp, to_timestamp
from durabletask.sidecar.entities.ids import split_entity_id
from durabletask.sidecar.errors import InvalidRequestError
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityMessage,
    EntityRecord,
    EntityRow,
    NewInstance,
    ResponseMessage,
)

logger = logging.getLogger("durabletask.sidecar")


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedEntityBatch:
    """An entity work item ready to send, with the rows its completion consumes."""

    entity_id: str
    """The entity."""
    operations: tuple[EntityRow, ...]
    """The operations sent, in order."""
    request: pb.EntityRequest
    """The request for the worker."""


def build_batch(record: EntityRecord, operations: Sequence[EntityRow]) -> PreparedEntityBatch:
    """Build the ``EntityRequest`` for the next operations of an entity."""
    request = pb.EntityRequest(instanceId=record.entity_id)
    if record.state is not None:
        request.entityState.value = record.state
    request.operationRequests.extend(row.event for row in operations)
    return PreparedEntityBatch(
        entity_id=record.entity_id, operations=tuple(operations), request=request
    )


def apply_result(
    batch: PreparedEntityBatch,
    record: EntityRecord,
    result: pb.EntityBatchResult,
    now: datetime,
) -> EntityCommit:
    """Turn a worker's ``EntityBatchResult`` into the commit that persists it.

    Args:
        batch: The batch as dispatched.
        record: The entity as stored now.
        result: The worker's answer.
        now: Commit time.

    Returns:
        The commit. A result that failed as a whole (``failureDetails`` set) fails
        every operation of the batch with those details and keeps the state.
    """
    if result.HasField("failureDetails"):
        return fail_batch(batch, record, result.failureDetails, now)
    answered = batch.operations[: len(result.results)]
    if len(result.results) > len(batch.operations):
        logger.warning(
            "entity %s: the worker returned %d results for %d operations; extra results ignored",
            batch.entity_id, len(result.results), len(batch.operations),
        )
    responses = [
        response
        for row, outcome in zip(answered, result.results)
        if (response := _response(row, outcome, now)) is not None
    ]
    state = result.entityState.value if result.HasField("entityState") else None
    messages: list[EntityMessage] = []
    instances: list[NewInstance] = []
    for action in result.actions:
        _run_action(batch.entity_id, action, now, messages, instances)
    return EntityCommit(
        entity_id=batch.entity_id,
        record=dataclasses.replace(record, state=state, last_modified_at=now),
        consumed=tuple(row.seq for row in answered),
        entity_messages=messages,
        responses=responses,
        new_instances=instances,
        reset_losses=True,
    )


def fail_batch(
    batch: PreparedEntityBatch,
    record: EntityRecord,
    details: pb.TaskFailureDetails,
    now: datetime,
) -> EntityCommit:
    """Fail every operation of a batch (callers get ``entityOperationFailed``); state unchanged."""
    responses = []
    for row in batch.operations:
        outcome = pb.OperationResult()
        outcome.failure.failureDetails.CopyFrom(details)
        response = _response(row, outcome, now)
        if response is not None:
            responses.append(response)
        else:
            logger.warning(
                "entity %s: signal %r dropped: %s", batch.entity_id,
                row.event.entityOperationSignaled.operation, details.errorMessage,
            )
    return EntityCommit(
        entity_id=batch.entity_id,
        record=dataclasses.replace(record, last_modified_at=now),
        consumed=tuple(row.seq for row in batch.operations),
        responses=responses,
        reset_losses=True,
    )


def _response(row: EntityRow, outcome: pb.OperationResult, now: datetime) -> ResponseMessage | None:
    if not row.event.HasField("entityOperationCalled"):
        return None  # a signal: nobody waits for the result
    called = row.event.entityOperationCalled
    event = pb.HistoryEvent(eventId=-1)
    event.timestamp.CopyFrom(to_timestamp(now))
    if outcome.HasField("failure"):
        event.entityOperationFailed.requestId = called.requestId
        event.entityOperationFailed.failureDetails.CopyFrom(outcome.failure.failureDetails)
    else:
        event.entityOperationCompleted.requestId = called.requestId
        if outcome.success.HasField("result"):
            event.entityOperationCompleted.output.CopyFrom(outcome.success.result)
    return ResponseMessage(
        instance_id=called.parentInstanceId.value,
        execution_id=called.parentExecutionId.value or None,
        event=event,
    )


def _run_action(
    entity_id: str,
    action: pb.OperationAction,
    now: datetime,
    messages: list[EntityMessage],
    instances: list[NewInstance],
) -> None:
    kind = action.WhichOneof("operationActionType")
    if kind == "sendSignal":
        signal = action.sendSignal
        if (split_entity_id(signal.instanceId) is None or not signal.name
                or (signal.HasField("scheduledTime") and not _valid_time(signal.scheduledTime))):
            logger.warning("entity %s: dropping a signal to %r (operation %r): not an entity "
                           "id, no operation, or a scheduledTime out of range",
                           entity_id, signal.instanceId, signal.name)
            return
        messages.append(signal_message(
            signal.instanceId, signal.name, now, data=signal, source_id=entity_id
        ))
    elif kind == "startNewOrchestration":
        start = action.startNewOrchestration
        problem = _start_problem(start)
        if problem is None:
            instances.append(_new_instance(start, now))
        else:
            logger.warning("entity %s: not starting orchestration %r: %s",
                           entity_id, start.name, problem)
    else:
        logger.warning("entity %s: ignoring operation action %d of unknown kind %r",
                       entity_id, action.id, kind)


def signal_message(
    target: str,
    operation: str,
    now: datetime,
    *,
    data: pb.SendSignalAction | pb.SignalEntityRequest,
    request_id: str = "",
    source_id: str | None,
) -> EntityMessage:
    """The inbox message of a signal: ``entityOperationSignaled`` for ``target``.

    Args:
        target: The entity id (already checked).
        operation: The operation name.
        now: Current time.
        data: Where ``input`` and ``scheduledTime`` come from.
        request_id: The request id; a new one when empty.
        source_id: The sending entity, or None for a client.
    """
    event = pb.HistoryEvent(eventId=-1)
    event.timestamp.CopyFrom(to_timestamp(now))
    signaled = event.entityOperationSignaled
    signaled.requestId = request_id or uuid.uuid4().hex
    signaled.operation = operation
    signaled.targetInstanceId.value = target
    if data.HasField("input"):
        signaled.input.CopyFrom(data.input)
    visible_at = None
    if data.HasField("scheduledTime"):
        signaled.scheduledTime.CopyFrom(data.scheduledTime)
        visible_at = from_timestamp(data.scheduledTime)
    return EntityMessage(target_id=target, event=event, visible_at=visible_at, source_id=source_id)


def _valid_time(value: timestamp_pb2.Timestamp) -> bool:
    try:
        validation.timestamp(value, "scheduledTime")
    except InvalidRequestError:
        return False
    return True


def _start_problem(start: pb.StartNewOrchestrationAction) -> str | None:
    try:
        validation.name(start.name)
        if start.instanceId:
            validation.instance_id(start.instanceId)
        if start.HasField("scheduledTime"):
            validation.timestamp(start.scheduledTime, "scheduledTime")
    except InvalidRequestError as exc:
        return str(exc)
    return None


def _new_instance(start: pb.StartNewOrchestrationAction, now: datetime) -> NewInstance:
    scheduled = from_timestamp(start.scheduledTime) if start.HasField("scheduledTime") else None
    record, event = transitions.new_instance(
        now,
        instance_id=start.instanceId or uuid.uuid4().hex,
        name=start.name,
        version=start.version.value if start.HasField("version") else None,
        payload=start.input.value if start.HasField("input") else None,
        tags={},
        scheduled=scheduled,
        trace=start.parentTraceContext if start.HasField("parentTraceContext") else None,
    )
    return NewInstance(record=record, start_event=event, visible_at=scheduled)
