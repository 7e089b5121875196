"""``EntityCore``: entity signals, queries, clean-up, batch dispatch and completion.

It sits beside ``TaskHubCore`` and shares its store, dispatcher, timers and
group commit. Like the orchestration core, every method runs on the sidecar's
event loop and never awaits between a store change and the dispatch or wake-ups
that follow it (for worker completions those follow the group's commit).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.clock import Clock
from durabletask.sidecar.dispatcher import Dispatcher, Lease
from durabletask.sidecar.work_filter import WorkKind
from durabletask.sidecar.entities import batches, scheduler
from durabletask.sidecar.entities.batches import PreparedEntityBatch
from durabletask.sidecar.store.base import Store
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityCommitResult,
    EntityQuery,
    EntityRecord,
    EntityRow,
)
from durabletask.sidecar.timers import TimerScheduler
from durabletask.sidecar.transitions import failure

logger = logging.getLogger("durabletask.sidecar")

CLEAN_PAGE_SIZE = 500
"""Entities examined per ``CleanEntityStorage`` call; the client follows the continuation."""

Effect = Callable[[], None]

_END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)


class EntityHost(Protocol):
    """What the entity core needs from the orchestration core."""

    def after_commit(self, effect: Effect) -> None:
        """Run ``effect`` once the current transition is durable."""
        ...

    def durably(self, operation: Callable[[], None]) -> Awaitable[None]:
        """Apply a worker completion (in a commit group when the store groups commits)."""
        ...

    def wake_instance(self, instance_id: str, visible_at: datetime | None = None) -> None:
        """An orchestration got inbox events (or was created) and may run."""
        ...

    def instance_created(self, instance_id: str, visible_at: datetime | None) -> None:
        """An orchestration was created by an entity."""
        ...


@dataclass(frozen=True, slots=True)
class CleanResult:
    """What one ``CleanEntityStorage`` page did."""

    removed: int
    """Entities without state, lock or queued messages that were deleted."""
    released: int
    """Locks released because their holder ended or is gone."""
    next_after: str | None
    """Where the next page starts (None: this was the last page)."""


class EntityCore:
    """Entity behaviour of one task hub."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        timers: TimerScheduler,
        clock: Clock,
        host: EntityHost,
        max_recovery_attempts: int,
        max_batch_bytes: int,
    ) -> None:
        """Wire the entity core to the hub's parts.

        Args:
            store: The hub's store.
            dispatcher: Hands entity batches to worker streams.
            timers: Fires delayed signals.
            clock: Time source of timestamps, timers, leases and pings (the time seam).
            host: The orchestration core (commit effects, waking orchestrations).
            max_recovery_attempts: Quoted in the failure of a batch whose workers were lost.
            max_batch_bytes: Largest ``EntityRequest`` sent; a batch over it is split, and
                an operation that alone is over it fails (``WorkItemTooLarge``).
        """
        self._store = store
        self._dispatcher = dispatcher
        self._timers = timers
        self._clock = clock
        self._host = host
        self._max_recovery_attempts = max_recovery_attempts
        self._max_batch_bytes = max_batch_bytes

    def start(self) -> int:
        """Re-arm every entity with queued messages (delayed signals included); return how many."""
        pending = self._store.pending_entity_rows()
        for entity_id, visible_at in pending:
            self.wake(entity_id, visible_at)
        return len({entity_id for entity_id, _ in pending})

    # ----- client operations -------------------------------------------------

    def signal(self, request: pb.SignalEntityRequest) -> None:
        """Queue a client signal; it is delayed until its ``scheduledTime``, if set."""
        message = batches.signal_message(
            request.instanceId, request.name, self._clock.now(), data=request,
            request_id=request.requestId, source_id=None,
        )
        self._store.append_entity_messages([message])
        self.wake(message.target_id, message.visible_at)

    def get(self, entity_id: str) -> EntityRecord | None:
        """Return an entity that exists for users: one with state (DTFx semantics)."""
        record = self._store.get_entity(entity_id)
        return record if record is not None and record.state is not None else None

    def inspect(self, entity_id: str) -> tuple[EntityRecord, list[EntityRow]] | None:
        """Return an entity as stored and every message it has queued, in arrival order.

        Unlike :meth:`get` this also returns an entity without state (one that only holds
        a lock or has messages waiting), and the queue includes delayed signals that are
        not due yet. For tools that show what an entity holds and waits for (the
        dashboard). None if the sidecar has no record of the entity.
        """
        return self._store.load_entity(entity_id, _END_OF_TIME)

    def query(self, query: EntityQuery) -> list[EntityRecord]:
        """Return the entities matching ``query``."""
        return self._store.query_entities(query)

    def clean(self, remove_empty: bool, release_orphaned: bool, after: str | None) -> CleanResult:
        """Release locks whose holder ended and delete empty entities, one page at a time.

        A lock is orphaned only if the orchestration holding it is gone, has ended, or
        runs another execution; locks of running orchestrations are never released.
        """
        records = self._store.query_entities(EntityQuery(after=after, limit=CLEAN_PAGE_SIZE + 1))
        more = len(records) > CLEAN_PAGE_SIZE
        records = records[:CLEAN_PAGE_SIZE]
        removed = released = 0
        for record in records:
            lock = record.lock
            if release_orphaned and lock and not self.holder_alive(
                lock.holder_id, lock.holder_execution
            ):
                logger.info("releasing the lock of %s held by ended orchestration %s",
                            record.entity_id, lock.holder_id)
                self._apply(EntityCommit(entity_id=record.entity_id,
                                         record=dataclasses.replace(record, lock=None)))
                released += 1
                lock = None
            if (remove_empty and record.state is None and lock is None
                    and not self._dispatcher.entity_in_flight(record.entity_id)
                    and self._store.delete_entity(record.entity_id)):
                removed += 1
        return CleanResult(removed, released, records[-1].entity_id if more else None)

    # ----- worker operations -------------------------------------------------

    async def complete(self, result: pb.EntityBatchResult) -> None:
        """Commit a worker's ``EntityBatchResult``; returns once it is durable."""
        await self._host.durably(lambda: self._complete(result))

    def _complete(self, result: pb.EntityBatchResult) -> None:
        lease = self._dispatcher.take_lease(result.completionToken, WorkKind.ENTITY)
        if lease is None or lease.batch is None:
            logger.info("ignoring entity batch completion with a stale or unknown token")
            self._host.after_commit(self._dispatcher.pump)
            return
        entity_id = lease.instance_id
        record = self._store.get_entity(entity_id)
        if result.requiresState or record is None:
            self._host.after_commit(lambda: self._committed(EntityCommit(entity_id=entity_id),
                                                            EntityCommitResult(), True))
            return
        self._apply(batches.apply_result(lease.batch, record, result, self._clock.now()))

    # ----- WorkSource (called by the dispatcher) -----------------------------

    def prepare(self, entity_id: str) -> PreparedEntityBatch | None:
        """Apply pending lock changes and build the entity's next batch (None: nothing runs)."""
        step = self._step(entity_id)
        if step is None or not step.operations:
            return None
        record = self._store.get_entity(entity_id)
        assert record is not None  # the step just read it; nothing ran in between
        operations = step.operations
        while True:
            batch = batches.build_batch(record, operations)
            size = batch.request.ByteSize()
            if size <= self._max_batch_bytes:
                return batch
            if len(operations) > 1:
                operations = operations[: len(operations) // 2]
                continue
            details = failure(
                "WorkItemTooLarge",
                f"operation {_operation_name(operations[0])!r} of entity '{entity_id}' and the "
                f"entity's state make a work item of {size} bytes, over the sidecar's limit of "
                f"{self._max_batch_bytes} bytes; keep entity state and inputs smaller, or start "
                f"the sidecar with a larger max_message_bytes",
            )
            self._apply(batches.fail_batch(batch, record, details, self._clock.now()))
            return None

    def worker_lost(self, lease: Lease, losses: int) -> None:
        """Fail a batch whose workers were lost too often: each caller gets the failure."""
        batch = lease.batch
        record = self._store.get_entity(lease.instance_id)
        if batch is None or record is None:
            return
        details = failure(
            "WorkerLost",
            f"{losses} workers were lost while processing a batch of {len(batch.operations)} "
            f"operation(s) of entity '{lease.instance_id}'; the sidecar stopped redelivering "
            f"it after max_recovery_attempts={self._max_recovery_attempts}. Check the worker "
            f"logs for crashes, or raise max_recovery_attempts",
        )
        self._apply(batches.fail_batch(batch, record, details, self._clock.now()))

    # ----- wake-ups -----------------------------------------------------------

    def wake(self, entity_id: str, visible_at: datetime | None = None) -> None:
        """An entity got messages (due at ``visible_at``): handle locks, queue its next batch."""
        if visible_at is not None and visible_at > self._clock.now():
            self._timers.schedule(visible_at, lambda: self.wake(entity_id))
            return
        if self._dispatcher.entity_scheduled(entity_id):
            return  # its dispatch (or completion) looks at the queue again
        step = self._step(entity_id)
        if step is not None and step.operations:
            self._dispatcher.mark_entity_ready(entity_id)

    def holder_alive(self, instance_id: str, execution_id: str | None) -> bool:
        """True if the orchestration (that execution, when given) exists and has not ended."""
        record = self._store.get_instance(instance_id)
        if record is None or record.is_terminal:
            return False
        return execution_id is None or record.execution_id == execution_id

    def _step(self, entity_id: str) -> scheduler.EntityStep | None:
        now = self._clock.now()
        loaded = self._store.load_entity(entity_id, now)
        if loaded is None:
            return None
        step = scheduler.plan_step(*loaded, now, self.holder_alive)
        if step.commit is not None:
            self._apply(step.commit, wake_entity=False)  # the caller acts on the step
        return step

    def _apply(self, commit: EntityCommit, *, wake_entity: bool = True) -> None:
        """Commit; afterwards wake the receivers (and the entity itself when asked)."""
        result = self._store.commit_entity(commit)
        self._host.after_commit(lambda: self._committed(commit, result, wake_entity))

    def _committed(
        self, commit: EntityCommit, result: EntityCommitResult, wake_entity: bool
    ) -> None:
        for message in commit.entity_messages:
            self.wake(message.target_id, message.visible_at)
        for instance_id in result.delivered_to:
            self._host.wake_instance(instance_id)
        created = set(result.created)
        for new in commit.new_instances:
            if new.record.instance_id in created:
                self._host.instance_created(new.record.instance_id, new.visible_at)
            else:
                logger.info("entity %s did not start orchestration %r: it is still running",
                            commit.entity_id, new.record.instance_id)
        if wake_entity:
            self.wake(commit.entity_id)
            self._dispatcher.pump()  # a completion frees room on its stream


def _operation_name(row: EntityRow) -> str:
    event = row.event
    kind = event.WhichOneof("eventType") or ""
    return str(getattr(event, kind).operation) if kind else ""
