"""The two wire forms of an entity work item, brought to one: a batch plus routing infos.

``entityRequest`` (``EntityBatchRequest``, the older form) already is a batch. The newer
``entityRequestV2`` (``EntityRequest``) carries the queued operations as raw history
events; each ``entityOperationCalled`` names the orchestration waiting for the result,
each ``entityOperationSignaled`` nobody. The official worker converts the second form into
the first plus one ``OperationInfo`` per operation, and so do we, with the same shapes.
"""

from __future__ import annotations

import logging

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["EntityWorkItem", "to_batch"]

EntityWorkItem = pb.EntityBatchRequest | pb.EntityRequest
"""Either wire form of an entity work item."""


def to_batch(
    request: EntityWorkItem, logger: logging.Logger | None = None
) -> tuple[pb.EntityBatchRequest, list[pb.OperationInfo]]:
    """Return ``request`` as a batch and the operation infos to echo in the result.

    A V1 batch is returned as it is, with no infos (the sidecar routes results by
    position). For a V2 request each signal gets an info without a response destination
    and each call one whose destination is the calling orchestration
    (``parentInstanceId``, ``parentExecutionId``); other event kinds are not operations
    and are skipped, as the official worker does.
    """
    if isinstance(request, pb.EntityBatchRequest):
        return request, []
    batch = pb.EntityBatchRequest(instanceId=request.instanceId)
    if request.HasField("entityState"):
        batch.entityState.CopyFrom(request.entityState)
    infos: list[pb.OperationInfo] = []
    for event in request.operationRequests:
        kind = event.WhichOneof("eventType")
        if kind == "entityOperationSignaled":
            signaled = event.entityOperationSignaled
            _append(batch, signaled.requestId, signaled.operation, signaled)
            infos.append(pb.OperationInfo(requestId=signaled.requestId))
        elif kind == "entityOperationCalled":
            called = event.entityOperationCalled
            _append(batch, called.requestId, called.operation, called)
            info = pb.OperationInfo(requestId=called.requestId)
            # Both fields are written even when empty, as the official worker does.
            info.responseDestination.instanceId = called.parentInstanceId.value
            info.responseDestination.executionId.CopyFrom(called.parentExecutionId)
            infos.append(info)
        elif logger is not None:
            logger.warning(
                "%s: ignoring a %s event among the entity's operation requests",
                request.instanceId, kind,
            )
    return batch, infos


def _append(
    batch: pb.EntityBatchRequest,
    request_id: str,
    operation: str,
    source: pb.EntityOperationSignaledEvent | pb.EntityOperationCalledEvent,
) -> None:
    added = batch.operations.add(requestId=request_id, operation=operation)
    if source.HasField("input"):
        added.input.CopyFrom(source.input)
