"""The runtime orchestration context: the user API plus the replay bookkeeping behind it."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from google.protobuf import timestamp_pb2

from durabletask import task
from durabletask.internal.engine import actions
from durabletask.internal.engine.context_entities import EntityContextMixin
from durabletask.internal.engine.nondeterminism import check_action_matches
from durabletask.internal.engine.signatures import reconstructable, shape_of
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.wire_names import instance_id_problem, name_problem
from durabletask.serialization import DataConverter

__all__ = ["ContinueAsNewRequest", "RuntimeOrchestrationContext"]

DATETIME_STRING_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class ContinueAsNewRequest:
    """What ``continue_as_new`` asked for, applied when the orchestrator yields or returns."""

    encoded_input: str | None
    save_events: bool
    new_version: str | None


def _to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


class RuntimeOrchestrationContext(EntityContextMixin, task.OrchestrationContext):
    """The context handed to orchestrators by the replay engine.

    Besides the public API it keeps the state replay needs: the action sequence, actions
    not yet confirmed by history, tasks waiting for results, and buffered external events.
    All of it survives between calls, so more events can be fed to the same context later.
    Entity calls, signals and critical sections come from ``EntityContextMixin``.
    """

    def __init__(
        self,
        instance_id: str,
        *,
        data_converter: DataConverter,
        maximum_timer_interval: timedelta | None,
        default_sub_orchestration_version: str | None = None,
        logger: logging.Logger,
    ) -> None:
        self._instance_id = instance_id
        self._converter = data_converter
        self._maximum_timer_interval = maximum_timer_interval
        self._default_sub_version = default_sub_orchestration_version
        self._logger = logger
        self._name = ""
        self._version: str | None = None
        self._parent_instance_id: str | None = None
        self._current_utc = _EPOCH
        self._clock_set = False
        self._is_replaying = False
        self._sequence = 0
        self._uuid_counter = 0
        self._pending_actions: dict[int, pb.OrchestratorAction] = {}
        self._pending_tasks: dict[int, task.CompletableTask[Any]] = {}
        self._task_labels: dict[int, str] = {}
        self._waiters: dict[str, deque[task.CancellableTask[Any]]] = {}
        self._waiter_names: dict[str, str] = {}
        self._buffered_events: dict[str, deque[tuple[int, pb.HistoryEvent]]] = {}
        self._events_received = 0
        self._encoded_custom_status: str | None = None
        self._continue_as_new: ContinueAsNewRequest | None = None
        self._init_entities()

    # ----- public API -------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        """The id of this orchestration instance."""
        return self._instance_id

    @property
    def name(self) -> str:
        """The orchestrator name from ``executionStarted`` (empty before it is seen)."""
        return self._name

    @property
    def version(self) -> str | None:
        """The version from ``executionStarted``, or None."""
        return self._version

    @property
    def parent_instance_id(self) -> str | None:
        """The parent's instance id for a sub-orchestration, else None."""
        return self._parent_instance_id

    @property
    def current_utc_datetime(self) -> datetime:
        """The timestamp of the latest ``orchestratorStarted`` event (naive UTC)."""
        return self._current_utc

    @property
    def is_replaying(self) -> bool:
        """True while past events are being replayed."""
        return self._is_replaying

    def set_custom_status(self, custom_status: Any) -> None:
        """Set the custom status, encoded now with the data converter.

        Raises:
            TypeError: The value cannot be serialised.
        """
        self._encoded_custom_status = self._converter.serialize(custom_status)

    def create_timer(self, fire_at: datetime | timedelta) -> task.TimerTask:
        """Return a durable timer; long timers are split at ``maximum_timer_interval``.

        Raises:
            TypeError: ``fire_at`` is neither a datetime nor a timedelta.
        """
        if isinstance(fire_at, timedelta):
            final = self._current_utc + fire_at
        elif isinstance(fire_at, datetime):
            final = _to_naive_utc(fire_at)
        else:
            raise TypeError(
                f"create_timer() takes a datetime or a timedelta, not {type(fire_at).__name__}"
            )
        timer = task.TimerTask(final, self._maximum_timer_interval)
        self._start_timer_chunk(timer, self._current_utc)
        return timer

    def call_activity(
        self,
        activity: Any,
        *,
        input: Any = None,
        retry_policy: task.RetryPolicy | None = None,
        tags: dict[str, str] | None = None,
        return_type: type | None = None,
    ) -> task.CompletableTask[Any]:
        """Schedule activity ``activity`` (a function or its name) with ``input``.

        Raises:
            ValueError: The name is empty or has control characters (the sidecar refuses it).
        """
        name = activity if isinstance(activity, str) else task.get_name(activity)
        _refuse(name_problem(name, "activity name"), "call_activity")
        if return_type is None and not isinstance(activity, str):
            # As in 1.12.0: a function reference's return annotation types the result.
            return_type = reconstructable(shape_of(activity).output_type, self._converter)
        encoded = self._converter.serialize(input)
        action = actions.new_schedule_task_action(self._next_id(), name, encoded, tags)
        # The failure message reads "<instance>: Activity task #<id> failed: ..." (1.12.0).
        label = f"{self._instance_id}: Activity task #{action.id}"
        return self._track(action, label, retry_policy, return_type, False)

    def call_sub_orchestrator(
        self,
        orchestrator: Any,
        *,
        input: Any = None,
        instance_id: str | None = None,
        retry_policy: task.RetryPolicy | None = None,
        version: str | None = None,
        return_type: type | None = None,
    ) -> task.CompletableTask[Any]:
        """Start sub-orchestration ``orchestrator`` (default id ``<instance>:<id as %04x>``).

        Raises:
            ValueError: The name or the instance id is one the sidecar refuses (empty,
                control characters, an id over 256 characters).
        """
        name = orchestrator if isinstance(orchestrator, str) else task.get_name(orchestrator)
        _refuse(name_problem(name, "orchestrator name"), "call_sub_orchestrator")
        encoded = self._converter.serialize(input)
        action_id = self._next_id()
        child_id = instance_id or f"{self._instance_id}:{action_id:04x}"
        _refuse(instance_id_problem(child_id, "sub-orchestration instance id"),
                "call_sub_orchestrator")
        action = actions.new_create_sub_orchestration_action(
            action_id, name, child_id, encoded, version or self._default_sub_version
        )
        label = f"Sub-orchestration task #{action_id}"  # 1.12.0's failure message prefix
        return self._track(action, label, retry_policy, return_type, True)

    def wait_for_external_event(
        self, name: str, *, data_type: type | None = None
    ) -> task.CancellableTask[Any]:
        """Return a task for the next event ``name`` (case-insensitive, FIFO, buffered)."""
        key = name.casefold()
        waiter: task.CancellableTask[Any] = task.CancellableTask(data_type)
        buffered = self._buffered_events.get(key)
        if buffered:
            _, event = buffered.popleft()
            self._settle_with_payload(waiter, _string_value(event.eventRaised, "input"))
            return waiter
        self._waiters.setdefault(key, deque()).append(waiter)
        self._waiter_names.setdefault(key, name)
        waiter.set_cancel_handler(lambda: self._waiters[key].remove(waiter))
        return waiter

    def event_waits(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """Return the event names waited for, and the buffered events nobody waits for.

        The worker reports both to a sidecar that shows them (our wire dialect).
        """
        awaited = tuple(self._waiter_names.get(key, key)
                        for key, waiters in self._waiters.items() if waiters)
        unclaimed = {queue[0][1].eventRaised.name: len(queue)
                     for queue in self._buffered_events.values() if queue}
        return awaited, unclaimed

    def send_event(self, instance_id: str, event_name: str, *, data: Any = None) -> None:
        """Raise ``event_name`` on orchestration ``instance_id``.

        Raises:
            ValueError: ``instance_id`` is an entity id (starts with ``@``), or the id or the
                event name is one the sidecar refuses (empty, control characters, too long).
        """
        if instance_id.startswith("@"):
            raise ValueError(
                f"send_event() targets orchestrations, but '{instance_id}' is an entity id; "
                "use signal_entity() for entities."
            )
        _refuse(instance_id_problem(instance_id, "target instance id"), "send_event")
        _refuse(name_problem(event_name, "event name"), "send_event")
        encoded = self._converter.serialize(data)
        action = actions.new_send_event_action(self._next_id(), instance_id, event_name, encoded)
        self._add_action(action)

    def continue_as_new(
        self, new_input: Any, *, save_events: bool = False, new_version: str | None = None
    ) -> None:
        """Restart with ``new_input`` once the orchestrator yields or returns."""
        self._continue_as_new = ContinueAsNewRequest(
            self._converter.serialize(new_input), save_events, new_version
        )

    def new_uuid(self) -> str:
        """Return a UUID derived from the instance id, the current time and a counter."""
        stamp = self._current_utc.strftime(DATETIME_STRING_FORMAT)
        name = f"{self._instance_id}_{stamp}_{self._uuid_counter}"
        self._uuid_counter += 1
        return str(uuid.uuid5(_UUID_NAMESPACE, name))

    # ----- bookkeeping used by the event handlers ---------------------------------------

    @property
    def encoded_custom_status(self) -> str | None:
        """The serialised custom status, or None."""
        return self._encoded_custom_status

    @property
    def continue_as_new_request(self) -> ContinueAsNewRequest | None:
        """The pending ``continue_as_new`` request, if the orchestrator made one."""
        return self._continue_as_new

    def set_replaying(self, is_replaying: bool) -> None:
        """Mark whether the events being processed are replayed history."""
        self._is_replaying = is_replaying

    def next_sequence_id(self) -> int:
        """Return the next action id of this execution."""
        return self._next_id()

    def record_start(self, event: pb.HistoryEvent) -> None:
        """Take name, version and parent from an ``executionStarted`` event."""
        started = event.executionStarted
        self._name = started.name
        self._version = _string_value(started, "version")
        if started.HasField("parentInstance"):
            self._parent_instance_id = started.parentInstance.orchestrationInstance.instanceId
        if not self._clock_set and _is_set(event.timestamp):
            self._current_utc = event.timestamp.ToDatetime()

    def advance_clock(self, timestamp: timestamp_pb2.Timestamp) -> None:
        """Move the orchestration clock to an ``orchestratorStarted`` timestamp."""
        if _is_set(timestamp):
            self._current_utc = timestamp.ToDatetime()
            self._clock_set = True

    def confirm_action(self, event: pb.HistoryEvent) -> None:
        """Match an action-confirming history event with the pending action of its id.

        Raises:
            NonDeterminismError: No pending action matches the event.
        """
        check_action_matches(event, self._pending_actions.pop(event.eventId, None))

    def pending_action(self, action_id: int) -> pb.OrchestratorAction | None:
        """Return the unconfirmed action with id ``action_id``, or None."""
        return self._pending_actions.get(action_id)

    @property
    def last_action_id(self) -> int:
        """The id of the latest action made (0 before the first)."""
        return self._sequence

    def pending_actions(self) -> Iterator[pb.OrchestratorAction]:
        """Yield the actions not yet confirmed by history, in the order they were made."""
        return iter(self._pending_actions.values())

    def clear_pending_actions(self) -> None:
        """Drop unconfirmed actions (the sidecar committed them)."""
        self._pending_actions.clear()

    def discard_unsent_actions(self) -> None:
        """Drop unconfirmed actions of a failed or terminated orchestration, but unlocks.

        Entity unlocks are always sent: otherwise the entities would stay locked.
        """
        for action_id, action in list(self._pending_actions.items()):
            if not action.sendEntityMessage.HasField("entityUnlockSent"):
                del self._pending_actions[action_id]

    def complete_task(self, task_id: int, encoded_result: str | None) -> None:
        """Complete the task waiting on ``task_id`` with its serialised result."""
        pending = self._take_task(task_id, "result")
        if pending is not None:
            self._task_labels.pop(task_id, None)
            self._settle_with_payload(pending, encoded_result)

    def fail_task(self, task_id: int, failure: pb.TaskFailureDetails) -> None:
        """Fail the task waiting on ``task_id``, or schedule its retry."""
        pending = self._take_task(task_id, "failure")
        if pending is None:
            return
        if isinstance(pending, task.RetryableTask):
            delay = pending.compute_next_delay()
            if delay is not None:
                backoff = task.TimerTask(self._current_utc + delay, self._maximum_timer_interval)
                backoff.set_retryable_parent(pending)
                self._start_timer_chunk(backoff, self._current_utc)
                return
        label = self._task_labels.pop(task_id, f"Task {task_id}")
        pending.fail(f"{label} failed: {failure.errorMessage}", failure)

    def fire_timer(self, timer_id: int, fired_at: datetime | None) -> None:
        """Handle ``timerFired``: finish a timer, start its next chunk, or retry its parent.

        Args:
            timer_id: The fired timer's action id.
            fired_at: The fired chunk's ``fireAt`` (None when the event has none).
        """
        timer = self._take_task(timer_id, "timerFired")
        if timer is None:
            return
        if not isinstance(timer, task.TimerTask):
            self._logger.warning("%s: timer id %d belongs to a non-timer task; ignoring it",
                                 self._instance_id, timer_id)
            self._pending_tasks[timer_id] = timer
            return
        if timer.is_complete:  # cancelled: the orchestrator no longer waits for it
            return
        final, limit = timer.final_fire_at, timer.maximum_timer_interval
        # As in 1.12.0, the next chunk of a long timer starts where the fired chunk ended
        # (its fireAt), not at the episode's time: the chunks add up to the timer exactly.
        reached = fired_at if fired_at is not None else self._current_utc
        if final is not None and limit is not None and limit > timedelta(0) and reached < final:
            self._start_timer_chunk(timer, reached)
            return
        parent = timer.retryable_parent
        if parent is not None:
            parent.increment_attempt_count()
            self._pending_actions[parent.action.id] = parent.action
            self._pending_tasks[parent.action.id] = parent
            return
        timer.complete(None)

    def raise_event(self, event: pb.HistoryEvent) -> None:
        """Deliver ``eventRaised`` to the oldest waiter of its name, or buffer it."""
        if self.deliver_legacy_entity_response(event):
            return
        key = event.eventRaised.name.casefold()
        waiters = self._waiters.get(key)
        if waiters:
            self._settle_with_payload(waiters.popleft(), _string_value(event.eventRaised, "input"))
            return
        self.buffer_event(event)

    def buffer_event(self, event: pb.HistoryEvent) -> None:
        """Keep ``eventRaised`` for a later wait (or for continue-as-new carryover)."""
        key = event.eventRaised.name.casefold()
        self._events_received += 1
        self._buffered_events.setdefault(key, deque()).append((self._events_received, event))

    def carryover_events(self) -> list[pb.HistoryEvent]:
        """Return the buffered, unconsumed ``eventRaised`` events in arrival order."""
        items = [item for queue in self._buffered_events.values() for item in queue]
        return [event for _, event in sorted(items, key=lambda item: item[0])]

    # ----- internals ----------------------------------------------------------------------

    def _next_id(self) -> int:
        self._sequence += 1
        return self._sequence

    def _track(
        self,
        action: pb.OrchestratorAction,
        label: str,
        retry_policy: task.RetryPolicy | None,
        return_type: type | None,
        is_sub_orch: bool,
    ) -> task.CompletableTask[Any]:
        pending: task.CompletableTask[Any]
        if retry_policy is None:
            pending = task.CompletableTask(return_type)
        else:
            pending = task.RetryableTask(
                retry_policy, action, self._current_utc, is_sub_orch, return_type,
                clock=self._clock,
            )
        self._add_action(action)
        self._pending_tasks[action.id] = pending
        self._task_labels[action.id] = label
        return pending

    def _add_action(self, action: pb.OrchestratorAction) -> None:
        # Work started after continue_as_new() belongs to no execution, so it is not sent.
        if self._continue_as_new is None:
            self._pending_actions[action.id] = action

    def _clock(self) -> datetime:
        return self._current_utc

    def _start_timer_chunk(self, timer: task.TimerTask, start: datetime) -> None:
        fire_at = timer.final_fire_at or start
        limit = timer.maximum_timer_interval
        if limit is not None and limit > timedelta(0) and fire_at - start > limit:
            fire_at = start + limit
        action = actions.new_create_timer_action(self._next_id(), fire_at)
        self._add_action(action)
        self._pending_tasks[action.id] = timer

    def _take_task(self, task_id: int, what: str) -> task.CompletableTask[Any] | None:
        pending = self._pending_tasks.pop(task_id, None)
        if pending is None:
            self._logger.warning(
                "%s: ignoring a %s for task id %d, which is not pending (duplicate or stale)",
                self._instance_id, what, task_id,
            )
        return pending

    def _settle_with_payload(
        self, pending: task.CompletableTask[Any], encoded: str | None
    ) -> None:
        try:
            value = self._converter.deserialize(encoded, pending.expected_type)
        except Exception as exc:  # a bad payload fails the task, not the engine
            pending.fail(f"The task's result could not be deserialised: {exc}", exc)
            return
        pending.complete(value)


def _is_set(timestamp: timestamp_pb2.Timestamp) -> bool:
    return bool(timestamp.seconds or timestamp.nanos)


def _string_value(message: Any, field: str) -> str | None:
    return getattr(message, field).value if message.HasField(field) else None


def _refuse(problem: str | None, api: str) -> None:
    """Raise the ``ValueError`` of a name or id the sidecar would refuse (before it is sent)."""
    if problem is not None:
        raise ValueError(f"{api}(): {problem}")
