"""Large payloads on the worker: resolve tokens before user code runs, externalize results.

Used only when the worker has a payload store. Every boundary of the official worker is
covered: orchestrator requests (new events, past events and a history fetched on a cache
miss) and their actions and custom status; activity inputs, results and failure details;
entity state, operation inputs, results and actions.

Store calls run in threads (never on the worker's loop): the sync store methods, as the
official worker calls them, so one store object can serve any number of workers and
clients. What a failing store means for the work item:

* the store failed (unreachable, timed out, refused): the work item is abandoned, the
  sidecar redelivers it later (``PayloadStoreError.retryable``), nothing is lost;
* a token has no payload, or its payload is unreadable, or a result is above the store's
  maximum: retrying cannot help, so the work item fails with that error as its failure
  details (the orchestration fails; an activity fails and its orchestration sees a
  ``TaskFailedError``; every operation of an entity batch fails, the state stays).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol
from datetime import datetime, timezone

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from durabletask.internal import failures
from durabletask.internal.engine import EntityExecutor
from durabletask.internal.engine.activity import ActivityOutcome
from durabletask.internal.engine.actions import new_complete_action
from durabletask.internal.engine.entity_executor import EntityBatchOutcome
from durabletask.internal.engine.entity_requests import EntityWorkItem, to_batch
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.runtime import completions
from durabletask.payload import guarded, helpers
from durabletask.payload.errors import PayloadStoreError, StoredPayloadTooLargeError
from durabletask.payload.store import PayloadStore

__all__ = ["PayloadActivities", "PayloadBoundary", "PayloadEntities", "PayloadFailure"]

_logger = logging.getLogger("durabletask.worker")

PayloadFailure = (PayloadStoreError, StoredPayloadTooLargeError)
"""What the boundary raises; see :func:`is_final`."""


def is_final(exc: Exception) -> bool:
    """True when the work item must fail with ``exc`` rather than be redelivered."""
    return isinstance(exc, StoredPayloadTooLargeError) or (
        isinstance(exc, PayloadStoreError) and not exc.retryable)


def _log_retry(exc: Exception, what: str) -> None:
    _logger.warning("%s; abandoning the %s so that the sidecar redelivers it", exc, what)


class PayloadBoundary:
    """Resolves and externalizes the messages of work items with one store."""

    def __init__(self, store: PayloadStore) -> None:
        self.store = store

    async def resolve(self, messages: Sequence[Message]) -> None:
        """Resolve every token of ``messages`` in place (in a thread, only if there are any).

        Raises:
            PayloadStoreError: The store failed or has no payload for a token.
        """
        pending = [m for m in messages if helpers.tokens_in(m, self.store)]
        if pending:
            await asyncio.to_thread(self._resolve_all, pending)

    def _resolve_all(self, messages: Sequence[Message]) -> None:
        for message in messages:
            guarded.resolve(message, self.store)

    async def offload_results(
        self, results: ExecutionResults, instance_id: str
    ) -> ExecutionResults:
        """Return ``results`` with their large strings externalized (copies, not in place).

        Raises:
            StoredPayloadTooLargeError: A payload is above the store's maximum.
            PayloadStoreError: The store failed.
        """
        envelope = pb.OrchestratorResponse(actions=results.actions)
        if results.encoded_custom_status is not None:
            envelope.customStatus.value = results.encoded_custom_status
        if not helpers.oversized(envelope, self.store):
            return results
        await asyncio.to_thread(guarded.offload, envelope, self.store, instance_id)
        status = envelope.customStatus.value if envelope.HasField("customStatus") else None
        return dataclasses.replace(
            results, actions=list(envelope.actions), encoded_custom_status=status)


def failed_results(exc: Exception) -> ExecutionResults:
    """An episode result that fails the orchestration with ``exc`` as its failure."""
    details = failures.failure_details_from_exception(exc)
    return ExecutionResults(
        [new_complete_action(-1, pb.ORCHESTRATION_STATUS_FAILED, failure=details)], None)


class ActivityRunner(Protocol):
    """What the work-item runner calls to run activities (thread or process isolated)."""

    def is_async(self, name: str) -> bool: ...  # noqa: D102

    def execute(  # noqa: D102
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> ActivityOutcome: ...

    async def execute_async(  # noqa: D102
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> ActivityOutcome: ...


class PayloadActivities:
    """An ``ActivityExecutor`` whose inputs are resolved and results externalized.

    A store failure is raised (the runner abandons the work item); a missing payload or
    a result above the maximum becomes the activity's failure.
    """

    def __init__(self, inner: ActivityRunner, boundary: PayloadBoundary) -> None:
        self._inner = inner
        self._store = boundary.store

    def is_async(self, name: str) -> bool:
        """True when activity ``name`` is an ``async def`` function."""
        return self._inner.is_async(name)

    def execute(
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> ActivityOutcome:
        """Run the activity in the calling thread (the runner's pool)."""
        try:
            resolved = guarded.resolve_text(self._store, encoded_input)
        except PayloadStoreError as exc:
            return self._failed(exc, name, orchestration_id)
        outcome = self._inner.execute(name, orchestration_id, task_id, resolved)
        return self._offloaded(outcome, name, orchestration_id)

    async def execute_async(
        self, name: str, orchestration_id: str, task_id: int, encoded_input: str | None
    ) -> ActivityOutcome:
        """Run an ``async def`` activity on the loop; store calls go to a thread."""
        resolved = encoded_input
        if encoded_input and self._store.is_known_token(encoded_input):
            try:
                resolved = await asyncio.to_thread(
                    guarded.resolve_text, self._store, encoded_input)
            except PayloadStoreError as exc:
                return self._failed(exc, name, orchestration_id)
        outcome = await self._inner.execute_async(name, orchestration_id, task_id, resolved)
        return await asyncio.to_thread(self._offloaded, outcome, name, orchestration_id)

    def _offloaded(
        self, outcome: ActivityOutcome, name: str, orchestration_id: str
    ) -> ActivityOutcome:
        try:
            result = guarded.offload_text(self._store, outcome.result, orchestration_id)
            if outcome.failure is not None:
                guarded.offload(outcome.failure, self._store, orchestration_id)
        except PayloadFailure as exc:
            return self._failed(exc, name, orchestration_id)
        return ActivityOutcome(result, outcome.failure)

    @staticmethod
    def _failed(exc: Exception, name: str, orchestration_id: str) -> ActivityOutcome:
        what = f"work item of activity '{name}' of {orchestration_id}"
        if not is_final(exc):
            _log_retry(exc, what)
            raise exc
        _logger.error("The %s fails: %s", what, exc)
        return ActivityOutcome(None, failures.failure_details_from_exception(exc))


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(timezone.utc))
    return stamp


