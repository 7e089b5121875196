"""``TaskHubCore``: instance operations and commits, tying store, dispatcher, timers and waiters."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime

from durabletask.internal.dialect import EventWaits
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar import transitions, validation
from durabletask.sidecar.clock import SYSTEM_CLOCK, Clock, from_timestamp
from durabletask.sidecar.dispatcher import (
    DispatchOptions,
    Dispatcher,
    Lease,
    PreparedEpisode,
)
from durabletask.sidecar.work_filter import WorkKind
from durabletask.sidecar.entities.batches import PreparedEntityBatch
from durabletask.sidecar.entities.core import EntityCore
from durabletask.sidecar.event_notes import EventNotes
from durabletask.sidecar.errors import (
    CompletionNotStoredError,
    InstanceExistsError,
    InstanceNotFoundError,
    InstanceStateError,
    InvalidRequestError,
    SidecarRequestError,
)
from durabletask.sidecar.group_commit import Effect, GroupCommitter
from durabletask.sidecar.options import SidecarOptions
from durabletask.sidecar.orphans import keep_orphan_event
from durabletask.sidecar.store.base import (
    ActivityTask,
    CommitResult,
    EpisodeCommit,
    InstanceQuery,
    InstanceRecord,
    Store,
)
from durabletask.sidecar.timers import TimerScheduler
from durabletask.sidecar.transitions import EpisodeContext, failure, new_event
from durabletask.sidecar.waiters import Condition, Waiters
from durabletask.sidecar.workers_view import no_worker_reason

logger = logging.getLogger("durabletask.sidecar")

# Room for the WorkItem wrapper (token, tags, lengths) around the request.
_WORK_ITEM_OVERHEAD_BYTES = 1024
# Request property telling a history-streaming worker how long the omitted history is.
# The worker's orchestration cache reads the same key (it is part of our wire dialect).
HISTORY_LENGTH_PROPERTY = "durabletask.historyLength"
# A wait that no worker could end answers this long before the caller's deadline, so that
# the caller reads why (no worker connected) instead of its own bare deadline error.
_WAIT_REASON_MARGIN_SECONDS = 0.25


class TaskHubCore:
    """The sidecar's behaviour behind the gRPC servicer.

    Every method runs on the sidecar's event loop; none awaits between a
    store change and the dispatcher/waiter updates that follow it. Worker
    completions on a store that groups commits are the exception: their
    updates (effects) wait for the group's commit (see ``group_commit``).
    """

    def __init__(self, store: Store, options: SidecarOptions, clock: Clock = SYSTEM_CLOCK) -> None:
        """Wire the parts together; call :meth:`start` on the loop before use.

        Args:
            store: Where state lives.
            options: Limits and intervals.
            clock: Time source of timestamps, timers, leases and pings (the time seam).
        """
        self.store = store
        self.options = options
        self._clock = clock
        self.timers = TimerScheduler(clock)
        self.waiters = Waiters()
        self.notes = EventNotes()
        """What running orchestrations wait for, as their workers reported it."""
        self.dispatcher = Dispatcher(
            store,
            self,
            self.timers,
            DispatchOptions(
                max_recovery_attempts=options.max_recovery_attempts,
                health_ping_interval_seconds=options.health_ping_interval_seconds,
                abandon_backoff_base_seconds=options.abandon_backoff_base_seconds,
                abandon_backoff_cap_seconds=options.abandon_backoff_cap_seconds,
                lease_timeout_seconds=options.lease_timeout_seconds,
                fan_in_batch_window_seconds=options.fan_in_batch_window_seconds,
            ),
            clock,
        )
        self._deferred_effects: list[Effect] | None = None
        self.entities = EntityCore(
            store, self.dispatcher, self.timers, clock, self,
            max_recovery_attempts=options.max_recovery_attempts,
            max_batch_bytes=options.max_message_bytes - _WORK_ITEM_OVERHEAD_BYTES,
        )
        """Entity signals, queries, locks and batches (a room of its own beside this core)."""
        self._group_committer: GroupCommitter | None = (
            GroupCommitter(
                store, self.collect_effects,
                spacing_seconds=options.group_commit_spacing_seconds, clock=clock,
            )
            if store.groups_commits
            else None
        )

    @property
    def quiet(self) -> bool:
        """True when no work is queued, leased or waiting for its commit (timers aside)."""
        committer = self._group_committer
        return self.dispatcher.quiet and (committer is None or not committer.pending)

    def start(self) -> None:
        """Start the timers and re-arm work found in the store."""
        self.timers.start()
        tasks = self.store.pending_activity_tasks()
        for task in tasks:
            self.dispatcher.enqueue_activity(task)
        pending = self.store.pending_inbox()
        for instance_id, visible_at in pending:
            self._wake(instance_id, visible_at)
        entities = self.entities.start()
        if tasks or pending or entities:
            logger.info(
                "recovered %d queued activity task(s), inbox work for %d instance(s) and "
                "queued messages for %d entit(ies)",
                len(tasks), len({instance_id for instance_id, _ in pending}), entities,
            )

    async def close(self) -> None:
        """End worker streams, cancel waits and stop timers; safe to call twice."""
        self.dispatcher.close()
        self.waiters.close()
        await self.timers.close()

    def reset(self) -> None:
        """Delete all state and queued work; connected streams stay open."""
        self.dispatcher.reset()
        self.store.clear()
        self.waiters.release_all()

    # ----- client operations -------------------------------------------------

    async def start_instance(self, request: pb.CreateInstanceRequest) -> str:
        """Create an instance (``StartInstance``); returns once it is durable.

        On a store that groups commits, the creation shares the next group with the
        completions queued beside it (one disk flush for all), and nobody sees the
        instance before that group is committed.

        Raises:
            InstanceExistsError: The id is taken and the reuse policy does not allow replacing.
        """
        replaceable = frozenset(request.orchestrationIdReusePolicy.replaceableStatus)
        scheduled = (
            from_timestamp(request.scheduledStartTimestamp)
            if request.HasField("scheduledStartTimestamp")
            else None
        )
        await self._grouped(lambda: self._create(
            instance_id=request.instanceId,
            name=request.name,
            version=request.version.value if request.HasField("version") else None,
            payload=request.input.value if request.HasField("input") else None,
            tags=dict(request.tags),
            scheduled=scheduled,
            trace=request.parentTraceContext if request.HasField("parentTraceContext") else None,
            replaceable=replaceable,
        ))
        return request.instanceId

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """Return the instance record, or None."""
        return self.store.get_instance(instance_id)

    async def wait_for(
        self, instance_id: str, condition: Condition, wait_seconds: float | None
    ) -> InstanceRecord | None:
        """Wait until ``condition`` holds for the instance (see ``Waiters.wait``).

        Args:
            instance_id: The instance.
            condition: What to wait for.
            wait_seconds: The caller's deadline; None waits until the caller goes away.

        Raises:
            TimeoutError: The deadline passed. When no connected worker could run the
                instance, this is raised a little before the deadline, saying so, so that
                the caller hears why instead of its own bare deadline error.
        """
        current = self.store.get_instance(instance_id)
        if wait_seconds is None:
            return await self.waiters.wait(instance_id, current, condition, None)
        margin = min(_WAIT_REASON_MARGIN_SECONDS, wait_seconds / 10)
        try:
            return await self.waiters.wait(
                instance_id, current, condition, max(0.0, wait_seconds - margin))
        except TimeoutError:
            record = self.store.get_instance(instance_id)
            reason = no_worker_reason(self.dispatcher, record)
            if reason is not None:
                status = "gone" if record is None else pb.OrchestrationStatus.Name(
                    record.status).removeprefix("ORCHESTRATION_STATUS_")
                raise TimeoutError(
                    f"instance '{instance_id}' is still {status} after {wait_seconds:.1f}s: "
                    f"{reason}"
                ) from None
        current = self.store.get_instance(instance_id)
        try:
            return await self.waiters.wait(instance_id, current, condition, margin)
        except TimeoutError:
            raise TimeoutError(f"instance '{instance_id}' did not reach the awaited state "
                               f"within {wait_seconds:.1f}s") from None

    def raise_event(self, instance_id: str, name: str, data: str | None) -> None:
        """Deliver an ``eventRaised``; kept for unknown ids, dropped for terminal ones.

        Raises:
            TooManyOrphanEventsError: The id is unknown and ``max_orphan_events`` events
                are already kept for unknown ids.
        """
        event = new_event(self._clock.now())
        event.eventRaised.name = name
        if data is not None:
            event.eventRaised.input.value = data
        if self.store.get_instance(instance_id) is None:
            keep_orphan_event(self.store, self.options.max_orphan_events, instance_id, name)
        if self.store.append_inbox(instance_id, event):
            self._wake(instance_id)

    def terminate(self, instance_id: str, output: str | None, recursive: bool) -> None:
        """Ask the worker to terminate an instance; no-op when already terminal.

        Raises:
            InstanceNotFoundError: Unknown instance.
        """
        event = new_event(self._clock.now())
        event.executionTerminated.recurse = recursive
        if output is not None:
            event.executionTerminated.input.value = output
        self._send_control(instance_id, event)

    def suspend(self, instance_id: str, reason: str | None) -> None:
        """Deliver ``executionSuspended``. Raises ``InstanceNotFoundError`` if unknown."""
        event = new_event(self._clock.now())
        event.executionSuspended.SetInParent()
        if reason is not None:
            event.executionSuspended.input.value = reason
        self._send_control(instance_id, event)

    def resume(self, instance_id: str, reason: str | None) -> None:
        """Deliver ``executionResumed``. Raises ``InstanceNotFoundError`` if unknown."""
        event = new_event(self._clock.now())
        event.executionResumed.SetInParent()
        if reason is not None:
            event.executionResumed.input.value = reason
        self._send_control(instance_id, event)

    def query(self, query: InstanceQuery) -> list[InstanceRecord]:
        """Return the instances matching ``query``."""
        return self.store.query_instances(query)

    def count_by_status(self, query: InstanceQuery) -> dict[int, int]:
        """Count the instances matching ``query``'s filters by status (the page is ignored)."""
        return self.store.count_by_status(query)

    def history(self, instance_id: str) -> Sequence[pb.HistoryEvent]:
        """Return the committed history. Raises ``InstanceNotFoundError`` if unknown."""
        history = self.store.get_history(instance_id)
        if history is None:
            raise InstanceNotFoundError(f"no orchestration instance with id '{instance_id}'")
        return history

    def purge(self, instance_id: str, recursive: bool) -> int:
        """Purge one terminal instance (and its terminal descendants when recursive).

        Returns:
            The number of instances deleted (0 for an unknown id).

        Raises:
            InstanceStateError: The instance is not terminal.
        """
        record = self.store.get_instance(instance_id)
        if record is None:
            return 0
        if not record.is_terminal:
            raise InstanceStateError(
                f"instance '{instance_id}' is {pb.OrchestrationStatus.Name(record.status)}; only "
                f"completed, failed or terminated instances can be purged (terminate it first)"
            )
        return self._purge_tree(instance_id, recursive)

    def purge_many(self, instance_ids: Iterable[str], recursive: bool) -> int:
        """Purge the terminal instances among ``instance_ids``; others are skipped."""
        return sum(self._purge_tree(iid, recursive) for iid in instance_ids)

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        """Start a terminal instance again from its stored name, input, version and tags.

        Raises:
            InstanceNotFoundError: Unknown instance.
            InstanceStateError: The instance is not terminal.
        """
        record = self._existing(instance_id)
        if not record.is_terminal:
            raise InstanceStateError(
                f"instance '{instance_id}' is {pb.OrchestrationStatus.Name(record.status)}; only "
                f"completed, failed or terminated instances can be restarted"
            )
        target = uuid.uuid4().hex if new_instance_id else instance_id
        self._create(
            instance_id=target,
            name=record.name,
            version=record.version,
            payload=record.input,
            tags=dict(record.tags),
            scheduled=None,
            trace=None,
            replaceable=frozenset({record.status}),
        )
        return target

    def rewind(self, instance_id: str, reason: str | None) -> None:
        """Set a FAILED instance RUNNING and deliver ``executionRewound``.

        Raises:
            InstanceNotFoundError: Unknown instance.
            InstanceStateError: The instance is not FAILED.
        """
        record = self._existing(instance_id)
        event = new_event(self._clock.now())
        event.executionRewound.SetInParent()
        if reason is not None:
            event.executionRewound.reason.value = reason
        updated = self.store.rewind_instance(instance_id, event, self._clock.now())
        if updated is None:
            raise InstanceStateError(
                f"instance '{instance_id}' is {pb.OrchestrationStatus.Name(record.status)}; "
                f"only failed instances can be rewound"
            )
        self.waiters.notify(instance_id, updated)
        self._wake(instance_id)

    # ----- worker operations -------------------------------------------------

    async def complete_orchestration(
        self, response: pb.OrchestratorResponse, waits: EventWaits | None = None
    ) -> None:
        """Commit a worker's answer to an episode; returns once it is durable.

        Stale tokens are logged and ignored. ``waits`` is what the worker reported the
        orchestration waits for (our wire dialect), kept for ``show``.

        Raises:
            InvalidRequestError: The answer's actions are invalid; the instance was failed
                with the same message (redelivering the episode could not fix them).
            CompletionNotStoredError: The commit failed; the episode is delivered again.
        """
        try:
            validation.orchestrator_actions(response)
            invalid = None
        except InvalidRequestError as exc:
            invalid = str(exc)
        failed: list[str] = []
        await self._durably(
            lambda: self._complete_orchestration(response, invalid, failed, waits))
        if invalid is not None:
            raise InvalidRequestError(
                f"{invalid}; instance '{failed[0]}' was failed" if failed else invalid
            )

    async def complete_activity(self, response: pb.ActivityResponse) -> None:
        """Deliver an activity result; returns once it is durable.

        Stale tokens and late results are logged and dropped.
        """
        await self._durably(lambda: self._complete_activity(response))

    @contextlib.contextmanager
    def collect_effects(self) -> Iterator[list[Effect]]:
        """Within the block, effects of store changes are collected instead of run."""
        effects: list[Effect] = []
        previous, self._deferred_effects = self._deferred_effects, effects
        try:
            yield effects
        finally:
            self._deferred_effects = previous

    # ----- EntityHost (called by the entity core) ---------------------------

    def after_commit(self, effect: Effect) -> None:
        """Run ``effect`` once the current transition is durable (at once outside a group)."""
        self._after_commit(effect)

    def durably(self, operation: Callable[[], None]) -> Awaitable[None]:
        """Apply a worker completion, in a commit group when the store groups commits."""
        return self._durably(operation)

    def wake_instance(self, instance_id: str, visible_at: datetime | None = None) -> None:
        """Dispatch an instance that got inbox events (when ``visible_at`` has passed)."""
        self._wake(instance_id, visible_at)

    def instance_created(self, instance_id: str, visible_at: datetime | None) -> None:
        """Tell waiters about an instance an entity created, and dispatch it."""
        self.waiters.notify(instance_id, self.store.get_instance(instance_id))
        self._wake(instance_id, visible_at)

    async def _durably(self, operation: Callable[[], None]) -> None:
        taken: list[Lease] = []

        def run() -> None:
            with self.dispatcher.collect_taken(taken):
                operation()

        try:
            await self._grouped(run)
        except Exception as exc:
            # Nothing of the completion happened: its work item must not stay leased to a
            # worker whose retries now carry a spent token (it would be stranded until a
            # restart). Hand it back to the queue, as an abandon would.
            for lease in taken:
                self.dispatcher.give_back(lease)
            if isinstance(exc, SidecarRequestError):
                raise  # the request itself was refused; its status says why
            described = ", ".join(f"{lease.kind.value} of {lease.instance_id!r}"
                                  for lease in taken) or "a work item"
            logger.warning(
                "could not store the completion of %s (%s); it will be delivered again",
                described, exc, extra={"error": repr(exc), "work_items": len(taken)},
            )
            raise CompletionNotStoredError(
                f"the sidecar could not store this completion ({exc}); the work item will "
                f"be delivered again"
            ) from exc

    async def _grouped(self, operation: Callable[[], None]) -> None:
        """Apply ``operation`` now, or in the next commit group on a store that groups."""
        if self._group_committer is None:
            operation()
        else:
            await self._group_committer.run(operation)

    def _after_commit(self, effect: Effect) -> None:
        if self._deferred_effects is None:
            effect()
        else:
            self._deferred_effects.append(effect)

    def _complete_orchestration(
        self,
        response: pb.OrchestratorResponse,
        invalid: str | None,
        failed: list[str],
        waits: EventWaits | None,
    ) -> None:
        lease = self.dispatcher.take_lease(response.completionToken, WorkKind.ORCHESTRATION)
        if lease is None or lease.episode is None:
            logger.info(
                "ignoring orchestration completion for %r with a stale or unknown token",
                response.instanceId,
            )
            self._after_commit(self.dispatcher.pump)  # a worker that answered late is back
            return
        if response.requiresHistory:
            # We always send the full history, so just dispatch the episode again.
            self._after_commit(lambda: self.dispatcher.mark_ready(lease.instance_id))
            return
        ctx = dataclasses.replace(lease.episode.context, now=self._clock.now())
        if invalid is not None:
            # Not a lost worker: the orchestration produced actions no redelivery can fix.
            failed.append(lease.instance_id)
            logger.warning(
                "failing instance %s: its orchestrator sent an invalid action: %s",
                lease.instance_id, invalid, extra={"instance_id": lease.instance_id},
            )
            self._commit(transitions.fail_episode(ctx, failure("InvalidAction", invalid)))
            return
        commit = transitions.apply_response(
            ctx,
            response.actions,
            response.customStatus.value,
            has_custom_status=response.HasField("customStatus"),
            trace_context=(
                response.orchestrationTraceContext
                if response.HasField("orchestrationTraceContext")
                else None
            ),
        )
        self._commit(commit)
        ended = commit.record is not None and commit.record.is_terminal
        self._after_commit(lambda: self.notes.report(lease.instance_id, waits, ended=ended))

    def _complete_activity(self, response: pb.ActivityResponse) -> None:
        lease = self.dispatcher.take_lease(response.completionToken, WorkKind.ACTIVITY)
        if lease is None or lease.task is None:
            logger.info(
                "ignoring activity completion for %r task %d with a stale or unknown token",
                response.instanceId, response.taskId,
            )
            self._after_commit(self.dispatcher.pump)
            return
        event = new_event(self._clock.now())
        task_id = lease.task.request.taskId
        if response.HasField("failureDetails"):
            event.taskFailed.taskScheduledId = task_id
            event.taskFailed.failureDetails.CopyFrom(response.failureDetails)
        else:
            event.taskCompleted.taskScheduledId = task_id
            if response.HasField("result"):
                event.taskCompleted.result.CopyFrom(response.result)
        self._deliver_activity_result(lease.task, event)

    def abandon(self, token: str, kind: WorkKind, *, process_lost: bool = False) -> None:
        """Hand a work item back for delayed redelivery; stale tokens are ignored.

        ``process_lost`` (the worker says the item's process died) counts a lost worker.
        """
        if not self.dispatcher.abandon(token, kind, process_lost=process_lost):
            logger.info("ignoring abandon of %s work item with stale token", kind.value)

    # ----- WorkSource (called by the dispatcher) -----------------------------

    def prepare_orchestration(
        self, instance_id: str, *, stream_history: bool = False
    ) -> PreparedEpisode | None:
        """Build the next episode of an instance, or None if nothing is deliverable.

        With ``stream_history`` (the worker advertised ``WORKER_CAPABILITY_HISTORY_STREAMING``)
        the past events are left out: the worker replays from its orchestration cache or
        fetches them with ``StreamInstanceHistory``. The request then carries the history's
        length so the worker can tell whether its cached state is current.
        """
        now = self._clock.now()
        episode = self.store.load_episode(instance_id, now)
        if episode is None or episode.record.is_terminal:
            return None
        new_events = transitions.episode_events(now, episode.inbox)
        if not episode.history and (
            len(new_events) < 2 or not new_events[1].HasField("executionStarted")
        ):
            return None  # scheduled start not due yet; earlier events wait for it
        past = episode.history
        unseen = transitions.unseen_history(past)
        if unseen:  # after continue-as-new: start + carried-over events, then arrivals
            new_events = [new_events[0], *past, *new_events[1:]]
            past = []
        ctx = EpisodeContext(
            record=episode.record,
            past=past,
            new_events=new_events,
            consumed=tuple(r.seq for r in episode.inbox),
            now=now,
            max_history_size=self.options.max_history_size,
            replaces_history=unseen,
        )
        # Built in place inside its work item: wrapping a finished request would copy it
        # (with the whole history, for workers that do not stream it) once more.
        item = pb.WorkItem()
        request = item.orchestratorRequest
        request.instanceId = instance_id
        request.newEvents.extend(new_events)
        if stream_history:
            request.requiresHistoryStreaming = True
            request.properties[HISTORY_LENGTH_PROPERTY].number_value = len(past)
        else:
            request.pastEvents.extend(past)
        request.executionId.value = episode.record.execution_id
        if episode.record.trace_context is not None:
            request.orchestrationTraceContext.CopyFrom(episode.record.trace_context)
        too_big = self._oversize_failure(request.ByteSize(), "orchestration", instance_id)
        if too_big is not None:
            self._commit(transitions.fail_episode(ctx, too_big))
            return None
        return PreparedEpisode(context=ctx, item=item)

    def prepare_activity(self, task: ActivityTask) -> bool:
        """Check an activity can be sent; drop it for gone instances, fail it if oversized."""
        record = self.store.get_instance(task.instance_id)
        if record is None or record.is_terminal or record.execution_id != task.execution_id:
            self.store.drop_activity_task(task.seq)
            return False
        too_big = self._oversize_failure(task.request.ByteSize(), "activity", task.instance_id)
        if too_big is None:
            return True
        event = new_event(self._clock.now())
        event.taskFailed.taskScheduledId = task.request.taskId
        event.taskFailed.failureDetails.CopyFrom(too_big)
        self._deliver_activity_result(task, event)
        return False

    def prepare_entity(self, entity_id: str) -> PreparedEntityBatch | None:
        """Build an entity's next batch (see ``EntityCore.prepare``)."""
        return self.entities.prepare(entity_id)

    def worker_lost(self, lease: Lease, losses: int) -> None:
        """Fail a work item whose workers were lost more than ``max_recovery_attempts`` times."""
        if lease.batch is not None:
            self.entities.worker_lost(lease, losses)
            return
        what = f"activity '{lease.task.request.name}'" if lease.task else "orchestration episode"
        details = failure(
            "WorkerLost",
            f"{losses} workers were lost while processing the {what} work item of instance "
            f"'{lease.instance_id}'; the sidecar stopped redelivering it after "
            f"max_recovery_attempts={self.options.max_recovery_attempts}. Check the worker logs "
            f"for crashes, or raise max_recovery_attempts",
        )
        if lease.task is not None:
            event = new_event(self._clock.now())
            event.taskFailed.taskScheduledId = lease.task.request.taskId
            event.taskFailed.failureDetails.CopyFrom(details)
            self._deliver_activity_result(lease.task, event)
        elif lease.episode is not None:
            ctx = dataclasses.replace(lease.episode.context, now=self._clock.now())
            self._commit(transitions.fail_episode(ctx, details))

    # ----- internals ---------------------------------------------------------

    def _create(
        self,
        *,
        instance_id: str,
        name: str,
        version: str | None,
        payload: str | None,
        tags: dict[str, str],
        scheduled: datetime | None,
        trace: pb.TraceContext | None,
        replaceable: frozenset[int],
    ) -> None:
        record, event = transitions.new_instance(
            self._clock.now(), instance_id=instance_id, name=name, version=version,
            payload=payload, tags=tags, scheduled=scheduled, trace=trace,
        )
        existed = self.store.get_instance(instance_id) is not None
        if not self.store.create_instance(
            record, event, visible_at=scheduled, replaceable_statuses=replaceable
        ):
            raise InstanceExistsError(
                f"an orchestration instance with id '{instance_id}' already exists; use another "
                f"id or pass an orchestrationIdReusePolicy that allows replacing it"
            )
        self._after_commit(lambda: self._instance_created(record, existed, scheduled))

    def _instance_created(
        self, record: InstanceRecord, replaced: bool, scheduled: datetime | None
    ) -> None:
        instance_id = record.instance_id
        if replaced:
            self.notes.forget(instance_id)
            self.dispatcher.revoke_instance(instance_id)
        self.waiters.notify(instance_id, record)
        self._wake(instance_id, scheduled)

    def _existing(self, instance_id: str) -> InstanceRecord:
        record = self.store.get_instance(instance_id)
        if record is None:
            raise InstanceNotFoundError(f"no orchestration instance with id '{instance_id}'")
        return record

    def _send_control(self, instance_id: str, event: pb.HistoryEvent) -> None:
        record = self._existing(instance_id)
        if record.is_terminal:
            return
        if self.store.append_inbox(instance_id, event):
            self._wake(instance_id)

    def _wake(self, instance_id: str, visible_at: datetime | None = None) -> None:
        if visible_at is not None and visible_at > self._clock.now():
            self.timers.schedule(visible_at, lambda: self.dispatcher.mark_ready(instance_id))
        else:
            self.dispatcher.mark_ready(instance_id)

    def _commit(self, commit: EpisodeCommit) -> None:
        result = self.store.commit_episode(commit)
        self._after_commit(lambda: self._episode_committed(commit, result))

    def _episode_committed(self, commit: EpisodeCommit, result: CommitResult | None) -> None:
        iid = commit.instance_id
        if result is None:
            logger.info("dropping episode commit for %s: the instance changed meanwhile", iid)
            self.dispatcher.mark_ready(iid)
            return
        for task in result.activity_tasks:
            self.dispatcher.enqueue_activity(task)
        for child in commit.children:
            child_id = child.record.instance_id
            self.waiters.notify(child_id, self.store.get_instance(child_id))
            self._wake(child_id)
        for message in commit.messages:
            self._wake(message.target_id, message.visible_at)
        for entity_message in commit.entity_messages:
            self.entities.wake(entity_message.target_id, entity_message.visible_at)
        self.waiters.notify(iid, commit.record)
        self.dispatcher.mark_ready(iid)

    def _deliver_activity_result(self, task: ActivityTask, event: pb.HistoryEvent) -> None:
        delivered = self.store.commit_activity_result(task.seq, event)
        self._after_commit(lambda: self._activity_result_committed(task, delivered))

    def _activity_result_committed(self, task: ActivityTask, delivered: bool) -> None:
        if delivered:
            self._wake(task.instance_id)
        else:
            logger.info(
                "dropping result of task %d for instance %s: already answered, or the "
                "instance is gone, finished or continued as new",
                task.request.taskId, task.instance_id,
            )
            self.dispatcher.pump()

    def _oversize_failure(
        self, size: int, kind: str, instance_id: str
    ) -> pb.TaskFailureDetails | None:
        limit = self.options.max_message_bytes - _WORK_ITEM_OVERHEAD_BYTES
        if size <= limit:
            return None
        return failure(
            "WorkItemTooLarge",
            f"the {kind} work item for instance '{instance_id}' is {size} bytes, over the "
            f"sidecar's limit of {limit} bytes (max_message_bytes="
            f"{self.options.max_message_bytes}); pass smaller inputs and results, or start the "
            f"sidecar with a larger max_message_bytes",
        )

    def _purge_tree(self, instance_id: str, recursive: bool) -> int:
        history = self.store.get_history(instance_id) or ()
        children = transitions.children_of(history) if recursive else []
        if not self.store.purge_instance(instance_id):
            return 0
        self.notes.forget(instance_id)
        self.dispatcher.revoke_instance(instance_id)
        self.waiters.notify(instance_id, None)
        return 1 + sum(self._purge_tree(child, True) for child in children)
