"""Executes work items on the worker's event loop with bounded concurrency.

Orchestrator episodes run inline on the loop (replay is fast, deterministic CPU work);
synchronous activities and entity batches run in a thread pool, ``async def`` activities
on the loop. A work item that cannot be finished is abandoned, never silently dropped.

Each work item holds a lease token on the channel generation it came in on, and completes
or is abandoned through that generation's stub even when a newer channel exists; the token
is released when the item is done, so a retired channel closes once its items drain
(R-IF1, R-D4). Execution is at least once: a completion the sidecar rejects as stale is
dropped, not retried (R-IF2).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from durabletask.internal import observability
from durabletask.internal.clock import SYSTEM_CLOCK, Clock
from durabletask.internal.dialect import PROCESS_LOST_METADATA, EventWaits
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.runtime import completions, entity_items
from durabletask.internal.runtime.episodes import EpisodeProcessor
from durabletask.internal.runtime.isolation.pool import ActivityProcessLost
from durabletask.internal.transport.manager import ChannelGeneration
from durabletask.internal.transport.stream import StreamGeneration

_logger = logging.getLogger("durabletask.worker")

# How each kind of work item is handed back: the Abandon RPC and its request type.
_ABANDON_RPCS: dict[str, tuple[str, Any]] = {
    "orchestratorRequest": ("AbandonTaskOrchestratorWorkItem", pb.AbandonOrchestrationTaskRequest),
    "activityRequest": ("AbandonTaskActivityWorkItem", pb.AbandonActivityTaskRequest),
    "entityRequest": ("AbandonTaskEntityWorkItem", pb.AbandonEntityTaskRequest),
    "entityRequestV2": ("AbandonTaskEntityWorkItem", pb.AbandonEntityTaskRequest),
}

# The work-item kind as metrics and health name it.
_KIND_NAMES = {
    "orchestratorRequest": "orchestration",
    "activityRequest": "activity",
    "entityRequest": "entity",
    "entityRequestV2": "entity",
}

# Statuses after which resending a completion may help; anything else means the sidecar
# answered and has decided (for example a stale token after redelivery).
_RETRYABLE_COMPLETION_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
    }
)


@dataclass(frozen=True)
class ProcessorSettings:
    """Limits and timeouts of the work-item runner."""

    max_concurrent_orchestrations: int
    max_concurrent_activities: int
    max_message_bytes: int
    completion_retry_max_attempts: int
    completion_retry_base_seconds: float
    completion_retry_cap_seconds: float
    abandon_timeout_seconds: float
    max_concurrent_entities: int = 100
    completion_timeout_seconds: float = 30.0
    """Deadline of each ``Complete*`` call (resiliency.md R-W8)."""


class _ItemState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"


@dataclass
class _Tracked:
    item: pb.WorkItem
    generation: ChannelGeneration
    stream: StreamGeneration
    token: int
    state: _ItemState = _ItemState.QUEUED
    arrived: float = 0.0

    @property
    def kind(self) -> str:
        """``orchestration``, ``activity`` or ``entity``."""
        return _KIND_NAMES[self.item.WhichOneof("request") or ""]

    @property
    def stub(self) -> Any:
        """The stub of the generation the item came in on (R-IF1)."""
        return self.generation.stub

    def completion_rpc(self, name: str) -> Any:
        """The completion RPC ``name`` of the item's connection: streamed when it can be."""
        unary = getattr(self.generation.stub, name)
        completions = self.stream.completions
        return unary if completions is None else completions.rpc(name, unary)


