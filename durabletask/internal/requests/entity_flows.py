"""Entity operations of the client as sans-I/O flows (see ``calls.Flow``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from google.protobuf import wrappers_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests import inputs
from durabletask.internal.requests.calls import Call, ClientSettings, Flow
from durabletask.internal.requests.models import (
    CleanEntityStorageResult,
    EntityQuery,
    optional_string,
)

if TYPE_CHECKING:
    from durabletask.entities import EntityInstanceId, EntityMetadata

__all__ = ["clean_entity_storage", "get_all_entities", "get_entity", "signal_entity"]

# A sidecar that keeps returning the same token would otherwise make us loop forever.
_MAX_PAGES = 100_000


def _entity_key(entity_instance_id: EntityInstanceId | str) -> str:
    """``str()`` of the id; its ``@name@key`` string is accepted too, as by the official SDK.

    Raises:
        ValueError: A string not of the form ``@name@key``.
        TypeError: Neither an ``EntityInstanceId`` nor a string.
    """
    from durabletask.entities import EntityInstanceId

    if isinstance(entity_instance_id, str):
        return str(EntityInstanceId.parse(entity_instance_id))
    if not isinstance(entity_instance_id, EntityInstanceId):
        raise TypeError(
            "entity_instance_id must be an EntityInstanceId, got "
            f"{type(entity_instance_id).__name__}"
        )
    return str(entity_instance_id)


def _next_page_token(response: Any, seen: set[str]) -> str | None:
    """The continuation token of ``response``, or None on the last page.

    An absent, empty or ``"0"`` token ends the paging (as for the official client), and so
    does a token already seen (a sidecar repeating itself would make us loop forever).
    """
    token = optional_string(response, "continuationToken")
    if not token or token == "0" or token in seen:
        return None
    seen.add(token)
    return token


def signal_entity(
    settings: ClientSettings,
    entity_instance_id: EntityInstanceId,
    operation_name: str,
    input: Any = None,
    signal_time: datetime | None = None,
) -> Flow[None]:
    """Send a one-way operation to an entity, now or at ``signal_time``.

    As the official client does, the request carries a random ``requestId`` (a UUID
    string) and the time it was made (``requestTime``).
    """
    key = _entity_key(entity_instance_id)
    request = pb.SignalEntityRequest(
        instanceId=key,
        name=inputs.validate_name(operation_name, argument="operation_name"),
        input=inputs.string_value(
            inputs.serialize_argument(settings.data_converter, input, argument="input")
        ),
        requestId=str(uuid.uuid4()),
        scheduledTime=inputs.to_timestamp(signal_time, argument="signal_time"),
        requestTime=inputs.to_timestamp(datetime.now(timezone.utc), argument="requestTime"),
    )
    trace_context = settings.tracing.current_context()
    if trace_context is not None:
        request.parentTraceContext.CopyFrom(trace_context)
    yield Call("SignalEntity", request, key)


def get_entity(
    settings: ClientSettings, entity_instance_id: EntityInstanceId, include_state: bool = True
) -> Flow[EntityMetadata | None]:
    """Fetch one entity's metadata (and state); None when it does not exist."""
    from durabletask.entities import EntityMetadata

    key = _entity_key(entity_instance_id)
    request = pb.GetEntityRequest(instanceId=key, includeState=include_state)
    response = yield Call("GetEntity", request, key)
    if not response.exists:
        return None
    return EntityMetadata.from_entity_response(response, include_state, settings.data_converter)


def get_all_entities(
    settings: ClientSettings, entity_query: EntityQuery | None = None
) -> Flow[list[EntityMetadata]]:
    """Query entities, following continuation tokens until the last page."""
    from durabletask.entities import EntityMetadata

    query = entity_query or EntityQuery()
    wire = pb.EntityQuery(
        instanceIdStartsWith=inputs.string_value(query.instance_id_starts_with),
        lastModifiedFrom=inputs.to_timestamp(query.last_modified_from,
                                             argument="last_modified_from"),
        lastModifiedTo=inputs.to_timestamp(query.last_modified_to, argument="last_modified_to"),
        includeState=query.include_state,
        includeTransient=query.include_transient,
    )
    if query.page_size is not None:
        wire.pageSize.CopyFrom(wrappers_pb2.Int32Value(value=query.page_size))
    entities: list[EntityMetadata] = []
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        response = yield Call("QueryEntities", pb.QueryEntitiesRequest(query=wire))
        entities.extend(
            EntityMetadata.from_entity_metadata(e, query.include_state, settings.data_converter)
            for e in response.entities
        )
        token = _next_page_token(response, seen)
        if token is None:
            break
        wire.continuationToken.value = token
    return entities


def clean_entity_storage(
    settings: ClientSettings,
    remove_empty_entities: bool = True,
    release_orphaned_locks: bool = True,
) -> Flow[CleanEntityStorageResult]:
    """Remove empty entities and release orphaned locks, page by page."""
    request = pb.CleanEntityStorageRequest(
        removeEmptyEntities=remove_empty_entities, releaseOrphanedLocks=release_orphaned_locks
    )
    removed = released = 0
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        response = yield Call("CleanEntityStorage", request)
        removed += response.emptyEntitiesRemoved
        released += response.orphanedLocksReleased
        token = _next_page_token(response, seen)
        if token is None:
            break
        request.continuationToken.value = token
    return CleanEntityStorageResult(removed, released)
