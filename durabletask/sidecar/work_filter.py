"""Kinds of work items and the filters by which a worker stream picks what it accepts."""

from __future__ import annotations

import enum

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["WorkFilter", "WorkKind"]


class WorkKind(enum.Enum):
    """The kinds of leased work items."""

    ORCHESTRATION = "orchestration"
    ACTIVITY = "activity"
    ENTITY = "entity"


class WorkFilter:
    """Which orchestrations, activities and entities a stream accepts (``workItemFilters``)."""

    def __init__(self, filters: pb.WorkItemFilters) -> None:
        """Parse the filters; an empty version list means any version.

        Args:
            filters: The request's filters.
        """
        self._allowed: dict[WorkKind, dict[str, frozenset[str]]] = {
            WorkKind.ORCHESTRATION: {f.name: frozenset(f.versions) for f in filters.orchestrations},
            WorkKind.ACTIVITY: {f.name: frozenset(f.versions) for f in filters.activities},
            # Entities match by the name part of their id, case-insensitively.
            WorkKind.ENTITY: {f.name.lower(): frozenset() for f in filters.entities},
        }

    @classmethod
    def from_request(cls, request: pb.GetWorkItemsRequest) -> WorkFilter | None:
        """Return the stream's filter, or None to accept everything.

        A filter message with every list empty is treated as absent, since
        a worker that accepts nothing at all cannot be what was meant.
        """
        if not request.HasField("workItemFilters"):
            return None
        f = request.workItemFilters
        if not (f.orchestrations or f.activities or f.entities):
            return None
        return cls(f)

    def accepts(self, kind: WorkKind, name: str, version: str | None) -> bool:
        """True if a work item of this kind, name and version passes the filter."""
        versions = self._allowed[kind].get(name)
        if versions is None:
            return False
        return not versions or (version or "") in versions

    def names(self, kind: WorkKind) -> dict[str, frozenset[str]]:
        """The accepted names of ``kind`` and their versions (empty: any version)."""
        return dict(self._allowed[kind])
