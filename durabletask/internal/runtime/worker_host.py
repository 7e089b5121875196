"""Hosts a running worker: event-loop thread, channel manager, stream supervisor and runner.

``stop()`` (R-S1 to R-S4) is a clean stop, never counted as a lost worker: start no new
work; tell a sidecar that honours it (ours) that the worker is stopping, so that it sends
nothing new and keeps this worker's leases valid, and read its stream to the end; cancel the
stream, ``Hello`` and any backoff; abandon queued items; wait up to ``stop_timeout_seconds``
for running ones (their completions are accepted) and abandon the rest explicitly; close
every SDK-owned channel (current and retired); stop the loop thread; reap the activity
processes, if any. It is bounded by ``grace + abandon_timeout + 2 s`` (grace defaults to
``stop_timeout``) plus the process reap bound, and returns within about a second when idle.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from durabletask.grpc_options import (
    DRAIN_NOTICE_TIMEOUT_SECONDS,
    GrpcChannelOptions,
    GrpcWorkerResiliencyOptions,
    KeepalivePolicy,
)
from durabletask.health import StreamState, WorkerHealth
from durabletask.internal import observability
from durabletask.internal.clock import SYSTEM_CLOCK, Clock
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.runtime.loop_thread import LoopThread
from durabletask.internal.runtime.work_items import ProcessorSettings, WorkItemProcessor
from durabletask.internal.transport import observe
from durabletask.internal.transport.channel import ChannelSpec
from durabletask.internal.transport.manager import AsyncChannelManager, ManagerPolicy
from durabletask.internal.transport.supervisor import StreamSupervisor, SupervisorSettings
from durabletask.internal.transport.sync_adapter import SyncChannelStub

# gRPC's own default receive limit, which is also what a sidecar accepts unless configured.
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Bound on loop-thread teardown after the drain, so stop() never hangs.
_TEARDOWN_SECONDS = 2.0
_CALLER_CHANNEL = "<caller-provided channel>"
# The supervisor's states as health reports them.
_STATES = {
    "streaming": StreamState.CONNECTED,
    "backoff": StreamState.BACKOFF,
    "stopping": StreamState.STOPPED,
}


@dataclass(frozen=True)
class WorkerHostConfig:
    """Connection inputs of a worker, fixed at construction."""

    host_address: str | None
    metadata: Sequence[tuple[str, str]]
    channel: Any
    secure_channel: bool
    interceptors: Sequence[Any]
    channel_options: GrpcChannelOptions
    resiliency_options: GrpcWorkerResiliencyOptions
    clock: Clock = SYSTEM_CLOCK
    """Times backoffs, retries, the silence window and probes (the time seam)."""


class WorkerHost:
    """One started worker. ``start`` and ``stop`` are called once each by the worker."""

    def __init__(
        self,
        config: WorkerHostConfig,
        *,
        episode_processor: Any,
        activity_executor: Any,
        concurrency: Any,
        entity_executor: Any = None,
        request: pb.GetWorkItemsRequest,
        logger: logging.Logger,
        tracing: Any = observability.NOOP_TRACING,
        metrics: Any = observability.NOOP_WORKER_METRICS,
        process_pool: Any = None,
    ) -> None:
        self._config = config
        self._process_pool = process_pool
        self._hurried = False
        self._tracing = tracing
        self._metrics = metrics
        self._unregister_metrics: Any = None
        self._logger = logger
        self._request = request
        resiliency = config.resiliency_options
        self._stop_timeout = resiliency.stop_timeout_seconds
        self._abandon_timeout = resiliency.abandon_timeout_seconds
        self._max_message_bytes = (
            config.channel_options.max_send_message_length
            or DEFAULT_MAX_MESSAGE_BYTES
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency.maximum_thread_pool_workers,
            thread_name_prefix="durabletask-activity",
        )
        self._processor_settings = ProcessorSettings(
            max_concurrent_orchestrations=concurrency.maximum_concurrent_orchestration_work_items,
            max_concurrent_activities=concurrency.maximum_concurrent_activity_work_items,
            max_concurrent_entities=concurrency.maximum_concurrent_entity_work_items,
            max_message_bytes=self._max_message_bytes,
            completion_retry_max_attempts=resiliency.completion_retry_max_attempts,
            completion_retry_base_seconds=resiliency.completion_retry_base_seconds,
            completion_retry_cap_seconds=resiliency.completion_retry_cap_seconds,
            abandon_timeout_seconds=self._abandon_timeout,
        )
        self._episodes = episode_processor
        self._activities = activity_executor
        self._entities = entity_executor
        self._loop_thread = LoopThread("durabletask-worker")
        self._manager: AsyncChannelManager | None = None
        self._processor: WorkItemProcessor | None = None
        self._supervisor: StreamSupervisor | None = None
        self._run_future: concurrent.futures.Future[None] | None = None
        self._spec: ChannelSpec | None = None
        # One id per worker run: our sidecar knows this worker's streams by it.
        self._worker_id = uuid.uuid4().hex

    def start(self) -> None:
        """Start the loop thread and begin connecting in the background."""
        self._loop_thread.start()
        self._loop_thread.submit(self._setup()).result()
        self._run_future = self._loop_thread.submit(self._supervise())
        target = self._manager.target if self._manager is not None else None
        self._logger.info("Worker %s started; connecting to the sidecar at %s",
                          self._worker_id, target,
                          extra={"worker_id": self._worker_id, "address": target})
        if self._metrics.available:
            self._unregister_metrics = observability.register_worker(self)

    async def _setup(self) -> None:
        config = self._config
        self._manager = self._new_manager()
        self._processor = WorkItemProcessor(
            episode_processor=self._episodes,
            activity_executor=self._activities,
            thread_pool=self._pool,
            settings=self._processor_settings,
            metadata=config.metadata,
            entity_executor=self._entities,
            tracing=self._tracing,
            metrics=self._metrics,
            clock=config.clock,
        )
        resiliency = config.resiliency_options
        self._supervisor = StreamSupervisor(
            self._manager,
            self._request,
            metadata=config.metadata,
            settings=SupervisorSettings(
                hello_timeout_seconds=resiliency.hello_timeout_seconds,
                silent_disconnect_timeout_seconds=resiliency.silent_disconnect_timeout_seconds,
                backoff_base_seconds=resiliency.reconnect_backoff_base_seconds,
                backoff_cap_seconds=resiliency.reconnect_backoff_cap_seconds,
            ),
            sink=self._processor.submit,
            worker_id=self._worker_id,
            reconfigure=self._reconfigure if self._spec is not None else None,
            clock=config.clock,
        )

    def _reconfigure(self, keepalive: KeepalivePolicy) -> bool:
        """Use ``keepalive`` for the next channels; True when that changes them."""
        spec = self._spec
        if spec is None or spec.user_keepalive or spec.keepalive == keepalive:
            return False
        self._spec = spec.with_keepalive(keepalive)
        return True

    def _new_manager(self) -> AsyncChannelManager:
        config = self._config
        resiliency = config.resiliency_options
        max_linger = resiliency.retired_channel_max_linger_seconds
        # Work items hold no deadline: a retired worker channel waits for them up to the
        # max linger (R-D4). Counting is the supervisor's job, so no interceptor (R-W8).
        policy = ManagerPolicy(
            threshold=resiliency.channel_recreate_failure_threshold,
            cooldown_seconds=0.0, linger_seconds=max_linger, max_linger_seconds=max_linger,
            intercept=False,
        )
        caller_channel = config.channel
        if caller_channel is not None:
            stub_factory: Any = (
                pb_grpc.TaskHubSidecarServiceStub
                if isinstance(caller_channel, grpc.aio.Channel) else SyncChannelStub
            )
            return AsyncChannelManager(
                target=config.host_address or _CALLER_CHANNEL, owner="worker", policy=policy,
                stub_factory=stub_factory, open_channel=lambda _first: caller_channel,
                owns_channel=False,
            )
        spec = self._spec = ChannelSpec.from_args(
            config.host_address, secure_channel=config.secure_channel,
            channel_options=config.channel_options,
        )
        user = list(config.interceptors)

        def open_channel(first: Sequence[Any]) -> grpc.aio.Channel:
            current = self._spec or spec  # the keepalive may change after a Hello
            return current.open_aio([*first, *user])

        return AsyncChannelManager(
            target=spec.target, owner="worker", policy=policy,
            stub_factory=pb_grpc.TaskHubSidecarServiceStub, open_channel=open_channel,
        )

    def resiliency_stats(self) -> dict[str, Any]:
        """Return the worker's connection counters and channel stats (docs/resiliency.md)."""
        stats: dict[str, Any] = {}
        if self._manager is not None:
            stats.update(self._manager.stats())
        if self._supervisor is not None:
            stats.update(self._supervisor.counters)
            stats["state"] = self._supervisor.state
        return stats

    def health(self) -> WorkerHealth:
        """The worker's health now."""
        supervisor, runner = self._supervisor, self._processor
        if supervisor is None or runner is None:
            return WorkerHealth(StreamState.STOPPED)
        last = supervisor.liveness.last_message_at
        return WorkerHealth(
            state=_STATES.get(supervisor.state, StreamState.CONNECTING),
            seconds_since_last_message=(
                None if last is None else self._config.clock.monotonic() - last),
            reconnects=supervisor.counters["reconnects"],
            in_flight=runner.in_flight_by_kind(),
            cache_size=len(self._episodes.cache),
        )

    def metrics_snapshot(self) -> dict[str, Any]:
        """Counters for the metrics reader (``observability.otel_metrics``)."""
        supervisor, cache, runner = self._supervisor, self._episodes.cache, self._processor
        counters = supervisor.counters if supervisor is not None else {}
        lookups = "durabletask.worker.orchestration_cache.lookups"
        totals = {
            **self._metrics.totals(),
            (lookups, (("durabletask.cache.result", "hit"),)): cache.hits,
            (lookups, (("durabletask.cache.result", "miss"),)): cache.misses,
            ("durabletask.worker.orchestration_cache.evictions", ()): cache.evictions,
            ("durabletask.worker.stream.reconnects", ()): counters.get("reconnects", 0),
            ("durabletask.worker.stream.silent_disconnects", ()): counters.get(
                "silent_disconnects", 0),
        }
        return {
            "totals": totals,
            "cache_size": len(cache),
            "in_flight": runner.in_flight_by_kind() if runner is not None else {},
        }

    async def _supervise(self) -> None:
        assert self._supervisor is not None
        try:
            await self._supervisor.run()
        except Exception:
            self._logger.exception("The worker's connection supervisor failed")

    def stop(self, grace_seconds: float | None = None) -> None:
        """Drain and disconnect, bounded by the grace and abandon timeouts plus 2 s.

        ``grace_seconds`` (default ``stop_timeout_seconds``) is how long running work may
        finish; activity processes are then reaped (bounded by ``ReapSteps.bound``).
        """
        if grace_seconds is not None:
            self._stop_timeout = grace_seconds
        budget = self._stop_timeout + self._abandon_timeout + _TEARDOWN_SECONDS
        if self._unregister_metrics is not None:
            self._unregister_metrics()
        try:
            self._loop_thread.submit(self._shutdown()).result(timeout=budget)
        except concurrent.futures.TimeoutError:
            self._logger.error("Worker shutdown did not finish within %.1fs", budget)
        finally:
            if self._process_pool is not None:
                self._process_pool.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._loop_thread.stop(_TEARDOWN_SECONDS)
            self._logger.info("Worker %s stopped", self._worker_id,
                              extra={"worker_id": self._worker_id})

    def hurry(self) -> None:
        """Cut a running :meth:`stop`'s grace period short: abandon running work now."""
        self._hurried = True
        runner = self._processor
        if runner is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop_thread.loop.call_soon_threadsafe(runner.hurry)

    async def _shutdown(self) -> None:
        if self._processor is not None:
            if self._hurried:
                self._processor.hurry()
            self._processor.stop_accepting()  # items still arriving are handed back
        if self._supervisor is not None:
            await self._drain()
            self._supervisor.stop()
        if self._processor is not None:
            orphans = await self._processor.shutdown(self._stop_timeout)
            if orphans and self._manager is not None:
                observe.emit("stop_timeout_abandon", self._manager.target, "worker",
                             self._manager.current.generation, orphans=orphans)
                self._logger.warning(
                    "Abandoned work items still running at stop(): %s", ", ".join(orphans)
                )
        if self._run_future is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wrap_future(self._run_future)
        if self._manager is not None:
            await self._manager.close()

    async def _drain(self) -> None:
        """Tell the sidecar the worker stops, and read its stream to the end (bounded).

        The leases must stay valid for the whole stop, completions and abandons included.
        """
        assert self._supervisor is not None
        grace = self._stop_timeout + self._abandon_timeout + _TEARDOWN_SECONDS
        if not await self._supervisor.drain(grace) or self._run_future is None:
            return
        # The sidecar ends the stream after what it already sent; those items are handed
        # back by the runner rather than lost in a cancelled stream.
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._run_future)),
                                   DRAIN_NOTICE_TIMEOUT_SECONDS)
