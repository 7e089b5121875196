"""Runs orchestration episodes through the cache, fetching history on a streaming miss.

With a payload store, tokens of the request (and of a fetched history) are resolved
before the episode runs and its actions are externalized after (``payloads.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import grpc.aio

from durabletask.internal import observability
from durabletask.internal.engine.cache import NeedsHistory, OrchestrationCache
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.runtime.payloads import (
    PayloadBoundary,
    PayloadFailure,
    failed_results,
    is_final,
)

_logger = logging.getLogger("durabletask.worker")

# Fetching a long history is one streaming call; bound it like any other call.
_HISTORY_FETCH_TIMEOUT_SECONDS = 60.0
# Longest wait for the answer to an instance's previous completion before its next episode.
_ANSWER_WAIT_SECONDS = 5.0


class EpisodeProcessor:
    """The worker's entry to the engine for orchestrator work items."""

    def __init__(
        self,
        cache: OrchestrationCache,
        metadata: Sequence[tuple[str, str]] | None = None,
        payloads: PayloadBoundary | None = None,
        metrics: Any = observability.NOOP_WORKER_METRICS,
    ) -> None:
        self._cache = cache
        self._payloads = payloads
        self._metrics = metrics
        self._metadata = tuple(metadata) if metadata else None
        self._unanswered: dict[str, asyncio.Future[bool]] = {}

    async def run(self, request: pb.OrchestratorRequest, stub: Any) -> ExecutionResults:
        """Execute one episode; on a cache miss without history, fetch it first.

        Call :meth:`completed` once the episode's completion was answered.
        """
        instance_id = request.instanceId
        previous = self._unanswered.get(instance_id)
        if previous is not None:
            # The sidecar dispatches the next episode only after committing the previous
            # one, so its answer is already on the way: wait for it rather than miss.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(previous), _ANSWER_WAIT_SECONDS)
        try:
            results = await self._execute(request, stub)
        except PayloadFailure as exc:
            if not is_final(exc):
                raise  # the store failed: the work item is abandoned and redelivered
            _logger.error("Orchestration %s fails: %s", instance_id, exc)
            self._cache.evict(instance_id)
            results = failed_results(exc)
        self._unanswered[instance_id] = asyncio.get_running_loop().create_future()
        return results

    async def _execute(self, request: pb.OrchestratorRequest, stub: Any) -> ExecutionResults:
        payloads = self._payloads
        if payloads is not None:
            await payloads.resolve([request])
        started, hits = time.perf_counter(), self._cache.hits
        try:
            results = self._cache.execute(request)
        except NeedsHistory:
            history = await self._fetch_history(request, stub)
            if payloads is not None:
                await payloads.resolve(history)
            started = time.perf_counter()
            results = self._cache.execute(request, fetched_history=history)
        if self._metrics.enabled:
            self._metrics.episode(time.perf_counter() - started, self._cache.hits > hits)
        if payloads is not None:
            results = await payloads.offload_results(results, request.instanceId)
        return results

    async def _fetch_history(
        self, request: pb.OrchestratorRequest, stub: Any
    ) -> list[pb.HistoryEvent]:
        fetch = pb.StreamInstanceHistoryRequest(
            instanceId=request.instanceId, forWorkItemProcessing=True
        )
        if request.HasField("executionId"):
            fetch.executionId.CopyFrom(request.executionId)
        call = stub.StreamInstanceHistory(
            fetch, timeout=_HISTORY_FETCH_TIMEOUT_SECONDS, metadata=self._metadata
        )
        history: list[pb.HistoryEvent] = []
        while True:
            chunk = await call.read()
            if chunk is grpc.aio.EOF:
                return history
            history.extend(chunk.events)

    @property
    def cache(self) -> OrchestrationCache:
        """Return the orchestration cache, for health and metrics."""
        return self._cache

    def completed(self, instance_id: str, accepted: bool) -> None:
        """Record whether the sidecar accepted the episode's completion."""
        answered = self._unanswered.pop(instance_id, None)
        if answered is not None and not answered.done():
            answered.set_result(accepted)
        if accepted:
            self._cache.acknowledge(instance_id)
        else:
            self._cache.evict(instance_id)