class WorkItemProcessor:
    """Runs orchestrator, activity and entity work items and reports their outcome."""

    def __init__(
        self,
        *,
        episode_processor: EpisodeProcessor,
        activity_executor: Any,
        thread_pool: concurrent.futures.ThreadPoolExecutor,
        settings: ProcessorSettings,
        metadata: Sequence[tuple[str, str]] | None = None,
        entity_executor: Any = None,
        tracing: Any = observability.NOOP_TRACING,
        metrics: Any = observability.NOOP_WORKER_METRICS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._tracing = tracing
        self._metrics = metrics
        self._episodes = episode_processor
        self._clock = clock  # completion retries wait on it
        self._activities = activity_executor
        self._entities = entity_executor
        self._pool = thread_pool
        self._settings = settings
        self._metadata = tuple(metadata) if metadata else None
        self._orchestration_slots = asyncio.Semaphore(settings.max_concurrent_orchestrations)
        self._activity_slots = asyncio.Semaphore(settings.max_concurrent_activities)
        self._entity_slots = asyncio.Semaphore(settings.max_concurrent_entities)
        self._tasks: dict[asyncio.Task[None], _Tracked] = {}
        self._stopping = False
        self._hurry = asyncio.Event()
        self._rng = random.Random()

    def submit(
        self, item: pb.WorkItem, generation: ChannelGeneration, stream: StreamGeneration
    ) -> None:
        """Start handling one work item; must be called on the runner's loop.

        Args:
            item: The work item.
            generation: The channel generation it arrived on; it completes through it.
            stream: The connection it arrived on.
        """
        kind = item.WhichOneof("request")
        if kind not in ("orchestratorRequest", "activityRequest", *entity_items.KINDS):
            _logger.warning("Ignoring unsupported work item kind %r", kind)
            return
        tracked = _Tracked(item, generation, stream, generation.lease.acquire(),
                           arrived=time.monotonic())
        if self._metrics.enabled:
            self._metrics.received(tracked.kind, item.ByteSize())
        if kind == "orchestratorRequest":
            coro = self._run_orchestration(tracked)
        elif kind == "activityRequest":
            coro = self._run_activity(tracked)
        else:
            coro = self._run_entity_batch(tracked)
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks[task] = tracked
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        tracked = self._tasks.pop(task, None)
        if tracked is not None:
            tracked.generation.lease.release(tracked.token)

    @property
    def in_flight(self) -> int:
        """Number of work items queued or running."""
        return len(self._tasks)

    def in_flight_by_kind(self) -> dict[str, int]:
        """Work items queued or running, by kind (``orchestration``, ``activity``, ``entity``)."""
        counts = dict.fromkeys(("orchestration", "activity", "entity"), 0)
        for tracked in list(self._tasks.values()):
            counts[tracked.kind] += 1
        return counts

    async def _run_orchestration(self, tracked: _Tracked) -> None:
        async with self._orchestration_slots:
            if not await self._may_start(tracked, self._abandon_item):
                return
            request = tracked.item.orchestratorRequest
            try:
                results = await self._episodes.run(request, tracked.stub)
            except Exception as exc:  # a history fetch or the payload store failed
                _logger.warning("Could not run the episode of %s (%s); abandoning the work "
                                "item", request.instanceId, exc)
                results = None
            if results is None or results.abandon:
                self._episodes.completed(request.instanceId, accepted=False)
                await self._abandon_item(tracked)
                return
            trace = self._tracing.episode(request, results)
            if trace is not None:
                trace.stamp(results.actions)
            response = completions.orchestrator_response(
                request, tracked.item.completionToken, results, self._settings.max_message_bytes
            )
            if trace is not None:
                trace.fill(response)
            _log_failure(response)
            rpc = tracked.completion_rpc("CompleteOrchestratorTask")
            waits = EventWaits(results.awaited_events, results.unclaimed_events)
            accepted = await self._complete(rpc, response, tracked,
                                            completions.orchestration_failed(response),
                                            waits.to_metadata())
            self._episodes.completed(request.instanceId, accepted)
            if accepted and trace is not None:
                trace.emit(response.actions)

    async def _run_activity(self, tracked: _Tracked) -> None:
        async with self._activity_slots:
            if not await self._may_start(tracked, self._abandon_item):
                return
            request = tracked.item.activityRequest
            args = (
                request.name,
                request.orchestrationInstance.instanceId,
                request.taskId,
                request.input.value if request.HasField("input") else None,
            )
            span = self._tracing.activity(request)
            try:
                if self._activities.is_async(request.name):
                    outcome = await span.run_async(self._activities.execute_async, *args)
                else:
                    loop = asyncio.get_running_loop()
                    outcome = await loop.run_in_executor(
                        self._pool, span.run, self._activities.execute, *args
                    )
            except ActivityProcessLost as exc:
                _logger.warning("%s; abandoning the work item for redelivery", exc)
                await self._abandon_item(tracked, PROCESS_LOST_METADATA)
                return
            except Exception:
                _logger.exception("Activity work item %s failed internally", request.name)
                await self._abandon_item(tracked)
                return
            response = completions.activity_response(
                request,
                tracked.item.completionToken,
                outcome.result,
                outcome.failure,
                self._settings.max_message_bytes,
            )
            await self._complete(tracked.completion_rpc("CompleteActivityTask"), response, tracked,
                                 response.HasField("failureDetails"))

    async def _run_entity_batch(self, tracked: _Tracked) -> None:
        async with self._entity_slots:
            if not await self._may_start(tracked, self._abandon_item):
                return
            result = await entity_items.execute(
                self._entities, tracked.item, self._pool, self._settings.max_message_bytes
            )
            if result is None:
                await self._abandon_item(tracked)
                return
            failed = any(outcome.HasField("failure") for outcome in result.results)
            rpc = tracked.completion_rpc("CompleteEntityTask")
            if await self._complete(rpc, result, tracked, failed):
                self._tracing.entity_batch(entity_items.request_of(tracked.item), result)

    async def _may_start(
        self, tracked: _Tracked, abandon: Callable[[_Tracked], Awaitable[None]]
    ) -> bool:
        # A queued item whose stream broke was already requeued by the sidecar, and one
        # queued when stop() began will not run here: hand both back instead of starting.
        if self._stopping or tracked.stream.ended_abnormally:
            await abandon(tracked)
            return False
        tracked.state = _ItemState.RUNNING
        return True

    async def _complete(
        self, rpc: Any, request: Any, tracked: _Tracked, failed: bool = False,
        extra_metadata: tuple[tuple[str, str], ...] = (),
    ) -> bool:
        """Send a completion, retrying transient failures; True if the sidecar accepted it."""
        accepted = await self._send_completion(rpc, request, tracked, extra_metadata)
        if self._metrics.enabled:
            seconds = time.monotonic() - tracked.arrived
            if accepted:
                self._metrics.completed(tracked.kind, failed, seconds, request.ByteSize())
            else:
                self._metrics.abandoned(tracked.kind, seconds)
        return accepted

    async def _send_completion(
        self, rpc: Any, request: Any, tracked: _Tracked,
        extra_metadata: tuple[tuple[str, str], ...],
    ) -> bool:
        settings = self._settings
        metadata = (*(self._metadata or ()), *extra_metadata) or None
        for attempt in range(1, settings.completion_retry_max_attempts + 1):
            try:
                await rpc(
                    request, timeout=settings.completion_timeout_seconds, metadata=metadata
                )
                return True
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in _RETRYABLE_COMPLETION_CODES or self._stopping:
                    _logger.warning(
                        "Sidecar refused the completion of a work item (%s: %s); dropping it",
                        exc.code().name,
                        exc.details(),
                    )
                    return False
                if attempt == settings.completion_retry_max_attempts:
                    break
                await self._clock.sleep(self._retry_delay(attempt))
            except Exception as exc:
                # E.g. the generation's channel was closed at its max linger (R-D4).
                _logger.warning("Could not send a work item's completion (%r); dropping it; "
                                "the sidecar redelivers it", exc)
                return False
        _logger.error(
            "Could not deliver a work item's completion after %d attempts; the sidecar will "
            "redeliver it",
            settings.completion_retry_max_attempts,
        )
        return False

    def _retry_delay(self, attempt: int) -> float:
        settings = self._settings
        unit = min(
            settings.completion_retry_cap_seconds,
            settings.completion_retry_base_seconds * 2 ** (attempt - 1),
        )
        return unit + self._rng.random() * 0.2 * unit

    async def _abandon_item(
        self, tracked: _Tracked, extra_metadata: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Hand any kind of work item back to the sidecar (best effort, bounded)."""
        rpc_name, request_type = _ABANDON_RPCS[tracked.item.WhichOneof("request")]
        request = request_type(completionToken=tracked.item.completionToken)
        if self._metrics.enabled:
            self._metrics.abandoned(tracked.kind, time.monotonic() - tracked.arrived)
        await self._abandon(getattr(tracked.stub, rpc_name), request, extra_metadata)

    async def _abandon(
        self, rpc: Any, request: Any, extra_metadata: tuple[tuple[str, str], ...] = ()
    ) -> None:
        metadata = (*(self._metadata or ()), *extra_metadata) or None
        try:
            await rpc(
                request, timeout=self._settings.abandon_timeout_seconds, metadata=metadata
            )
        except grpc.aio.AioRpcError as exc:
            _logger.warning(
                "Could not abandon a work item (%s); the sidecar recovers it when the stream "
                "or lease ends",
                exc.code().name,
            )
        except Exception as exc:
            _logger.warning("Could not abandon a work item (%r); the sidecar recovers it", exc)

    def stop_accepting(self) -> None:
        """Start no more work: queued items, and items that still arrive, are abandoned."""
        self._stopping = True

    def hurry(self) -> None:
        """End a running :meth:`shutdown`'s grace period now (call on the runner's loop)."""
        self._hurry.set()

    async def shutdown(self, grace_seconds: float) -> list[str]:
        """Stop starting work, wait up to ``grace_seconds`` for running items, abandon the rest.

        Queued items are abandoned at once, whatever their kind. Returns descriptions of
        items still running when the grace period passed (they were abandoned; their
        threads cannot be killed).
        """
        self.stop_accepting()
        pending = list(self._tasks)
        if pending and not self._hurry.is_set():
            everything = asyncio.ensure_future(asyncio.wait(pending))
            hurry = asyncio.ensure_future(self._hurry.wait())
            await asyncio.wait([everything, hurry], timeout=grace_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
            everything.cancel()
            hurry.cancel()
        orphans = []
        for task, tracked in list(self._tasks.items()):
            orphans.append(_describe(tracked.item))
            task.cancel()
            await self._abandon_item(tracked)
        return orphans


def _log_failure(response: pb.OrchestratorResponse) -> None:
    """One WARNING when an orchestration fails in this worker (nondeterminism included)."""
    for action in response.actions:
        done = action.completeOrchestration
        if (action.HasField("completeOrchestration")
                and done.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED):
            details = done.failureDetails
            _logger.warning(
                "Orchestration %s failed: %s: %s", response.instanceId, details.errorType,
                details.errorMessage,
                extra={"instance_id": response.instanceId, "error_type": details.errorType},
            )


def _describe(item: pb.WorkItem) -> str:
    kind = item.WhichOneof("request")
    if kind in entity_items.KINDS:
        return entity_items.describe(item)
    if kind == "activityRequest":
        request = item.activityRequest
        return f"activity {request.name} of {request.orchestrationInstance.instanceId}"
    if kind == "orchestratorRequest":
        return f"orchestration {item.orchestratorRequest.instanceId}"
    return f"{kind} work item"
