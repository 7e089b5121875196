"""Entity records and the entity half of the ``Store`` protocol.

An entity (id ``@name@key``) has a record (serialized state, last change, the
lock of a critical section) and an inbox of messages in arrival order:
operations (``entityOperationSignaled`` / ``entityOperationCalled``), lock
requests and unlocks. Every change is one atomic store call, like the
orchestration transitions, so SQLite stays one transaction per state change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from durabletask.internal.proto import orchestrator_service_pb2 as pb

if TYPE_CHECKING:  # base imports this module; the annotation is only a string here
    from durabletask.sidecar.store.base import InstanceRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityLock:
    """Who holds an entity's lock: one critical section of one orchestration execution."""

    holder_id: str
    """The orchestration instance that requested the lock."""
    holder_execution: str | None
    """Its execution when it asked (None if unknown); another execution does not hold it."""
    section_id: str
    """The critical section id (``criticalSectionId``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityRecord:
    """The stored metadata and state of one entity."""

    entity_id: str
    """The entity id, ``@name@key``."""
    last_modified_at: datetime
    """When the entity was created or its state last written (UTC)."""
    state: str | None = None
    """Serialized state; None when the entity has none (a "transient" entity)."""
    lock: EntityLock | None = None
    """The critical section holding the entity, if any."""
    backlog: int = 0
    """Messages queued for the entity (filled in by the store when read; ignored on write)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityRow:
    """One message waiting in an entity's inbox."""

    seq: int
    """Increasing sequence number (FIFO order per entity)."""
    entity_id: str
    """Target entity."""
    event: pb.HistoryEvent
    """The message: operation, lock request or unlock."""
    visible_at: datetime | None = None
    """Not processed before this time (delayed signals); None means now."""
    source_id: str | None = None
    """The orchestration or entity that sent it; None for a client signal."""
    source_execution: str | None = None
    """The sending orchestration's execution, when an orchestration sent it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityMessage:
    """A message to write into an entity's inbox (creating the entity if it is new)."""

    target_id: str
    """Receiving entity."""
    event: pb.HistoryEvent
    """The message."""
    visible_at: datetime | None = None
    """Delivery time for delayed signals; None means now."""
    source_id: str | None = None
    """Sender (orchestration or entity id); None for client signals."""
    source_execution: str | None = None
    """Sender's execution when the sender is an orchestration."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseMessage:
    """An event for an orchestration's inbox: an operation result or a lock grant.

    Dropped if the orchestration is missing or terminal, or runs another execution.
    """

    instance_id: str
    """The orchestration."""
    execution_id: str | None
    """The execution that asked; None accepts any current execution."""
    event: pb.HistoryEvent
    """The event to deliver."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewInstance:
    """An orchestration an entity starts.

    It replaces a finished (completed, failed or terminated) instance with its id, as the
    1.12.0 in-memory backend does, and is skipped if that instance still runs.
    """

    record: InstanceRecord
    """Its initial (PENDING) record."""
    start_event: pb.HistoryEvent
    """Its ``executionStarted`` event."""
    visible_at: datetime | None = None
    """Scheduled start, if any."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityCommit:
    """One entity transition, applied atomically."""

    entity_id: str
    """The entity."""
    record: EntityRecord | None = None
    """The entity's new record (state, lock, last change); None leaves it unchanged."""
    consumed: tuple[int, ...] = ()
    """Inbox sequence numbers to delete."""
    entity_messages: Sequence[EntityMessage] = ()
    """Messages for entity inboxes (signals, forwarded lock requests)."""
    responses: Sequence[ResponseMessage] = ()
    """Events for orchestration inboxes (results, lock grants)."""
    new_instances: Sequence[NewInstance] = ()
    """Orchestrations to create."""
    reset_losses: bool = False
    """Reset the entity's lost-worker count (a batch was answered)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityCommitResult:
    """What an entity commit delivered, so the sidecar can wake the receivers."""

    delivered_to: tuple[str, ...] = ()
    """Orchestrations that received a response."""
    created: tuple[str, ...] = ()
    """Orchestrations that were created."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityQuery:
    """Filter and page for listing entities, ordered by entity id."""

    id_prefix: str | None = None
    """Entity id starts with this."""
    modified_from: datetime | None = None
    """Last modified at or after this time."""
    modified_to: datetime | None = None
    """Last modified before this time."""
    include_transient: bool = True
    """Also list entities without state."""
    after: str | None = None
    """Only entities whose id sorts after this one."""
    limit: int | None = None
    """Maximum rows returned (None: all)."""


class EntityStore(Protocol):
    """Persistence of entity records and inboxes (part of every ``Store``)."""

    def append_entity_messages(self, messages: Sequence[EntityMessage]) -> None:
        """Queue messages in entity inboxes, creating records for new entities (one transaction)."""
        ...

    def get_entity(self, entity_id: str) -> EntityRecord | None:
        """Return the entity's record with its backlog, or None if it has none."""
        ...

    def load_entity(
        self, entity_id: str, now: datetime
    ) -> tuple[EntityRecord, list[EntityRow]] | None:
        """Return the record and the inbox rows visible at ``now`` in order; None if unknown."""
        ...

    def commit_entity(self, commit: EntityCommit) -> EntityCommitResult:
        """Apply one entity transition atomically (see ``EntityCommit``).

        The record is upserted when given; consumed rows are deleted; entity messages
        are queued (creating records); responses go to orchestration inboxes unless the
        target is missing, terminal or on another execution; new instances are created
        unless their id is taken.
        """
        ...

    def delete_entity(self, entity_id: str) -> bool:
        """Delete an entity that has no state, no lock and no queued messages.

        Returns:
            True if it was deleted.
        """
        ...

    def query_entities(self, query: EntityQuery) -> list[EntityRecord]:
        """Return the entities matching ``query`` ordered by id, with their backlogs."""
        ...

    def pending_entity_rows(self) -> list[tuple[str, datetime | None]]:
        """Return each distinct (entity id, ``visible_at``) of queued rows (used at startup)."""
        ...

    def record_entity_loss(self, entity_id: str) -> int:
        """Count one lost worker for the entity's pending batch; return the total."""
        ...
