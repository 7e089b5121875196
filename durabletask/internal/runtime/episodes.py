"""Runs orchestration episodes through the cache, fetching history on a streaming miss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc.aio

from durabletask.internal.engine.cache import NeedsHistory, OrchestrationCache
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.proto import orchestrator_service_pb2 as pb

# Fetching a long history is one streaming call; bound it like any other call.
_HISTORY_FETCH_TIMEOUT_SECONDS = 60.0


class EpisodeRunner:
    """The worker's entry to the engine for orchestrator work items."""

    def __init__(
        self,
        cache: OrchestrationCache,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        self._cache = cache
        self._metadata = tuple(metadata) if metadata else None

    async def run(self, request: pb.OrchestratorRequest, stub: Any) -> ExecutionResults:
        """Execute one episode; on a cache miss without history, fetch it first."""
        try:
            return self._cache.execute(request)
        except NeedsHistory:
            history = await self._fetch_history(request, stub)
            return self._cache.execute(request, fetched_history=history)

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

    def completed(self, instance_id: str, accepted: bool) -> None:
        """Record whether the sidecar accepted the episode's completion."""
        if accepted:
            self._cache.acknowledge(instance_id)
        else:
            self._cache.evict(instance_id)
