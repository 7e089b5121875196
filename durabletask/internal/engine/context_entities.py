"""The entity half of the orchestration context: calls, signals, critical sections.

``RuntimeOrchestrationContext`` mixes this in. Ids and sequence numbers follow the official
SDK, so the actions (and the history a sidecar records) are the same on every replay and
the same as the official worker's: the action id is taken first, then the rules are
checked, then ``new_uuid()`` gives the request or critical-section id.

Requests are remembered when they are made (not when history confirms them), so a cached
orchestration that never sees its confirmations still matches the answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durabletask import task
from durabletask.entities import EntityInstanceId, EntityLock, EntityOperationFailedException
from durabletask.internal import failures
from durabletask.internal.engine import entity_actions, entity_legacy
from durabletask.internal.engine.critical_section import EntityLockRules
from durabletask.internal.engine.nondeterminism import check_action_matches, wrong_action_error
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DataConverter

__all__ = ["EntityContextMixin"]


@dataclass(frozen=True)
class _Waiting:
    """An entity call or lock request whose answer has not arrived."""

    key: str  # the requestId, or the criticalSectionId of a lock request
    entity: EntityInstanceId
    operation: str | None  # None for a lock request
    task_id: int


def _entity_id(value: EntityInstanceId | str) -> EntityInstanceId:
    if isinstance(value, EntityInstanceId):
        return value
    if isinstance(value, str):
        return EntityInstanceId.parse(value)  # ValueError names the '@name@key' form
    raise TypeError(
        f"Expected an EntityInstanceId (or its '@name@key' string), got {type(value).__name__}"
    )


class EntityContextMixin:
    """Entity operations of an orchestration context, and the handling of their answers."""

    if TYPE_CHECKING:  # provided by the orchestration context this is mixed into
        _instance_id: str
        _converter: DataConverter
        _logger: logging.Logger
        _pending_actions: dict[int, pb.OrchestratorAction]
        _pending_tasks: dict[int, task.CompletableTask[Any]]

        def _next_id(self) -> int: ...

        def _add_action(self, action: pb.OrchestratorAction) -> None: ...

        def new_uuid(self) -> str: ...  # noqa: D102

        def _settle_with_payload(
            self, pending: task.CompletableTask[Any], encoded: str | None
        ) -> None: ...

    def _init_entities(self) -> None:
        self._entity_locks = EntityLockRules()
        self._entity_calls: dict[str, _Waiting] = {}  # requestId -> call
        self._lock_requests: dict[str, _Waiting] = {}  # criticalSectionId -> lock request
        self._legacy_waits: dict[str, _Waiting] = {}  # Durable Functions message id -> wait

    # ----- the orchestration API --------------------------------------------------------

    def call_entity(
        self,
        entity: EntityInstanceId,
        operation: str,
        input: Any = None,
        *,
        return_type: type | None = None,
    ) -> task.CompletableTask[Any]:
        """Call ``operation`` on ``entity`` and return a task for its result.

        A failed operation fails the task with a ``TaskFailedError`` whose details are those
        of an ``EntityOperationFailedException`` (the entity's own error as inner failure).

        Raises:
            RuntimeError: Inside a critical section, ``entity`` is not locked, its lock is
                not granted yet, or a call to it is still pending.
            ValueError: ``entity`` is a string not of the form ``@name@key``.
        """
        action_id = self._next_id()
        target = _entity_id(entity)
        self._entity_locks.check_call(target)
        encoded = self._converter.serialize(input)
        request_id = self.new_uuid()
        self._add_action(entity_actions.new_call_entity_action(
            action_id, self._instance_id, target, operation, encoded, request_id
        ))
        pending: task.CompletableTask[Any] = task.CompletableTask(return_type)
        self._pending_tasks[action_id] = pending
        self._entity_calls[request_id] = _Waiting(request_id, target, operation, action_id)
        return pending

    def signal_entity(
        self,
        entity_id: EntityInstanceId,
        operation_name: str,
        input: Any = None,
        signal_time: datetime | None = None,
    ) -> None:
        """Send ``operation_name`` to ``entity_id`` one way, now or at ``signal_time``.

        Raises:
            RuntimeError: ``entity_id`` is locked by the current critical section.
            ValueError: ``entity_id`` is a string not of the form ``@name@key``.
        """
        action_id = self._next_id()
        target = _entity_id(entity_id)
        self._entity_locks.check_signal(target)
        encoded = self._converter.serialize(input)
        self._add_action(entity_actions.new_signal_entity_action(
            action_id, target, operation_name, encoded, self.new_uuid(), signal_time
        ))

    def lock_entities(self, entities: list[EntityInstanceId]) -> task.CompletableTask[EntityLock]:
        """Return a task that completes with an ``EntityLock`` once all ``entities`` are locked.

        Use it as ``with (yield ctx.lock_entities([...])):``; leaving the block unlocks them.

        Raises:
            RuntimeError: Already inside a critical section, or ``entities`` is empty.
        """
        action_id = self._next_id()
        targets = [_entity_id(entity) for entity in entities]
        self._entity_locks.check_acquire()
        section_id = self.new_uuid()
        lock_set = self._entity_locks.begin(section_id, targets)
        self._add_action(entity_actions.new_lock_entities_action(
            action_id, self._instance_id, section_id, lock_set
        ))
        pending: task.CompletableTask[EntityLock] = task.CompletableTask()
        self._pending_tasks[action_id] = pending
        self._lock_requests[section_id] = _Waiting(section_id, min(targets), None, action_id)
        return pending

    @property
    def is_inside_critical_section(self) -> bool:
        """True between ``lock_entities`` and the end of its ``with`` block (an addition)."""
        return self._entity_locks.is_inside_critical_section

    def _exit_critical_section(self) -> None:
        """Called by ``EntityLock.__exit__``: see :meth:`end_critical_section`."""
        self.end_critical_section()

    def end_critical_section(self) -> None:
        """Unlock every entity of the current critical section (no-op outside one)."""
        section = self._entity_locks.end()
        if section is None:
            return
        for entity in section.unlock_order():
            action = entity_actions.new_unlock_entity_action(
                self._next_id(), self._instance_id, section.section_id, entity
            )
            # Unlocks are always sent: also after continue_as_new and on failure.
            self._pending_actions[action.id] = action

    # ----- history -----------------------------------------------------------------------

    def confirm_entity_message(self, event: pb.HistoryEvent) -> None:
        """Match a call, signal or lock-request confirmation with its pending action.

        Raises:
            NonDeterminismError: The code made another action under that id.
        """
        check_action_matches(event, self._pending_actions.pop(event.eventId, None))

    def confirm_entity_unlock(self, event: pb.HistoryEvent) -> None:
        """Drop the pending unlocks of the confirmed critical section (as the official SDK)."""
        section_id = event.entityUnlockSent.criticalSectionId
        for action_id, action in list(self._pending_actions.items()):
            message = action.sendEntityMessage
            if (message.HasField("entityUnlockSent")
                    and message.entityUnlockSent.criticalSectionId == section_id):
                del self._pending_actions[action_id]

    def complete_entity_call(self, request_id: str, output: str | None) -> None:
        """Complete the call waiting on ``request_id`` (an empty output means ``None``)."""
        waiting = self._take_entity_wait(self._entity_calls, request_id, "result")
        if waiting is None:
            return
        pending = self._pending_tasks.pop(waiting.task_id, None)
        self._entity_locks.call_returned(waiting.entity)
        if pending is not None:
            self._settle_with_payload(pending, output or None)

    def fail_entity_call(self, request_id: str, details: pb.TaskFailureDetails) -> None:
        """Fail the call waiting on ``request_id`` with the entity's failure details."""
        waiting = self._take_entity_wait(self._entity_calls, request_id, "failure")
        if waiting is None:
            return
        pending = self._pending_tasks.pop(waiting.task_id, None)
        self._entity_locks.call_returned(waiting.entity)
        if pending is not None:
            _fail_with_entity_error(pending, waiting, details)

    def grant_entity_lock(self, section_id: str) -> None:
        """Complete the lock request of ``section_id`` with an ``EntityLock``."""
        waiting = self._take_entity_wait(self._lock_requests, section_id, "lock grant")
        if waiting is None:
            return
        pending = self._pending_tasks.pop(waiting.task_id, None)
        if pending is not None and self._entity_locks.granted(section_id):
            pending.complete(EntityLock(self))

    def confirm_event_sent(self, event: pb.HistoryEvent) -> None:
        """Confirm ``eventSent``: a ``send_event``, or an entity message (Functions shape).

        Raises:
            NonDeterminismError: The pending action under that id differs.
        """
        action = self._pending_actions.pop(event.eventId, None)
        if action is None or not action.HasField("sendEntityMessage"):
            check_action_matches(event, action)
            return
        message = action.sendEntityMessage
        if _entity_message_target(message) != event.eventSent.instanceId:
            raise wrong_action_error(event, action)
        kind = message.WhichOneof("EntityMessageType")
        if kind == "entityOperationCalled":
            called = message.entityOperationCalled
            waiting = self._entity_calls.pop(called.requestId, None)
            if waiting is not None:
                self._legacy_waits[entity_legacy.message_id_of_event_sent(event)] = waiting
        elif kind == "entityLockRequested":
            section_id = message.entityLockRequested.criticalSectionId
            waiting = self._lock_requests.get(section_id)
            if waiting is not None:
                self._legacy_waits[entity_legacy.message_id_of_event_sent(event)] = waiting

    def deliver_legacy_entity_response(self, event: pb.HistoryEvent) -> bool:
        """Handle ``eventRaised`` answering an entity message (Functions shape); False if not."""
        waiting = self._legacy_waits.pop(event.eventRaised.name, None)
        if waiting is None:
            return False
        pending = self._pending_tasks.pop(waiting.task_id, None)
        if pending is None:
            return True
        raw = event.eventRaised.input.value if event.eventRaised.HasField("input") else ""
        response = self._converter.deserialize(raw or None)
        if waiting.operation is None:  # a lock grant carries no result
            self._lock_requests.pop(waiting.key, None)
            self._entity_locks.granted(waiting.key)
            pending.complete(EntityLock(self))
            return True
        self._entity_locks.call_returned(waiting.entity)
        if isinstance(response, dict) and entity_legacy.is_error_response(response):
            result = response.get("result")
            content = self._converter.deserialize(result) if isinstance(result, str) else result
            details = entity_legacy.response_failure_details(response, content)
            _fail_with_entity_error(pending, waiting, details)
            return True
        result = response.get("result") if isinstance(response, dict) else None
        self._settle_with_payload(pending, result if isinstance(result, str) else None)
        return True

    def _take_entity_wait(
        self, table: dict[str, _Waiting], key: str, what: str
    ) -> _Waiting | None:
        waiting = table.pop(key, None)
        if waiting is None:
            self._logger.warning(
                "%s: ignoring an entity %s for '%s', which is not pending (duplicate or stale)",
                self._instance_id, what, key,
            )
        return waiting


def _entity_message_target(message: pb.SendEntityMessageAction) -> str | None:
    kind = message.WhichOneof("EntityMessageType")
    if kind == "entityLockRequested":
        request = message.entityLockRequested
        in_range = 0 <= request.position < len(request.lockSet)
        return request.lockSet[request.position] if in_range else None
    if kind is None:
        return None
    return str(getattr(message, kind).targetInstanceId.value)


def _fail_with_entity_error(
    pending: task.CompletableTask[Any], waiting: _Waiting, details: pb.TaskFailureDetails
) -> None:
    error = EntityOperationFailedException(waiting.entity, waiting.operation or "", details)
    # The official shape: a TaskFailedError whose details describe the
    # EntityOperationFailedException, with the entity's failure as the inner failure.
    wrapped = failures.failure_details_from_exception(error)
    wrapped.innerFailure.CopyFrom(details)
    pending.fail(str(error), wrapped)
