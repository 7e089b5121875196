"""Builds the completion messages a worker sends, enforcing the gRPC message-size limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf import timestamp_pb2

from durabletask.errors import PayloadTooLargeError
from durabletask.internal import failures
from durabletask.internal.proto import orchestrator_service_pb2 as pb

# Room for the envelope and headers that gRPC adds around the serialized message.
_FRAME_OVERHEAD_BYTES = 1024


def _size_error(what: str, size: int, limit: int) -> pb.TaskFailureDetails:
    error = PayloadTooLargeError(what, size, limit)
    return failures.failure_details_from_exception(error)


def orchestrator_response(
    request: pb.OrchestratorRequest,
    token: str,
    results: Any,
    max_message_bytes: int,
) -> pb.OrchestratorResponse:
    """Build ``CompleteOrchestratorTask``'s request from an engine result.

    When the response would exceed ``max_message_bytes``, the orchestration fails at once
    with a ``PayloadTooLargeError`` naming the size and the limit instead.
    """
    response = pb.OrchestratorResponse(
        instanceId=request.instanceId, completionToken=token, actions=results.actions
    )
    if results.encoded_custom_status is not None:
        response.customStatus.value = results.encoded_custom_status
    size = response.ByteSize()
    limit = max_message_bytes - _FRAME_OVERHEAD_BYTES
    if size <= limit:
        return response
    failed = pb.OrchestratorResponse(instanceId=request.instanceId, completionToken=token)
    action = failed.actions.add(id=-1)
    action.completeOrchestration.orchestrationStatus = pb.ORCHESTRATION_STATUS_FAILED
    action.completeOrchestration.failureDetails.CopyFrom(
        _size_error(f"The result of orchestration '{request.instanceId}'", size, limit)
    )
    return failed


def orchestration_failed(response: pb.OrchestratorResponse) -> bool:
    """True when the response completes the orchestration as FAILED."""
    return any(
        action.HasField("completeOrchestration")
        and action.completeOrchestration.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
        for action in response.actions
    )


def activity_response(
    request: pb.ActivityRequest,
    token: str,
    result: str | None,
    failure: pb.TaskFailureDetails | None,
    max_message_bytes: int,
) -> pb.ActivityResponse:
    """Build ``CompleteActivityTask``'s request; an oversized result becomes a failure."""
    response = pb.ActivityResponse(
        instanceId=request.orchestrationInstance.instanceId,
        taskId=request.taskId,
        completionToken=token,
    )
    if failure is not None:
        response.failureDetails.CopyFrom(failure)
    elif result is not None:
        response.result.value = result
    size = response.ByteSize()
    limit = max_message_bytes - _FRAME_OVERHEAD_BYTES
    if size > limit:
        response.ClearField("result")
        response.failureDetails.CopyFrom(
            _size_error(f"The result of activity '{request.name}'", size, limit)
        )
    return response


def entity_batch_result(
    request: pb.EntityBatchRequest | pb.EntityRequest,
    result: pb.EntityBatchResult,
    max_message_bytes: int,
) -> pb.EntityBatchResult:
    """Return ``result``, or, when it is too large to send, the batch failed as a whole.

    An oversized batch cannot be completed and would be redelivered forever; instead every
    operation fails with a ``PayloadTooLargeError`` and the entity keeps the state it had
    before the batch (no actions are sent).
    """
    size = result.ByteSize()
    limit = max_message_bytes - _FRAME_OVERHEAD_BYTES
    if size <= limit:
        return result
    details = _size_error(f"The result of the entity batch of '{request.instanceId}'", size, limit)
    spans = []
    for original in result.results:
        outcome = original.success if original.HasField("success") else original.failure
        spans.append((outcome.startTimeUtc, outcome.endTimeUtc))
    return failed_entity_batch(
        request, result.completionToken, result.operationInfos, details, spans)


def failed_entity_batch(
    request: pb.EntityBatchRequest | pb.EntityRequest,
    completion_token: str,
    operation_infos: Sequence[pb.OperationInfo],
    details: pb.TaskFailureDetails,
    spans: Sequence[tuple[timestamp_pb2.Timestamp, timestamp_pb2.Timestamp]],
) -> pb.EntityBatchResult:
    """Return a batch result in which every operation failed with ``details``.

    The entity keeps the state it had before the batch and no actions are sent; ``spans``
    holds the start and end time of each operation.
    """
    failed = pb.EntityBatchResult(
        completionToken=completion_token, operationInfos=operation_infos
    )
    if request.HasField("entityState"):
        failed.entityState.CopyFrom(request.entityState)
    for started, ended in spans:
        failure = failed.results.add().failure
        failure.failureDetails.CopyFrom(details)
        failure.startTimeUtc.CopyFrom(started)
        failure.endTimeUtc.CopyFrom(ended)
    return failed
