"""The entity RPCs of the sidecar's servicer: decode, validate, call ``EntityCore``, encode.

``GetEntity`` and ``QueryEntities`` answer ``EntityMetadata{instanceId,
lastModifiedTime, backlogQueueSize, lockedBy (the orchestration holding the lock),
serializedState (when asked and the entity has state)}``. As in DTFx and the
Durable Task Scheduler, an entity without state "does not exist" for ``GetEntity``
and is listed only with ``includeTransient``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import validation
from durabletask.sidecar.clock import from_timestamp, to_timestamp
from durabletask.sidecar.work_filter import WorkKind
from durabletask.sidecar.entities.ids import entity_id, normalize_prefix
from durabletask.sidecar.rpc import unary
from durabletask.sidecar.store.entity_base import EntityQuery, EntityRecord

if TYPE_CHECKING:
    from durabletask.sidecar.task_hub import TaskHubCore


def entity_metadata(record: EntityRecord, *, include_state: bool) -> pb.EntityMetadata:
    """Build the ``EntityMetadata`` a client sees for an entity."""
    metadata = pb.EntityMetadata(instanceId=record.entity_id, backlogQueueSize=record.backlog)
    metadata.lastModifiedTime.CopyFrom(to_timestamp(record.last_modified_at))
    if record.lock is not None:
        metadata.lockedBy.value = record.lock.holder_id
    if include_state and record.state is not None:
        metadata.serializedState.value = record.state
    return metadata


def check_signal(request: pb.SignalEntityRequest) -> None:
    """Check a ``SignalEntity`` request (entity id, operation name, scheduled time).

    Raises:
        InvalidRequestError: A field is malformed (the message names it).
    """
    entity_id(request.instanceId)
    validation.name(request.name, "name (the operation)")
    if request.HasField("scheduledTime"):
        validation.timestamp(request.scheduledTime, "scheduledTime")


def entity_query(query: pb.EntityQuery) -> EntityQuery:
    """Translate a ``QueryEntities`` query (one extra row is fetched to detect more pages)."""
    page_size = query.pageSize.value if query.HasField("pageSize") else 0
    validation.page_size(page_size, "query.pageSize")
    prefix = query.instanceIdStartsWith.value if query.HasField("instanceIdStartsWith") else ""
    return EntityQuery(
        id_prefix=normalize_prefix(prefix) if prefix else None,
        modified_from=_time(query, "lastModifiedFrom"),
        modified_to=_time(query, "lastModifiedTo"),
        include_transient=query.includeTransient,
        after=query.continuationToken.value or None,
        limit=page_size + 1 if page_size else None,
    )


def _time(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    return from_timestamp(validation.timestamp(getattr(message, field), field))


class EntityServicer:
    """Entity RPCs; mixed into ``SidecarServicer``, which provides ``_core``."""

    _core: TaskHubCore

    @unary
    async def SignalEntity(  # noqa: N802
        self, request: pb.SignalEntityRequest, context: Any
    ) -> pb.SignalEntityResponse:
        """Queue a one-way operation for an entity, now or at ``scheduledTime``."""
        check_signal(request)
        self._core.entities.signal(request)
        return pb.SignalEntityResponse()

    @unary
    async def GetEntity(  # noqa: N802
        self, request: pb.GetEntityRequest, context: Any
    ) -> pb.GetEntityResponse:
        """Return an entity's metadata (``exists=false`` if it has no state)."""
        entity_id(request.instanceId)
        record = self._core.entities.get(request.instanceId)
        if record is None:
            return pb.GetEntityResponse(exists=False)
        return pb.GetEntityResponse(
            exists=True, entity=entity_metadata(record, include_state=request.includeState)
        )

    @unary
    async def QueryEntities(  # noqa: N802
        self, request: pb.QueryEntitiesRequest, context: Any
    ) -> pb.QueryEntitiesResponse:
        """List entities by filter, ordered by id, one page at a time."""
        query = entity_query(request.query)
        records = self._core.entities.query(query)
        response = pb.QueryEntitiesResponse()
        if query.limit is not None and len(records) >= query.limit:
            records = records[: query.limit - 1]
            response.continuationToken.value = records[-1].entity_id
        response.entities.extend(
            entity_metadata(r, include_state=request.query.includeState) for r in records
        )
        return response

    @unary
    async def CleanEntityStorage(  # noqa: N802
        self, request: pb.CleanEntityStorageRequest, context: Any
    ) -> pb.CleanEntityStorageResponse:
        """Release locks of ended orchestrations and delete empty entities, one page a call."""
        result = self._core.entities.clean(
            request.removeEmptyEntities, request.releaseOrphanedLocks,
            request.continuationToken.value or None,
        )
        response = pb.CleanEntityStorageResponse(
            emptyEntitiesRemoved=result.removed, orphanedLocksReleased=result.released
        )
        if result.next_after is not None:
            response.continuationToken.value = result.next_after
        return response

    @unary
    async def CompleteEntityTask(  # noqa: N802
        self, request: pb.EntityBatchResult, context: Any
    ) -> pb.CompleteTaskResponse:
        """Accept the results of an entity batch."""
        validation.completion_token(request.completionToken, "CompleteEntityTask")
        await self._core.entities.complete(request)
        return pb.CompleteTaskResponse()

    @unary
    async def AbandonTaskEntityWorkItem(  # noqa: N802
        self, request: pb.AbandonEntityTaskRequest, context: Any
    ) -> pb.AbandonEntityTaskResponse:
        """Hand an entity batch back for delayed redelivery."""
        validation.completion_token(request.completionToken, "AbandonTaskEntityWorkItem")
        self._core.abandon(request.completionToken, WorkKind.ENTITY)
        return pb.AbandonEntityTaskResponse()
