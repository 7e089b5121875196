"""The ``Store`` protocol: atomic, transaction-shaped persistence for the sidecar."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store.entity_base import EntityMessage, EntityStore

TERMINAL_STATUSES: frozenset[int] = frozenset(
    {
        pb.ORCHESTRATION_STATUS_COMPLETED,
        pb.ORCHESTRATION_STATUS_FAILED,
        pb.ORCHESTRATION_STATUS_TERMINATED,
    }
)


class StoreOpenError(Exception):
    """A store could not be opened (corrupt, unwritable or foreign file); names the file."""

    def __init__(self, path: str, reason: str) -> None:
        """Describe the failure.

        Args:
            path: The database file.
            reason: What is wrong with it and what to do.
        """
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"cannot use the database file {self.path!r}: {self.reason}"


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRecord:
    """The stored metadata of one orchestration instance (not its history)."""

    instance_id: str
    """The instance id."""
    execution_id: str
    """Id of the current execution; changes on continue-as-new, restart and rewind."""
    name: str
    """Orchestrator name."""
    created_at: datetime
    """When the instance was created (UTC)."""
    last_updated_at: datetime
    """When the instance last changed (UTC)."""
    version: str | None = None
    """Orchestrator version, or None."""
    status: int = pb.ORCHESTRATION_STATUS_PENDING
    """An ``OrchestrationStatus`` value."""
    input: str | None = None
    """Serialized input of the current execution."""
    output: str | None = None
    """Serialized output once terminal."""
    custom_status: str | None = None
    """Serialized custom status set by the orchestrator."""
    failure: pb.TaskFailureDetails | None = None
    """Failure details when FAILED."""
    tags: dict[str, str] = field(default_factory=dict)
    """Instance tags (never mutated in place)."""
    parent_instance_id: str | None = None
    """Parent instance id for sub-orchestrations."""
    parent_task_id: int | None = None
    """The parent's ``createSubOrchestration`` action id."""
    completed_at: datetime | None = None
    """When the instance reached a terminal status (UTC)."""
    scheduled_start_at: datetime | None = None
    """Requested start time, if any."""
    trace_context: pb.OrchestrationTraceContext | None = None
    """Orchestration span info the worker asked the sidecar to keep."""

    @property
    def is_terminal(self) -> bool:
        """True when the status is COMPLETED, FAILED or TERMINATED."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxRow:
    """One event waiting in an instance's inbox."""

    seq: int
    """Store-wide increasing sequence number (FIFO order)."""
    instance_id: str
    """Target instance."""
    event: pb.HistoryEvent
    """The event to deliver."""
    visible_at: datetime | None = None
    """Not delivered before this time (timers, scheduled starts); None means now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityTask:
    """One queued activity invocation."""

    seq: int
    """Store-wide sequence number identifying the task."""
    instance_id: str
    """The orchestration that scheduled it."""
    execution_id: str
    """The execution that scheduled it; results for other executions are dropped."""
    request: pb.ActivityRequest
    """The request sent to the worker."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Episode:
    """What one orchestration dispatch needs: instance, past history and visible inbox."""

    record: InstanceRecord
    """The instance metadata."""
    history: Sequence[pb.HistoryEvent]
    """Committed history (read-only view; do not mutate)."""
    inbox: Sequence[InboxRow]
    """Visible inbox rows, in arrival order (never empty)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxMessage:
    """An event for some instance's inbox, written by an episode commit."""

    target_id: str
    """Receiving instance (may be the committing instance itself, e.g. timers)."""
    event: pb.HistoryEvent
    """The event."""
    visible_at: datetime | None = None
    """Delivery time for timers; None means now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewChild:
    """A sub-orchestration created by an episode commit."""

    record: InstanceRecord
    """The child's initial (PENDING) record."""
    start_event: pb.HistoryEvent
    """Its ``executionStarted`` event, placed in the child's inbox."""
    failed_event: pb.HistoryEvent
    """Sent to the parent instead if a non-terminal instance with that id exists."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeCommit:
    """Everything one orchestration episode changes, applied atomically."""

    instance_id: str
    """The committing instance."""
    expected_execution_id: str
    """The execution that was dispatched; the commit is refused if it changed."""
    record: InstanceRecord
    """The instance's new metadata."""
    consumed: tuple[int, ...]
    """Inbox sequence numbers delivered in this episode, to delete."""
    history_append: Sequence[pb.HistoryEvent] = ()
    """Events appended to the history (ignored when ``history_replace`` is set)."""
    history_replace: Sequence[pb.HistoryEvent] | None = None
    """When set, the history becomes exactly this (continue-as-new, rewind)."""
    activities: Sequence[pb.ActivityRequest] = ()
    """Activity tasks to enqueue."""
    messages: Sequence[OutboxMessage] = ()
    """Inbox rows for this or other instances (timers, events, notifications)."""
    children: Sequence[NewChild] = ()
    """Sub-orchestrations to create."""
    entity_messages: Sequence[EntityMessage] = ()
    """Messages for entity inboxes (``sendEntityMessage`` actions, released locks)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitResult:
    """What a successful commit created that the dispatcher must know about."""

    activity_tasks: Sequence[ActivityTask] = ()
    """The enqueued activity tasks with their sequence numbers."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceQuery:
    """Filter, order and page for listing instances."""

    statuses: frozenset[int] | None = None
    """Only these statuses (None: any)."""
    created_from: datetime | None = None
    """Created at or after this time."""
    created_to: datetime | None = None
    """Created at or before this time."""
    completed_from: datetime | None = None
    """Completed at or after this time (implies completed)."""
    completed_to: datetime | None = None
    """Completed at or before this time (implies completed)."""
    id_prefix: str | None = None
    """Instance id starts with this."""
    name: str | None = None
    """Orchestrator name equals this."""
    search: str | None = None
    """Instance id or orchestrator name contains this, ignoring ASCII case (see
    :func:`ascii_lower`)."""
    order_by: Literal["created", "completed"] = "created"
    """Sort key; ``completed`` lists only instances with a completion time."""
    descending: bool = False
    """Newest first: sort by (sort time, instance id) from the largest key down."""
    after: tuple[datetime, str] | None = None
    """Return only rows strictly after this (sort time, instance id) key in the sort order
    (smaller keys when ``descending``)."""
    limit: int | None = None
    """Maximum rows returned (None: all)."""


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as SQLite's ``lower()`` does (the search's case rule)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Store(EntityStore, Protocol):
    """Persistence for instances, histories, inboxes, the activity queue and entities.

    Every method is one atomic transaction. The sidecar calls them from a
    single thread (its event loop), so implementations need no locking of
    their own against the sidecar, only durability and atomicity.
    Events given to the store must not be mutated afterwards by the caller,
    and values returned (histories in particular) must not be mutated.
    """

    groups_commits: bool
    """True when :meth:`group` saves work (each commit costs a disk flush), so the
    sidecar should gather completions that arrive together into one group."""

    def group(self) -> AbstractContextManager[None]:
        """Make the mutating calls inside the block one durable transaction.

        Each call inside the block is as atomic as outside it (in ``SqliteStore``
        a call that raises leaves no trace), but none is durable before the block
        exits without an exception; if the final commit fails, none of them
        happened and the block raises. Nothing else may use the store while a
        group is open.
        """
        ...

    def create_instance(
        self,
        record: InstanceRecord,
        start_event: pb.HistoryEvent,
        *,
        visible_at: datetime | None = None,
        replaceable_statuses: frozenset[int] = frozenset(),
    ) -> bool:
        """Create an instance and put ``start_event`` in its inbox.

        If an instance with the id exists and its status is in
        ``replaceable_statuses``, it is replaced (history, inbox, activity
        tasks and loss counts deleted). Inbox rows queued for an id that did
        not exist yet are kept and delivered to the new instance.

        Args:
            record: The new instance's record (normally PENDING).
            start_event: Its ``executionStarted`` event.
            visible_at: Earliest delivery time of the start event.
            replaceable_statuses: Statuses of an existing instance that may be replaced.

        Returns:
            True if created; False if an instance exists that may not be replaced.
        """
        ...

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """Return the instance record, or None if it does not exist."""
        ...

    def get_history(self, instance_id: str) -> Sequence[pb.HistoryEvent] | None:
        """Return the committed history, or None if the instance does not exist."""
        ...

    def append_inbox(
        self, instance_id: str, event: pb.HistoryEvent, *, visible_at: datetime | None = None
    ) -> bool:
        """Add an event to an instance's inbox.

        Events for an id that does not exist yet are kept until it is created.

        Returns:
            False if the event was dropped because the instance is terminal.
        """
        ...

    def load_episode(self, instance_id: str, now: datetime) -> Episode | None:
        """Return the instance, its history and its inbox rows visible at ``now``.

        Returns:
            None if the instance does not exist or has no visible inbox rows.
        """
        ...

    def commit_episode(self, commit: EpisodeCommit) -> CommitResult | None:
        """Apply one episode atomically.

        Refused (returns None, changes nothing) if the instance is gone or its
        execution id differs from ``commit.expected_execution_id``. Otherwise:
        replaces or appends history, stores ``commit.record``, deletes the
        consumed inbox rows, enqueues activities, writes messages (dropped
        for terminal targets), queues the entity messages, creates children
        (replacing terminal ones; if a non-terminal instance holds a child id,
        the child's ``failed_event`` goes to the committing instance's inbox instead),
        resets the instance's lost-worker count, and, if the new status is
        terminal, deletes the instance's remaining inbox rows.

        Returns:
            The created activity tasks, or None if the commit was refused.
        """
        ...

    def commit_activity_result(self, task_seq: int, event: pb.HistoryEvent) -> bool:
        """Delete an activity task and deliver its result to its instance's inbox.

        The result is dropped if the task no longer exists (already answered),
        or its instance is missing, terminal, or on another execution.

        Returns:
            True if the result event was added to the inbox.
        """
        ...

    def drop_activity_task(self, task_seq: int) -> None:
        """Delete an activity task without delivering a result (no-op if missing)."""
        ...

    def pending_activity_tasks(self) -> list[ActivityTask]:
        """Return all queued activity tasks in sequence order (used at startup)."""
        ...

    def pending_inbox(self) -> list[tuple[str, datetime | None]]:
        """Return each distinct (instance id, ``visible_at``) pair of the inbox rows.

        Used at startup to re-arm dispatch and every durable timer (an instance
        with several pending timers appears once per due time). ``None`` means
        a row is visible immediately.
        """
        ...

    def record_orchestration_loss(self, instance_id: str) -> int:
        """Count one lost worker for the instance's pending episode; return the total."""
        ...

    def record_activity_loss(self, task_seq: int) -> int:
        """Count one lost worker for an activity task; return the total."""
        ...

    def rewind_instance(
        self, instance_id: str, event: pb.HistoryEvent, now: datetime
    ) -> InstanceRecord | None:
        """Set a FAILED instance RUNNING, clear output/failure and enqueue ``event``.

        Returns:
            The updated record, or None if the instance is missing or not FAILED.
        """
        ...

    def purge_instance(self, instance_id: str) -> bool:
        """Delete a terminal instance with its history, inbox and activity tasks.

        Returns:
            True if deleted; False if missing or not terminal.
        """
        ...

    def query_instances(self, query: InstanceQuery) -> list[InstanceRecord]:
        """Return the instances matching ``query`` in its sort order."""
        ...

    def count_by_status(self, query: InstanceQuery) -> dict[int, int]:
        """Count the instances matching ``query``'s filters, by status.

        Order, ``after`` and ``limit`` are ignored. Statuses without instances are left out.
        """
        ...

    def count_orphan_events(self) -> int:
        """Count the inbox rows kept for instance ids that do not exist."""
        ...

    def orphan_events(self, limit: int | None = None) -> list[InboxRow]:
        """Return the inbox rows kept for instance ids that do not exist, oldest first.

        Args:
            limit: Most rows returned (None: all).
        """
        ...

    def delete_orphan_events(self, seqs: Iterable[int]) -> int:
        """Delete those of the inbox rows ``seqs`` whose instance does not exist.

        Returns:
            How many rows were deleted.
        """
        ...

    def clear(self) -> None:
        """Delete everything."""
        ...

    def close(self) -> None:
        """Release resources; safe to call twice."""
        ...
