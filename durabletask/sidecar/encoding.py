"""Mapping between stored records and protobuf messages: states, queries and page keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import validation
from durabletask.sidecar.clock import from_timestamp, to_timestamp
from durabletask.sidecar.errors import InvalidRequestError
from durabletask.sidecar.store.base import TERMINAL_STATUSES, InstanceQuery, InstanceRecord


def orchestration_state(record: InstanceRecord, *, with_payloads: bool) -> pb.OrchestrationState:
    """Build the ``OrchestrationState`` a client sees for an instance.

    Args:
        record: The stored instance.
        with_payloads: Include input, output, custom status and failure details.

    Returns:
        The state message.
    """
    state = pb.OrchestrationState(
        instanceId=record.instance_id,
        name=record.name,
        orchestrationStatus=record.status,  # type: ignore[arg-type]
        tags=record.tags,
    )
    state.createdTimestamp.CopyFrom(to_timestamp(record.created_at))
    state.lastUpdatedTimestamp.CopyFrom(to_timestamp(record.last_updated_at))
    state.executionId.value = record.execution_id
    if record.completed_at is not None:
        state.completedTimestamp.CopyFrom(to_timestamp(record.completed_at))
    if record.scheduled_start_at is not None:
        state.scheduledStartTimestamp.CopyFrom(to_timestamp(record.scheduled_start_at))
    if record.version is not None:
        state.version.value = record.version
    if record.parent_instance_id is not None:
        state.parentInstanceId.value = record.parent_instance_id
    if with_payloads:
        if record.input is not None:
            state.input.value = record.input
        if record.output is not None:
            state.output.value = record.output
        if record.custom_status is not None:
            state.customStatus.value = record.custom_status
        if record.failure is not None:
            state.failureDetails.CopyFrom(record.failure)
    return state


def encode_page_key(when: datetime, instance_id: str) -> str:
    """Encode a (sort time, instance id) position as an opaque page key."""
    return f"{when.timestamp():.6f}|{instance_id}"


def one_page(
    rows: list[InstanceRecord], size: int, sort_time: Callable[[InstanceRecord], datetime | None]
) -> tuple[list[InstanceRecord], str | None]:
    """Cut a query result to one page of ``size`` rows (0: no paging).

    The queries fetch one row more than a page, so a longer result means another page
    follows; its key is the position of the last row kept.

    Returns:
        The page's rows, and the key of the next page (None on the last page).
    """
    if not size or len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    when = sort_time(last)
    assert when is not None  # the query sorts and filters on this time
    return rows, encode_page_key(when, last.instance_id)


def decode_page_key(value: str, field: str) -> tuple[datetime, str]:
    """Decode a page key made by :func:`encode_page_key`.

    Raises:
        InvalidRequestError: The key was not produced by this sidecar.
    """
    stamp, sep, instance_id = value.partition("|")
    try:
        if not sep:
            raise ValueError(value)
        return datetime.fromtimestamp(float(stamp), tz=timezone.utc), instance_id
    except ValueError:
        raise InvalidRequestError(
            f"{field} {value!r} is not a key returned by this sidecar; pass the value from "
            f"the previous response or leave it empty"
        ) from None


def instance_query(
    query: pb.InstanceQuery, *, newest_first: bool = False, name: str | None = None
) -> InstanceQuery:
    """Translate a ``QueryInstances`` query (one extra row is fetched to detect more pages).

    Args:
        query: The request's query.
        newest_first: Order newest first (a hint of our dialect; oldest first otherwise).
        name: Only this orchestrator name (a hint of our dialect).
    """
    limit = query.maxInstanceCount or None
    return InstanceQuery(
        statuses=frozenset(query.runtimeStatus) or None,
        created_from=_opt_time(query, "createdTimeFrom"),
        created_to=_opt_time(query, "createdTimeTo"),
        id_prefix=query.instanceIdPrefix.value if query.HasField("instanceIdPrefix") else None,
        name=name,
        descending=newest_first,
        after=_opt_key(query.continuationToken.value, "continuationToken"),
        limit=None if limit is None else limit + 1,
    )


def states_within(
    rows: list[InstanceRecord], *, with_payloads: bool, budget_bytes: int
) -> tuple[list[pb.OrchestrationState], int]:
    """Encode as many leading ``rows`` as fit in ``budget_bytes`` (at least one).

    A page of states with payloads can outgrow a gRPC message long before its row count
    does; the rest goes to the next page. A first state that alone is over the budget is
    sent without its input, output and custom status (``GetInstance`` has them).

    Returns:
        The states, and how many rows they cover.
    """
    states: list[pb.OrchestrationState] = []
    used = 0
    for record in rows:
        state = orchestration_state(record, with_payloads=with_payloads)
        size = state.ByteSize() + 8  # field tag and length prefix
        if used + size > budget_bytes:
            if states:
                break
            for field in ("input", "output", "customStatus"):
                state.ClearField(field)
            size = state.ByteSize() + 8
        states.append(state)
        used += size
    return states, len(states)


def list_ids_query(request: pb.ListInstanceIdsRequest) -> InstanceQuery:
    """Translate a ``ListInstanceIds`` request: terminal instances by completion time."""
    statuses = frozenset(request.runtimeStatus) & TERMINAL_STATUSES or TERMINAL_STATUSES
    return InstanceQuery(
        statuses=statuses,
        completed_from=_opt_time(request, "completedTimeFrom"),
        completed_to=_opt_time(request, "completedTimeTo"),
        order_by="completed",
        after=_opt_key(request.lastInstanceKey.value, "lastInstanceKey"),
        limit=request.pageSize + 1 if request.pageSize else None,
    )


def purge_query(purge_filter: pb.PurgeInstanceFilter) -> InstanceQuery:
    """Translate a purge filter; only terminal statuses can ever be purged."""
    statuses = frozenset(purge_filter.runtimeStatus) & TERMINAL_STATUSES
    return InstanceQuery(
        statuses=statuses if purge_filter.runtimeStatus else TERMINAL_STATUSES,
        created_from=_opt_time(purge_filter, "createdTimeFrom"),
        created_to=_opt_time(purge_filter, "createdTimeTo"),
    )


def _opt_time(message: object, field: str) -> datetime | None:
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    return from_timestamp(validation.timestamp(getattr(message, field), field))


def _opt_key(value: str, field: str) -> tuple[datetime, str] | None:
    return decode_page_key(value, field) if value else None
