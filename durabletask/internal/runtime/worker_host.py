"""Hosts a running worker: event-loop thread, channel, stream supervisor and runner."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.runtime.loop_thread import LoopThread
from durabletask.internal.runtime.work_items import RunnerSettings, WorkItemRunner
from durabletask.internal.transport import channel as channel_factory
from durabletask.internal.transport.stream import StreamSupervisor
from durabletask.internal.transport.sync_adapter import SyncChannelStub

# gRPC's own default receive limit, which is also what a sidecar accepts unless configured.
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Bound on loop-thread teardown after the drain, so stop() never hangs.
_TEARDOWN_SECONDS = 2.0


@dataclass(frozen=True)
class WorkerHostConfig:
    """Connection inputs of a worker, fixed at construction."""

    host_address: str | None
    metadata: Sequence[tuple[str, str]]
    channel: Any
    secure_channel: bool
    interceptors: Sequence[Any]
    channel_options: Any
    resiliency_options: Any


def _option(options: Any, name: str, default: float) -> float:
    value = getattr(options, name, None)
    return default if value is None else value


class WorkerHost:
    """One started worker. ``start`` and ``stop`` are called once each by the worker."""

    def __init__(
        self,
        config: WorkerHostConfig,
        *,
        orchestration_executor: Any,
        activity_executor: Any,
        concurrency: Any,
        request: pb.GetWorkItemsRequest,
        logger: logging.Logger,
    ) -> None:
        self._config = config
        self._logger = logger
        self._request = request
        resiliency = config.resiliency_options
        self._stop_timeout = _option(resiliency, "stop_timeout_seconds", 20.0)
        self._abandon_timeout = _option(resiliency, "abandon_timeout_seconds", 5.0)
        self._max_message_bytes = (
            getattr(config.channel_options, "max_send_message_length", None)
            or DEFAULT_MAX_MESSAGE_BYTES
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency.maximum_thread_pool_workers,
            thread_name_prefix="durabletask-activity",
        )
        self._runner_settings = RunnerSettings(
            max_concurrent_orchestrations=concurrency.maximum_concurrent_orchestration_work_items,
            max_concurrent_activities=concurrency.maximum_concurrent_activity_work_items,
            max_message_bytes=self._max_message_bytes,
            abandon_timeout_seconds=self._abandon_timeout,
        )
        self._orchestrations = orchestration_executor
        self._activities = activity_executor
        self._loop_thread = LoopThread("durabletask-worker")
        self._channel: Any = None
        self._owns_channel = config.channel is None
        self._runner: WorkItemRunner | None = None
        self._supervisor: StreamSupervisor | None = None
        self._run_future: concurrent.futures.Future[None] | None = None

    def start(self) -> None:
        """Start the loop thread and begin connecting in the background."""
        self._loop_thread.start()
        self._loop_thread.submit(self._setup()).result()
        self._run_future = self._loop_thread.submit(self._supervise())

    async def _setup(self) -> None:
        config = self._config
        if config.channel is not None:
            self._channel = config.channel
        else:
            self._channel = channel_factory.create_aio_channel(
                config.host_address,
                secure_channel=config.secure_channel,
                channel_options=config.channel_options,
                interceptors=config.interceptors,
            )
        self._runner = WorkItemRunner(
            orchestration_executor=self._orchestrations,
            activity_executor=self._activities,
            thread_pool=self._pool,
            settings=self._runner_settings,
            metadata=config.metadata,
        )
        resiliency = config.resiliency_options
        stub: Any
        if isinstance(self._channel, grpc.aio.Channel):
            stub = pb_grpc.TaskHubSidecarServiceStub(self._channel)
        else:
            stub = SyncChannelStub(self._channel)
        self._supervisor = StreamSupervisor(
            lambda: stub,
            self._request,
            metadata=config.metadata,
            hello_timeout_seconds=_option(resiliency, "hello_timeout_seconds", 30.0),
            silent_disconnect_timeout_seconds=_option(
                resiliency, "silent_disconnect_timeout_seconds", 120.0
            ),
            backoff_base_seconds=_option(resiliency, "reconnect_backoff_base_seconds", 1.0),
            backoff_cap_seconds=_option(resiliency, "reconnect_backoff_cap_seconds", 30.0),
            sink=self._runner.submit,
        )

    async def _supervise(self) -> None:
        assert self._supervisor is not None
        try:
            await self._supervisor.run()
        except Exception:
            self._logger.exception("The worker's connection supervisor failed")

    def stop(self) -> None:
        """Drain and disconnect, bounded by the stop and abandon timeouts plus 2 s."""
        budget = self._stop_timeout + self._abandon_timeout + _TEARDOWN_SECONDS
        try:
            self._loop_thread.submit(self._shutdown()).result(timeout=budget)
        except concurrent.futures.TimeoutError:
            self._logger.error("Worker shutdown did not finish within %.1fs", budget)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._loop_thread.stop(_TEARDOWN_SECONDS)

    async def _shutdown(self) -> None:
        if self._supervisor is not None:
            self._supervisor.stop()
        if self._runner is not None:
            orphans = await self._runner.shutdown(self._stop_timeout)
            if orphans:
                self._logger.warning(
                    "Abandoned work items still running at stop(): %s", ", ".join(orphans)
                )
        if self._run_future is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wrap_future(self._run_future)
        if self._owns_channel and self._channel is not None:
            await self._channel.close()
