"""Which queued messages an entity handles next: locks, lock holders and the next batch (pure).

An entity handles its inbox in arrival order, one batch at a time. Lock
requests and unlocks are handled by the sidecar itself; operations go to a
worker as a batch. The rules (those of the DTFx entity scheduler, which the
Durable Task Scheduler follows):

* An unlocked entity runs every queued operation. A lock request takes the lock
  for its critical section; it is then forwarded to the next entity of the sorted
  lock set (``position`` + 1), or, at the last one, ``entityLockGranted`` goes to the
  orchestration. Entities are thus acquired one after another in a global order,
  which cannot deadlock.
* A locked entity runs only the operations its lock holder sent; other operations
  and lock requests wait in the queue, in order, until the holder unlocks.
* An unlock for the held section releases the lock; an unlock for a section that
  is still waiting in the queue cancels that request.
* A lock request whose orchestration has ended (or moved to another execution)
  is dropped instead of granted, so an ended orchestration never gets a lock.
* A lock whose holder has ended or is gone without unlocking (its instance was
  replaced, or the database predates release-on-end) is released the next time
  the entity looks at its queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.clock import to_timestamp
from durabletask.sidecar.store.entity_base import (
    EntityCommit,
    EntityLock,
    EntityMessage,
    EntityRecord,
    EntityRow,
    ResponseMessage,
)

MAX_BATCH_OPERATIONS = 100
"""Most operations sent to a worker in one batch; the rest follow in the next."""

HolderAlive = Callable[[str, "str | None"], bool]
"""``(instance id, execution id or None) -> bool``: whether that orchestration still runs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityStep:
    """The outcome of looking at an entity's queue."""

    commit: EntityCommit | None
    """Lock changes to apply first (None: none)."""
    operations: tuple[EntityRow, ...]
    """Operations that may run now, in order (at most ``MAX_BATCH_OPERATIONS``)."""
    lock: EntityLock | None
    """The lock after the step."""


def is_operation(event: pb.HistoryEvent) -> bool:
    """True for ``entityOperationSignaled`` and ``entityOperationCalled``."""
    return bool(
        event.HasField("entityOperationSignaled") or event.HasField("entityOperationCalled")
    )


def sender(row: EntityRow) -> str | None:
    """The orchestration (or entity) an operation came from; None for client signals."""
    if row.event.HasField("entityOperationCalled"):
        called = row.event.entityOperationCalled
        if called.HasField("parentInstanceId"):
            return str(called.parentInstanceId.value)
    return row.source_id


@dataclass(slots=True)
class _Plan:
    now: datetime
    alive: HolderAlive
    lock: EntityLock | None = None
    consumed: list[int] = field(default_factory=list)
    batch: list[EntityRow] = field(default_factory=list)
    forwards: list[EntityMessage] = field(default_factory=list)
    grants: list[ResponseMessage] = field(default_factory=list)
    cancelled: set[str] = field(default_factory=set)

    def run(self, rows: Sequence[EntityRow]) -> None:
        """Handle the queue in order until it is empty, blocked, or a batch is full."""
        queue = deque(rows)
        deferred: list[EntityRow] = []
        while queue:
            row = queue.popleft()
            event = row.event
            if event.HasField("entityUnlockSent"):
                if self.unlock(row):
                    queue.extendleft(reversed(deferred))  # waiters go first, in order
                    deferred = []
            elif event.HasField("entityLockRequested"):
                if self.lock is not None:
                    deferred.append(row)
                elif self.batch:
                    break  # earlier operations run before the lock is taken
                else:
                    self.lock_request(row)
            elif is_operation(event):
                if self.lock is not None and sender(row) != self.lock.holder_id:
                    deferred.append(row)
                    continue
                self.batch.append(row)
                if len(self.batch) >= MAX_BATCH_OPERATIONS:
                    break
            else:
                self.consumed.append(row.seq)  # not a message an entity understands

    def unlock(self, row: EntityRow) -> bool:
        """Handle an unlock; True if it released the held lock."""
        section = row.event.entityUnlockSent.criticalSectionId
        self.consumed.append(row.seq)
        if self.lock is not None and self.lock.section_id == section:
            self.lock = None
            return True
        self.cancelled.add(section)
        return False

    def lock_request(self, row: EntityRow) -> None:
        """Grant a lock request to the free entity (or drop it if its holder is gone)."""
        request = row.event.entityLockRequested
        holder = request.parentInstanceId.value or row.source_id or ""
        self.consumed.append(row.seq)
        if request.criticalSectionId in self.cancelled or not self.alive(
            holder, row.source_execution
        ):
            return
        self.lock = EntityLock(holder_id=holder, holder_execution=row.source_execution,
                               section_id=request.criticalSectionId)
        position = request.position + 1
        if position < len(request.lockSet):
            forward = self.event()
            forward.entityLockRequested.CopyFrom(request)
            forward.entityLockRequested.position = position
            self.forwards.append(EntityMessage(
                target_id=request.lockSet[position], event=forward,
                source_id=row.source_id, source_execution=row.source_execution,
            ))
            return
        granted = self.event()
        granted.entityLockGranted.criticalSectionId = request.criticalSectionId
        self.grants.append(ResponseMessage(
            instance_id=holder, execution_id=row.source_execution, event=granted,
        ))

    def event(self) -> pb.HistoryEvent:
        """A new message event stamped with the step time."""
        event = pb.HistoryEvent(eventId=-1)
        event.timestamp.CopyFrom(to_timestamp(self.now))
        return event


def plan_step(
    record: EntityRecord, rows: Sequence[EntityRow], now: datetime, alive: HolderAlive
) -> EntityStep:
    """Decide an entity's lock changes and the operations it may run next.

    Args:
        record: The entity as stored.
        rows: Its visible inbox rows in arrival order.
        now: Current time (timestamps of forwarded requests and grants).
        alive: Whether a lock requester still runs.

    Returns:
        The step: a commit for lock changes and consumed control messages (None if
        nothing changed), and the operations to send as the next batch.
    """
    lock = record.lock
    if lock is not None and not alive(lock.holder_id, lock.holder_execution):
        lock = None
    plan = _Plan(now=now, alive=alive, lock=lock)
    plan.run(rows)
    commit = None
    if plan.consumed or plan.lock != record.lock:
        commit = EntityCommit(
            entity_id=record.entity_id,
            record=replace(record, lock=plan.lock) if plan.lock != record.lock else None,
            consumed=tuple(plan.consumed),
            entity_messages=plan.forwards,
            responses=plan.grants,
        )
    return EntityStep(commit=commit, operations=tuple(plan.batch), lock=plan.lock)
