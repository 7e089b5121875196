"""Dispatcher: ready queues, worker streams, leases, tokens, redelivery and health pings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.clock import SYSTEM_CLOCK, Clock
from durabletask.sidecar.entities.batches import PreparedEntityBatch
from durabletask.sidecar.entities.ids import entity_name
from durabletask.sidecar import telemetry
from durabletask.sidecar.store.base import ActivityTask, Store
from durabletask.sidecar.timers import TimerEntry, TimerScheduler
from durabletask.sidecar.work_filter import WorkFilter, WorkKind
from durabletask.sidecar.transitions import EpisodeContext

logger = logging.getLogger("durabletask.sidecar")


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedEpisode:
    """An orchestration work item ready to send, with what its commit needs."""

    context: EpisodeContext
    """The episode as dispatched (record, past history, new events, consumed rows)."""
    item: pb.WorkItem
    """The work item for the worker (its ``orchestratorRequest``), without its token yet."""

    @property
    def request(self) -> pb.OrchestratorRequest:
        """The request for the worker."""
        return self.item.orchestratorRequest


@dataclass(eq=False, slots=True, kw_only=True)
class Lease:
    """One work item handed to a worker stream and not yet completed or abandoned."""

    token: str
    """Opaque completion token sent with the work item."""
    kind: WorkKind
    """Orchestration episode or activity."""
    instance_id: str
    """The orchestration instance (or, for entity batches, the entity) the item belongs to."""
    stream: WorkerStream
    """The stream holding the item."""
    episode: PreparedEpisode | None = None
    """Set for orchestration leases."""
    task: ActivityTask | None = None
    """Set for activity leases."""
    batch: PreparedEntityBatch | None = None
    """Set for entity leases."""
    delivered: bool = False
    """True once the item was written to the stream."""
    abandons: int = 0
    """Abandons (and failed commits) of the item before this lease was claimed."""
    delivered_at: datetime | None = None
    """When the item was written to the stream."""


class WorkSource(Protocol):
    """What the dispatcher needs from the sidecar core."""

    def prepare_orchestration(
        self, instance_id: str, *, stream_history: bool = False
    ) -> PreparedEpisode | None:
        """Build the next episode for an instance, or None if there is nothing to run."""
        ...

    def prepare_activity(self, task: ActivityTask) -> bool:
        """Check an activity task can still be sent; False drops it."""
        ...

    def prepare_entity(self, entity_id: str) -> PreparedEntityBatch | None:
        """Build the next batch of an entity, or None if none of its operations may run."""
        ...

    def worker_lost(self, lease: Lease, losses: int) -> None:
        """Give up on a work item whose workers were lost too many times."""
        ...


def _resolve_false(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


@dataclass(eq=False, slots=True)
class WorkerStream:
    """One connected ``GetWorkItems`` stream and the work it holds."""

    stream_id: int
    limits: dict[WorkKind, int]
    work_filter: WorkFilter | None
    outbox: deque[tuple[pb.WorkItem, Lease]] = field(default_factory=deque)
    waiter: asyncio.Future[bool] | None = None
    """Resolved (True) when the idle stream has something to do; see ``idle``."""
    leases: dict[str, Lease] = field(default_factory=dict)
    outstanding: dict[WorkKind, int] = field(
        default_factory=lambda: dict.fromkeys(WorkKind, 0)
    )
    closed: bool = False
    history_streaming: bool = False
    """The worker fetches past events itself (``WORKER_CAPABILITY_HISTORY_STREAMING``)."""
    worker_id: str | None = None
    """The worker's id (``durabletask-worker-id`` metadata), when it sends one."""
    draining: bool = False
    """The worker announced a clean stop: no new work; its leases outlive the stream."""
    drain_until: datetime | None = None
    """When a draining worker's leases stop being valid."""
    suspect: bool = False
    """A lease it held expired unanswered: no new work until it answers again."""
    dropped: bool = False
    """The stream is gone (ended, cancelled, or superseded by a newer one of its worker)."""
    expired_tokens: set[str] = field(default_factory=set)
    """Tokens of its leases that expired, by which a late answer is recognised."""
    connected_at: datetime | None = None
    """When the stream opened."""

    @property
    def open_for_work(self) -> bool:
        """True if new work may be sent to this stream."""
        return not (self.closed or self.draining or self.suspect)

    def has_capacity(self, kind: WorkKind) -> bool:
        """True if the stream may take another item of ``kind`` (0 means unlimited)."""
        limit = self.limits[kind]
        return limit <= 0 or self.outstanding[kind] < limit

    def accepts(self, kind: WorkKind, name: str, version: str | None) -> bool:
        """True if the stream has room for, and its filter passes, the item."""
        if not self.has_capacity(kind):
            return False
        return self.work_filter is None or self.work_filter.accepts(kind, name, version)

    def hold(self, lease: Lease, item: pb.WorkItem) -> None:
        """Queue an item for sending and account for it."""
        self.leases[lease.token] = lease
        self.outstanding[lease.kind] += 1
        self.outbox.append((item, lease))
        self.wake()

    def wake(self) -> None:
        """End the stream's idle wait (new work, or it was closed)."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(True)

    async def idle(self, ping_after: float, clock: Clock) -> bool:
        """Wait until woken (True) or ``ping_after`` seconds pass on ``clock`` (False).

        A plain future and one timer handle: this runs once per work item sent, so
        it avoids ``asyncio.wait_for``'s extra task and loop turns.
        """
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        timer = clock.call_later(ping_after, lambda: _resolve_false(waiter))
        try:
            return await waiter
        finally:
            timer.cancel()
            self.waiter = None

    def release(self, lease: Lease) -> None:
        """Forget a lease (completed, abandoned, revoked or lost)."""
        if self.leases.pop(lease.token, None) is not None:
            self.outstanding[lease.kind] -= 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchOptions:
    """Tuning of the dispatcher."""

    max_recovery_attempts: int = 5
    """Redeliveries after lost workers before the work item is failed."""
    health_ping_interval_seconds: float = 5.0
    """A ``healthPing`` goes to each stream idle this long."""
    abandon_backoff_base_seconds: float = 0.1
    """Redelivery delay after the first abandon; doubles per abandon."""
    abandon_backoff_cap_seconds: float = 5.0
    """Maximum redelivery delay after abandons."""
    lease_timeout_seconds: float = 300.0
    """A delivered item unanswered this long is taken back and counted as a lost worker."""
    fan_in_batch_window_seconds: float = 0.0
    """How long a ready instance with activities still out waits for more results."""


class Dispatcher:
    """Hands ready work to connected worker streams under leases.

    All methods run on the sidecar's event loop; ``stream`` is the body of
    one ``GetWorkItems`` call.
    """

    def __init__(
        self,
        store: Store,
        source: WorkSource,
        timers: TimerScheduler,
        options: DispatchOptions,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """Create a dispatcher with empty queues.

        Args:
            store: Where lost-worker counts are kept.
            source: Builds work items and fails items after too many losses.
            timers: Scheduler used for abandon backoff.
            options: Tuning.
            clock: Time source of timestamps, timers, leases and pings (the time seam).
        """
        self._store = store
        self._source = source
        self._timers = timers
        self._options = options
        self._clock = clock
        self._streams: list[WorkerStream] = []
        self._next_stream = 0
        self._ready: deque[str] = deque()
        self._ready_set: set[str] = set()
        self._activities: deque[ActivityTask] = deque()
        self._in_flight: dict[str, Lease] = {}
        # Entities with operations that may run, and the one batch each has out.
        self._entities: deque[str] = deque()
        self._entities_set: set[str] = set()
        self._entity_in_flight: dict[str, Lease] = {}
        self._leases: dict[str, Lease] = {}
        self._abandons: dict[tuple[WorkKind, str | int], int] = {}
        # Delivered leases by token in delivery order; with one timeout for all, that is
        # also expiry order, so one timer for the oldest lease covers them all.
        self._expiries: OrderedDict[str, tuple[datetime, Lease]] = OrderedDict()
        self._sweep: TimerEntry | None = None
        self._pumping = False
        self._pump_again = False
        # Activity tasks not yet answered, per instance: while some are out, a ready
        # instance waits a moment for more results (fan-in batching).
        self._open_tasks: dict[str, set[int]] = {}
        self._batching: set[str] = set()
        # Expired lease tokens -> the stream that held them (see WorkerStream.suspect).
        self._expired: dict[str, WorkerStream] = {}
        self._closing = False
        self._taken: list[Lease] | None = None

    @property
    def stream_count(self) -> int:
        """Number of connected worker streams."""
        return len(self._streams)

    def backlog(self) -> dict[str, int]:
        """Work waiting for a worker, by queue (for metrics)."""
        return {"orchestration": len(self._ready), "activity": len(self._activities),
                "entity": len(self._entities)}

    @property
    def quiet(self) -> bool:
        """True when no work is queued, assigned or leased (only timers may bring more)."""
        return not (self._ready or self._activities or self._entities or self._leases)

    @property
    def streams(self) -> tuple[WorkerStream, ...]:
        """Every connected worker stream, to read only (see ``workers_view``)."""
        return tuple(self._streams)

    def in_flight(self, instance_id: str) -> Lease | None:
        """Return the lease of the episode of ``instance_id`` out to a worker, if any."""
        return self._in_flight.get(instance_id)

    @property
    def closing(self) -> bool:
        """True once :meth:`close` was called (the sidecar is shutting down)."""
        return self._closing

    def mark_ready(self, instance_id: str) -> None:
        """Note that an instance may have work; it is dispatched when a stream is free.

        While the instance still has activities out, dispatch waits up to
        ``fan_in_batch_window_seconds`` so that several results share one episode.
        """
        window = self._options.fan_in_batch_window_seconds
        if window > 0 and self._open_tasks.get(instance_id):
            if instance_id not in self._batching:
                self._batching.add(instance_id)
                due = self._clock.now() + timedelta(seconds=window)
                self._timers.schedule(due, lambda: self._end_batching(instance_id))
            return
        self._make_ready(instance_id)

    def _end_batching(self, instance_id: str) -> None:
        if instance_id in self._batching:
            self._batching.discard(instance_id)
            self._make_ready(instance_id)

    def _make_ready(self, instance_id: str) -> None:
        self._batching.discard(instance_id)
        if instance_id not in self._in_flight and instance_id not in self._ready_set:
            self._ready.append(instance_id)
            self._ready_set.add(instance_id)
        self.pump()

    def mark_entity_ready(self, entity_id: str) -> None:
        """Note that an entity has operations that may run; one batch per entity is out."""
        if entity_id not in self._entity_in_flight and entity_id not in self._entities_set:
            self._entities.append(entity_id)
            self._entities_set.add(entity_id)
        self.pump()

    def entity_in_flight(self, entity_id: str) -> bool:
        """True while a batch of the entity is leased to a worker."""
        return entity_id in self._entity_in_flight

    def entity_scheduled(self, entity_id: str) -> bool:
        """True while the entity waits for a stream or has a batch out."""
        return entity_id in self._entities_set or entity_id in self._entity_in_flight

    def enqueue_activity(self, task: ActivityTask) -> None:
        """Queue an activity task for dispatch."""
        self._open_tasks.setdefault(task.instance_id, set()).add(task.seq)
        self._activities.append(task)
        self.pump()

    def _close_task(self, task: ActivityTask) -> None:
        open_tasks = self._open_tasks.get(task.instance_id)
        if open_tasks is not None:
            open_tasks.discard(task.seq)
            if not open_tasks:
                del self._open_tasks[task.instance_id]

    def take_lease(self, token: str, kind: WorkKind) -> Lease | None:
        """Claim the lease for a completion; None if the token is stale or unknown.

        The caller commits the result and then calls :meth:`mark_ready` for
        the instance, without awaiting in between.
        """
        lease = self._heard_from(token)
        if lease is None or lease.kind is not kind:
            return None
        self._end_lease(lease)
        lease.abandons = self._abandons.pop(_abandon_key(lease), 0)
        if self._taken is not None:
            self._taken.append(lease)
        if lease.task is not None:
            self._close_task(lease.task)
        return lease

    @contextlib.contextmanager
    def collect_taken(self, taken: list[Lease]) -> Iterator[None]:
        """Within the block, every lease claimed by :meth:`take_lease` is added to ``taken``.

        The core wraps each worker completion in it, to give the leases back with
        :meth:`give_back` when the completion cannot be committed.
        """
        previous, self._taken = self._taken, taken
        try:
            yield
        finally:
            self._taken = previous

    def give_back(self, lease: Lease) -> None:
        """Queue again the item of a lease whose completion could not be committed.

        It is redelivered after the abandon backoff (a store that cannot commit, e.g. a full
        disk, is not hammered), and it does not count as a lost worker.
        """
        if lease.task is not None:
            self._open_tasks.setdefault(lease.instance_id, set()).add(lease.task.seq)
        if lease.abandons:
            self._abandons[_abandon_key(lease)] = lease.abandons
        self._redeliver_later(lease)

    def abandon(self, token: str, kind: WorkKind, *, process_lost: bool = False) -> bool:
        """Hand a work item back; it is redelivered after a growing delay.

        With ``process_lost`` it also counts as a lost worker: past
        ``max_recovery_attempts`` the item ends with ``WorkerLost`` instead.

        Returns:
            False if the token is stale or unknown (nothing changes).
        """
        lease = self._heard_from(token)
        if lease is None or lease.kind is not kind:
            self.pump()  # a stream that answered late may take work again
            return False
        self._end_lease(lease)
        if process_lost and self._lost_too_often(lease):
            return True
        telemetry.metrics.redelivered(lease.kind.value, "abandoned")
        self._redeliver_later(lease)
        return True

    def _redeliver_later(self, lease: Lease) -> None:
        key = _abandon_key(lease)
        count = self._abandons.get(key, 0) + 1
        self._abandons[key] = count
        opts = self._options
        delay = min(opts.abandon_backoff_base_seconds * 2 ** (count - 1),
                    opts.abandon_backoff_cap_seconds)
        due = self._clock.now() + timedelta(seconds=delay)
        self._timers.schedule(due, self._requeue_callback(lease))
        self.pump()

    def revoke_instance(self, instance_id: str) -> None:
        """Invalidate the in-flight episode of an instance that was replaced or deleted."""
        lease = self._in_flight.get(instance_id)
        if lease is not None:
            self._end_lease(lease)
            self.pump()

    def reset(self) -> None:
        """Forget all queued work and leases; connected streams stay open."""
        for lease in list(self._leases.values()):
            self._end_lease(lease)
        for ws in self._streams:
            ws.outbox.clear()
        self._ready.clear()
        self._ready_set.clear()
        self._activities.clear()
        self._entities.clear()
        self._entities_set.clear()
        self._abandons.clear()
        self._open_tasks.clear()
        self._batching.clear()

    def close(self) -> None:
        """End every stream gracefully (the worker sees the stream complete).

        The sidecar is shutting down: nothing more is dispatched, and the streams it ends are
        not lost workers. Their leases stay valid, so completions that arrive during the
        server's grace period are accepted; the next run redelivers the rest from the store.
        """
        self._closing = True
        for ws in self._streams:
            ws.closed = True
            ws.wake()

    def drain_worker(self, worker_id: str, grace_seconds: float) -> int:
        """A worker stops cleanly: send it nothing new and end its streams.

        Items queued for it but not yet sent go back to the queue; the leases it holds stay
        valid for ``grace_seconds`` after its stream ends, so its completions are accepted
        and its abandons requeue work without counting a loss. Leases still held after that
        are taken back as lost (the worker neither finished nor abandoned them).

        Returns:
            The number of streams of that worker.
        """
        until = self._clock.now() + timedelta(seconds=grace_seconds)
        streams = [ws for ws in self._streams if ws.worker_id == worker_id]
        for ws in streams:
            ws.draining = True
            ws.drain_until = until
            self._requeue_unsent(ws)
            ws.closed = True
            ws.wake()
        if streams:
            logger.info("worker %s is stopping; %d work item(s) stay leased to it for %.1fs",
                        worker_id, sum(len(ws.leases) for ws in streams), grace_seconds)
        self.pump()
        return len(streams)

    async def stream(
        self, request: pb.GetWorkItemsRequest, *, worker_id: str | None = None
    ) -> AsyncIterator[pb.WorkItem]:
        """Serve one ``GetWorkItems`` stream until it is closed or cancelled.

        Args:
            request: The worker's request (limits and filters).
            worker_id: The worker's id; a new stream of the same worker supersedes (and
                proves dead) the streams it had before.

        Yields:
            Work items, and a health ping whenever the stream was idle for
            the configured interval.
        """
        ws = WorkerStream(
            stream_id=id(request),
            limits={
                WorkKind.ORCHESTRATION: request.maxConcurrentOrchestrationWorkItems,
                WorkKind.ACTIVITY: request.maxConcurrentActivityWorkItems,
                WorkKind.ENTITY: request.maxConcurrentEntityWorkItems,
            },
            work_filter=WorkFilter.from_request(request),
            history_streaming=pb.WORKER_CAPABILITY_HISTORY_STREAMING in request.capabilities,
            worker_id=worker_id,
            connected_at=self._clock.now(),
        )
        if worker_id is not None:
            self._supersede(worker_id)
        self._streams.append(ws)
        logger.debug("worker stream %d connected (%d open)", ws.stream_id, len(self._streams))
        self.pump()
        try:
            while not ws.closed:
                if not ws.outbox:
                    if not await self._idle(ws):
                        yield pb.WorkItem(healthPing=pb.HealthPing())
                    continue
                item, lease = ws.outbox.popleft()
                if lease.token in ws.leases:
                    lease.delivered = True
                    lease.delivered_at = self._clock.now()
                    self._arm_expiry(lease)
                    yield item
        finally:
            self._drop_stream(ws)

    def pump(self) -> None:
        """Assign ready work to streams with room; re-entrant calls are folded."""
        if self._closing:
            return
        if self._pumping:
            self._pump_again = True
            return
        self._pumping = True
        try:
            self._pump_again = True
            while self._pump_again:
                self._pump_again = False
                self._pump_orchestrations()
                self._pump_activities()
                self._pump_entities()
        finally:
            self._pumping = False

    async def _idle(self, ws: WorkerStream) -> bool:
        """Wait for work; False when the ping interval passed with nothing to send."""
        if await ws.idle(self._options.health_ping_interval_seconds, self._clock):
            return True
        return ws.closed or bool(ws.outbox)

    def _pick(self, kind: WorkKind, name: str, version: str | None) -> WorkerStream | None:
        count = len(self._streams)
        for offset in range(count):
            ws = self._streams[(self._next_stream + offset) % count]
            if ws.open_for_work and ws.accepts(kind, name, version):
                self._next_stream = (self._next_stream + offset + 1) % count
                return ws
        return None

    def _any_capacity(self, kind: WorkKind) -> bool:
        return any(ws.open_for_work and ws.has_capacity(kind) for ws in self._streams)

    def _pump_orchestrations(self) -> None:
        skipped: list[str] = []
        while self._ready and self._any_capacity(WorkKind.ORCHESTRATION):
            iid = self._ready.popleft()
            self._ready_set.discard(iid)
            record = self._store.get_instance(iid)
            # A terminal instance has no episode to run (its last commit readies it once more).
            if record is None or record.is_terminal or iid in self._in_flight:
                continue
            ws = self._pick(WorkKind.ORCHESTRATION, record.name, record.version)
            if ws is None:
                skipped.append(iid)
                continue
            episode = self._source.prepare_orchestration(
                iid, stream_history=ws.history_streaming
            )
            if episode is None:
                continue
            lease = Lease(token=_new_token("o"), kind=WorkKind.ORCHESTRATION, instance_id=iid,
                          stream=ws, episode=episode)
            self._leases[lease.token] = lease
            self._in_flight[iid] = lease
            episode.item.completionToken = lease.token
            ws.hold(lease, episode.item)
        self._ready.extendleft(reversed(skipped))
        self._ready_set.update(skipped)

    def _pump_activities(self) -> None:
        skipped: list[ActivityTask] = []
        while self._activities and self._any_capacity(WorkKind.ACTIVITY):
            task = self._activities.popleft()
            req = task.request
            ws = self._pick(
                WorkKind.ACTIVITY, req.name, req.version.value if req.HasField("version") else None
            )
            if ws is None:
                skipped.append(task)
                continue
            if not self._source.prepare_activity(task):
                self._close_task(task)
                continue
            lease = Lease(token=_new_token("a"), kind=WorkKind.ACTIVITY,
                          instance_id=task.instance_id, stream=ws, task=task)
            self._leases[lease.token] = lease
            ws.hold(lease, pb.WorkItem(activityRequest=req, completionToken=lease.token))
        self._activities.extendleft(reversed(skipped))

    def _pump_entities(self) -> None:
        skipped: list[str] = []
        while self._entities and self._any_capacity(WorkKind.ENTITY):
            entity_id = self._entities.popleft()
            self._entities_set.discard(entity_id)
            if entity_id in self._entity_in_flight:
                continue
            ws = self._pick(WorkKind.ENTITY, entity_name(entity_id) or "", None)
            if ws is None:
                skipped.append(entity_id)
                continue
            batch = self._source.prepare_entity(entity_id)
            if batch is None:
                continue
            lease = Lease(token=_new_token("e"), kind=WorkKind.ENTITY, instance_id=entity_id,
                          stream=ws, batch=batch)
            self._leases[lease.token] = lease
            self._entity_in_flight[entity_id] = lease
            ws.hold(lease, pb.WorkItem(entityRequestV2=batch.request,
                                       completionToken=lease.token))
        self._entities.extendleft(reversed(skipped))
        self._entities_set.update(skipped)

    def _end_lease(self, lease: Lease) -> None:
        self._leases.pop(lease.token, None)
        self._expiries.pop(lease.token, None)
        if not self._expiries and self._sweep is not None:
            self._sweep.cancel()  # no lease left to expire: no pending timer either
            self._sweep = None
        lease.stream.release(lease)
        if lease.kind is WorkKind.ORCHESTRATION and self._in_flight.get(lease.instance_id) is lease:
            del self._in_flight[lease.instance_id]
        if lease.kind is WorkKind.ENTITY and self._entity_in_flight.get(lease.instance_id) is lease:
            del self._entity_in_flight[lease.instance_id]

    def _requeue_callback(self, lease: Lease) -> Callable[[], None]:
        if lease.task is not None:
            task = lease.task
            return lambda: self.enqueue_activity(task)
        if lease.kind is WorkKind.ENTITY:
            return lambda: self.mark_entity_ready(lease.instance_id)
        return lambda: self.mark_ready(lease.instance_id)

    def _supersede(self, worker_id: str) -> None:
        # A worker has one stream at a time: when it opens another, the old one is dead
        # (typically half-open after a network fault) even if no error reached us yet.
        for old in [ws for ws in self._streams if ws.worker_id == worker_id]:
            logger.info("worker %s reconnected; taking its work back from its previous stream",
                        worker_id)
            self._drop_stream(old)
            old.wake()

    def _drop_stream(self, ws: WorkerStream) -> None:
        ws.closed = True
        if ws.dropped:
            return
        ws.dropped = True
        if ws in self._streams:
            self._streams.remove(ws)
        for token in ws.expired_tokens:
            self._expired.pop(token, None)
        logger.debug("worker stream %d closed (%d open)", ws.stream_id, len(self._streams))
        if self._closing:
            return  # the sidecar is stopping: a closed stream is not a lost worker
        if ws.draining and ws.drain_until is not None:
            self._requeue_unsent(ws)
            if ws.leases:
                self._timers.schedule(ws.drain_until, lambda: self._drain_over(ws))
        else:
            for lease in list(ws.leases.values()):
                self._take_back(lease)
        self.pump()

    def _drain_over(self, ws: WorkerStream) -> None:
        if not ws.leases:
            return
        logger.warning("stopping worker %s neither finished nor abandoned %d work item(s) "
                       "within its grace period; taking them back", ws.worker_id,
                       len(ws.leases))
        for lease in list(ws.leases.values()):
            self._take_back(lease)
        self.pump()

    def _requeue_unsent(self, ws: WorkerStream) -> None:
        """Queue again, without counting a loss, what was assigned to ``ws`` but not sent."""
        for _item, lease in ws.outbox:
            if lease.token in ws.leases and not lease.delivered:
                self._end_lease(lease)
                self._requeue(lease)
        ws.outbox.clear()

    def _heard_from(self, token: str) -> Lease | None:
        """Note an answer (completion or abandon) for ``token``; return its live lease.

        A stream that answers, even late with an expired token, shows progress again.
        """
        lease = self._leases.get(token)
        ws = lease.stream if lease is not None else self._expired.pop(token, None)
        if ws is not None:
            ws.expired_tokens.discard(token)
            ws.suspect = False
        return lease

    def _take_back(self, lease: Lease) -> None:
        """End a lease whose worker is gone or hung and queue its item first in line."""
        self._end_lease(lease)
        if lease.delivered and self._lost_too_often(lease):
            return
        if lease.delivered:
            telemetry.metrics.redelivered(lease.kind.value, "lost")
        self._requeue(lease)

    def _requeue(self, lease: Lease) -> None:
        """Queue the item of an ended lease first in line."""
        if lease.task is not None:
            self._activities.appendleft(lease.task)
        elif lease.kind is WorkKind.ENTITY:
            if lease.instance_id not in self._entities_set:
                self._entities.appendleft(lease.instance_id)
                self._entities_set.add(lease.instance_id)
        elif lease.instance_id not in self._ready_set:
            self._ready.appendleft(lease.instance_id)
            self._ready_set.add(lease.instance_id)

    def _arm_expiry(self, lease: Lease) -> None:
        deadline = self._clock.now() + timedelta(seconds=self._options.lease_timeout_seconds)
        self._expiries[lease.token] = (deadline, lease)
        if self._sweep is None:
            self._sweep = self._timers.schedule(deadline, self._expire_leases)

    def _expire_leases(self) -> None:
        """Take back every delivered item whose lease ran out; re-arm for the next one."""
        self._sweep = None
        now = self._clock.now()
        expired: list[Lease] = []
        while self._expiries:
            token, (deadline, lease) = next(iter(self._expiries.items()))
            if deadline > now:
                self._sweep = self._timers.schedule(deadline, self._expire_leases)
                break
            del self._expiries[token]
            expired.append(lease)
        for lease in expired:
            telemetry.metrics.lease_expired(lease.kind.value)
            logger.warning(
                "lease of %s work item for instance %s expired after %.1fs without an answer; "
                "taking it back from the worker, which gets no new work until it answers",
                lease.kind.value, lease.instance_id, self._options.lease_timeout_seconds,
            )
            ws = lease.stream
            if not ws.dropped:
                # A hung worker would otherwise get the item (and others) again and again,
                # each costing a lease timeout and counting as another lost worker.
                ws.suspect = True
                ws.expired_tokens.add(lease.token)
                self._expired[lease.token] = ws
            self._take_back(lease)
        if expired:
            self.pump()

    def _lost_too_often(self, lease: Lease) -> bool:
        if lease.task is not None:
            losses = self._store.record_activity_loss(lease.task.seq)
        elif lease.kind is WorkKind.ENTITY:
            losses = self._store.record_entity_loss(lease.instance_id)
        else:
            losses = self._store.record_orchestration_loss(lease.instance_id)
        logger.warning(
            "worker lost with %s work item for instance %s (%d time(s))",
            lease.kind.value, lease.instance_id, losses,
        )
        if losses <= self._options.max_recovery_attempts:
            return False
        if lease.task is not None:
            self._close_task(lease.task)
        self._source.worker_lost(lease, losses)
        return True


def _new_token(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


def _abandon_key(lease: Lease) -> tuple[WorkKind, str | int]:
    if lease.task is not None:
        return (lease.kind, lease.task.seq)
    return (lease.kind, lease.instance_id)