class PayloadEntities:
    """An ``EntityExecutor`` whose batches are resolved and results externalized.

    A store failure abandons the batch (no result); a missing payload or a result above
    the maximum fails every operation and keeps the entity's state.
    """

    def __init__(self, inner: EntityExecutor, boundary: PayloadBoundary) -> None:
        self._inner = inner
        self._store = boundary.store

    def execute(self, request: EntityWorkItem, completion_token: str = "") -> EntityBatchOutcome:
        """Run the batch in the calling thread (the runner's pool); never raises."""
        resolved = request
        if helpers.tokens_in(request, self._store):
            resolved = type(request)()
            resolved.CopyFrom(request)
            try:
                guarded.resolve(resolved, self._store)
            except PayloadStoreError as exc:
                return self._failed(exc, request, completion_token)
        outcome = self._inner.execute(resolved, completion_token)
        if outcome.result is None:
            return outcome
        self._keep_state_token(request, resolved, outcome.result)
        try:
            guarded.offload(outcome.result, self._store, request.instanceId)
        except PayloadFailure as exc:
            return self._failed(exc, request, completion_token)
        return outcome

    def _keep_state_token(
        self, request: EntityWorkItem, resolved: EntityWorkItem, result: pb.EntityBatchResult
    ) -> None:
        # An unchanged large state keeps its token instead of being uploaded again.
        if (resolved is not request and result.HasField("entityState")
                and self._store.is_known_token(request.entityState.value)
                and result.entityState.value == resolved.entityState.value):
            result.entityState.value = request.entityState.value

    @staticmethod
    def _failed(
        exc: Exception, request: EntityWorkItem, completion_token: str
    ) -> EntityBatchOutcome:
        what = f"entity batch of {request.instanceId}"
        if not is_final(exc):
            _log_retry(exc, what)
            return EntityBatchOutcome(None, str(exc))
        _logger.error("Every operation of the %s fails: %s", what, exc)
        batch, infos = to_batch(request)
        now = _now()
        details = failures.failure_details_from_exception(exc)
        spans = [(now, now)] * len(batch.operations)
        return EntityBatchOutcome(
            completions.failed_entity_batch(request, completion_token, infos, details, spans))


def with_store(
    store: PayloadStore | None, activities: ActivityRunner, entities: EntityExecutor
) -> tuple[PayloadBoundary | None, ActivityRunner,
           EntityExecutor | PayloadEntities]:
    """Wrap the worker's executors for ``store``; unchanged (and no boundary) without one."""
    if store is None:
        return None, activities, entities
    boundary = PayloadBoundary(store)
    return boundary, PayloadActivities(activities, boundary), PayloadEntities(entities, boundary)
