"""What the sync and async schedule clients share: requests, outcomes, lookups, filters.

The clients only do the I/O (start the operation orchestration, wait for it, read
entities); everything they decide is decided here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from durabletask.client import EntityQuery, OrchestrationStatus
from durabletask.entities import EntityInstanceId, EntityMetadata
from durabletask.scheduled import transitions
from durabletask.scheduled._formats import as_aware
from durabletask.scheduled.exceptions import ScheduleNotFoundError, ScheduleOperationError
from durabletask.scheduled.models import (
    ScheduleConfiguration,
    ScheduleCreationOptions,
    ScheduleDescription,
    ScheduleQuery,
    ScheduleState,
    ScheduleUpdateOptions,
)
from durabletask.scheduled.orchestrator import ScheduleOperationRequest
from durabletask.scheduled.schedule_entity import ENTITY_NAME

# Operations that need an existing schedule: failing on a missing one means "not found".
_NEEDS_SCHEDULE = frozenset({
    transitions.UPDATE_SCHEDULE, transitions.PAUSE_SCHEDULE, transitions.RESUME_SCHEDULE})


def entity_id_of(schedule_id: str) -> EntityInstanceId:
    """Return the entity id of a schedule (``@schedule@{schedule_id}``).

    Raises:
        ValueError: ``schedule_id`` is empty.
    """
    if not schedule_id:
        raise ValueError("schedule_id cannot be empty.")
    return EntityInstanceId(ENTITY_NAME, schedule_id)


def request_for(
    entity_id: EntityInstanceId, operation_name: str, value: Any = None
) -> ScheduleOperationRequest:
    """Check what can be checked locally and build the operation orchestrator's input.

    Raises:
        ValueError: Creation or update options that start later than they end.
    """
    if isinstance(value, ScheduleCreationOptions):
        ScheduleConfiguration.from_create_options(value)  # raises on end before start
    elif isinstance(value, ScheduleUpdateOptions):
        if value.start_at is not None and value.end_at is not None \
                and value.start_at > value.end_at:
            raise ValueError("start_at cannot be later than end_at.")
    return ScheduleOperationRequest(str(entity_id), operation_name, value)


def failure_of(state: Any, operation_name: str, schedule_id: str) -> ScheduleOperationError | None:
    """Return the error to raise for a finished operation orchestration, None on success."""
    if state is not None and state.runtime_status == OrchestrationStatus.COMPLETED:
        return None
    details = getattr(state, "failure_details", None) if state is not None else None
    return ScheduleOperationError(schedule_id, operation_name, details)


def not_found_instead(
    error: ScheduleOperationError, metadata: EntityMetadata | None
) -> ScheduleNotFoundError | None:
    """Return a not-found error when ``error`` came from a schedule that does not exist."""
    if error.operation_name not in _NEEDS_SCHEDULE or state_of(metadata) is not None:
        return None
    return ScheduleNotFoundError(error.schedule_id)


def needs_schedule(operation_name: str) -> bool:
    """True for the operations that fail on a missing schedule (update, pause, resume)."""
    return operation_name in _NEEDS_SCHEDULE


def state_of(metadata: EntityMetadata | None) -> ScheduleState | None:
    """Return the schedule state an entity holds, or None (no entity, or no schedule)."""
    if metadata is None:
        return None
    state = metadata.get_typed_state(ScheduleState)
    if state is None or state.schedule_configuration is None:
        return None
    return state


def description_of(metadata: EntityMetadata | None, schedule_id: str) -> ScheduleDescription:
    """Return the description of the schedule in ``metadata``.

    Raises:
        ScheduleNotFoundError: There is no such schedule.
    """
    if metadata is None:
        raise ScheduleNotFoundError(schedule_id)
    state = metadata.get_typed_state(ScheduleState)
    if state is None:
        raise ScheduleNotFoundError(schedule_id)
    return state.to_description()


def entity_query_for(query: ScheduleQuery | None) -> EntityQuery:
    """Return the entity query listing the schedules ``query`` may match."""
    prefix = query.schedule_id_prefix if query is not None and query.schedule_id_prefix else ""
    page_size = query.page_size if query is not None and query.page_size else None
    return EntityQuery(
        instance_id_starts_with=f"@{ENTITY_NAME}@{prefix}",
        include_state=True,
        page_size=page_size or ScheduleQuery.DEFAULT_PAGE_SIZE,
    )


def matches(state: ScheduleState, query: ScheduleQuery | None) -> bool:
    """True when ``state`` passes the status and (exclusive) creation-time filters."""
    if query is None:
        return True
    if query.status is not None and state.status != query.status:
        return False
    created = as_aware(state.schedule_created_at)
    if query.created_from is not None and not (created and created > query.created_from):
        return False
    if query.created_to is not None and not (created and created < query.created_to):
        return False
    return True


def descriptions(
    entities: Iterable[EntityMetadata], query: ScheduleQuery | None
) -> list[ScheduleDescription]:
    """Return the descriptions of the schedules among ``entities`` that match ``query``."""
    found = (state_of(metadata) for metadata in entities)
    return [state.to_description() for state in found
            if state is not None and matches(state, query)]
