"""Entity work items on the worker: run the batch off the loop, guard the result's size.

Both wire forms are accepted (``entityRequest`` and ``entityRequestV2``); the engine's
``EntityExecutor`` turns either into one ``EntityBatchResult``. A batch the engine cannot
run comes back as ``None``, and the runner abandons it (``AbandonTaskEntityWorkItem``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

from durabletask.internal.engine import EntityExecutor
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.runtime import completions

__all__ = ["KINDS", "describe", "execute"]

KINDS = ("entityRequest", "entityRequestV2")
"""The ``WorkItem.request`` cases that carry an entity batch."""

_logger = logging.getLogger("durabletask.worker")


def request_of(item: pb.WorkItem) -> pb.EntityBatchRequest | pb.EntityRequest:
    """The entity batch a work item carries, in either wire form."""
    return item.entityRequest if item.HasField("entityRequest") else item.entityRequestV2


def describe(item: pb.WorkItem) -> str:
    """Name the work item in logs, e.g. ``entity batch of @counter@k (3 operations)``."""
    request = request_of(item)
    count = (
        len(request.operations) if isinstance(request, pb.EntityBatchRequest)
        else len(request.operationRequests)
    )
    return f"entity batch of {request.instanceId} ({count} operations)"


async def execute(
    executor: EntityExecutor,
    item: pb.WorkItem,
    pool: concurrent.futures.ThreadPoolExecutor,
    max_message_bytes: int,
) -> pb.EntityBatchResult | None:
    """Run the batch in ``pool`` (entity code is synchronous user code).

    Returns:
        The result to complete the work item with, or ``None`` to abandon it.
    """
    request = request_of(item)
    loop = asyncio.get_running_loop()
    try:
        outcome = await loop.run_in_executor(
            pool, executor.execute, request, item.completionToken
        )
    except Exception:  # e.g. the pool is shutting down: the sidecar redelivers it
        _logger.exception("Could not run the %s", describe(item))
        return None
    if outcome.result is None:
        _logger.warning("Abandoning the %s: %s", describe(item), outcome.abandon_reason)
        return None
    return completions.entity_batch_result(request, outcome.result, max_message_bytes)
