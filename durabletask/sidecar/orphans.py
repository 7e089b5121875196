"""Events kept for instance ids that do not exist: bounded, listed and purged.

``RaiseEvent`` (and an orchestration's ``sendEvent``) for an id that does not exist yet keeps
the event until an instance with that id starts, as the protocol's semantics want. An id that
never starts would keep them forever, so the sidecar bounds them (``max_orphan_events``:
past it ``RaiseEvent`` for an unknown id is refused), logs each one, and lists and purges
them through its admin service (``durabletask orphan-events``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from google.protobuf import timestamp_pb2

from durabletask.internal.proto import sidecar_admin_pb2 as admin
from durabletask.sidecar.clock import to_timestamp
from durabletask.sidecar.errors import TooManyOrphanEventsError
from durabletask.sidecar.store.base import InboxRow, Store

logger = logging.getLogger("durabletask.sidecar")

__all__ = ["keep_orphan_event", "list_orphan_events", "purge_orphan_events"]


def keep_orphan_event(store: Store, limit: int, instance_id: str, name: str) -> None:
    """Check there is room for one more event for the unknown ``instance_id``, and log it.

    Raises:
        TooManyOrphanEventsError: ``limit`` events are already kept for unknown ids.
    """
    kept = store.count_orphan_events()
    if kept >= limit:
        raise TooManyOrphanEventsError(
            f"no instance '{instance_id}' exists, and this sidecar already keeps {kept} "
            f"events for instances that do not exist (max_orphan_events={limit}); list "
            f"them with `durabletask orphan-events list` and delete them with "
            f"`durabletask orphan-events purge`"
        )
    logger.warning(
        "event %r was raised for instance %r, which does not exist; it is kept until an "
        "instance with that id starts (%d such event(s) kept; see `durabletask "
        "orphan-events list`)", name, instance_id, kept + 1,
        extra={"instance_id": instance_id, "event_name": name},
    )


def _name(row: InboxRow) -> str:
    kind = row.event.WhichOneof("eventType") or "event"
    return row.event.eventRaised.name if kind == "eventRaised" else kind


def list_orphan_events(
    store: Store, limit: int, max_events: int
) -> admin.ListOrphanEventsResponse:
    """Return the kept events grouped by instance id, oldest first (``limit`` ids at most)."""
    rows = store.orphan_events()
    response = admin.ListOrphanEventsResponse(total_events=len(rows), max_events=max_events)
    groups: dict[str, admin.OrphanEvents] = {}
    for row in rows:
        group = groups.get(row.instance_id)
        if group is None:
            group = groups[row.instance_id] = admin.OrphanEvents(instance_id=row.instance_id)
            group.first_raised_at.CopyFrom(row.event.timestamp)
        group.count += 1
        group.last_raised_at.CopyFrom(row.event.timestamp)
        name = _name(row)
        if name not in group.names:
            group.names.append(name)
    response.total_instances = len(groups)
    response.instances.extend(list(groups.values())[:limit])
    return response


def purge_orphan_events(
    store: Store, instance_ids: Collection[str], before: datetime | None
) -> int:
    """Delete kept events of ``instance_ids`` (all when empty) raised before ``before``."""
    wanted = set(instance_ids)
    cutoff = None if before is None else to_timestamp(before)
    seqs = [
        row.seq for row in store.orphan_events()
        if (not wanted or row.instance_id in wanted)
        and (cutoff is None or _before(row, cutoff))
    ]
    deleted = store.delete_orphan_events(seqs) if seqs else 0
    if deleted:
        logger.info("purged %d event(s) kept for instances that do not exist", deleted,
                    extra={"deleted_events": deleted})
    return deleted


def _before(row: InboxRow, cutoff: timestamp_pb2.Timestamp) -> bool:
    stamp = row.event.timestamp
    return (stamp.seconds, stamp.nanos) < (cutoff.seconds, cutoff.nanos)
