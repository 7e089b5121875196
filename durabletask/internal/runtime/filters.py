"""Work-item filters: which orchestrations, activities and entities a worker asks for."""

from __future__ import annotations

from dataclasses import dataclass, field

from durabletask.internal.proto import orchestrator_service_pb2 as pb


@dataclass(frozen=True)
class OrchestrationWorkItemFilter:
    """Ask for orchestrations named ``name`` (any version when ``versions`` is empty)."""

    name: str
    versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ActivityWorkItemFilter:
    """Ask for activities named ``name`` (any version when ``versions`` is empty)."""

    name: str
    versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EntityWorkItemFilter:
    """Ask for entities named ``name`` (lower-cased, must not contain ``@``)."""

    name: str

    def __post_init__(self) -> None:
        if not self.name or "@" in self.name:
            raise ValueError(f"invalid entity name {self.name!r}: non-empty, without '@'")
        object.__setattr__(self, "name", self.name.lower())


@dataclass(frozen=True)
class WorkItemFilters:
    """The filters a worker sends in ``GetWorkItemsRequest.workItemFilters``."""

    orchestrations: list[OrchestrationWorkItemFilter] = field(default_factory=list)
    activities: list[ActivityWorkItemFilter] = field(default_factory=list)
    entities: list[EntityWorkItemFilter] = field(default_factory=list)

    def to_proto(self) -> pb.WorkItemFilters:
        """Return the wire form."""
        return pb.WorkItemFilters(
            orchestrations=[
                pb.OrchestrationFilter(name=f.name, versions=f.versions)
                for f in self.orchestrations
            ],
            activities=[
                pb.ActivityFilter(name=f.name, versions=f.versions) for f in self.activities
            ],
            entities=[pb.EntityFilter(name=f.name) for f in self.entities],
        )
