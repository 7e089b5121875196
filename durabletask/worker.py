"""The worker: runs registered orchestrators, activities and entities for a sidecar's work.

This module is wiring only: execution lives in ``durabletask.internal.engine`` (replay),
``durabletask.internal.runtime`` (concurrency, completions) and
``durabletask.internal.transport`` (connection and stream supervision).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import grpc.aio

from durabletask.exception_properties import ExceptionPropertiesProvider
from durabletask.health import StreamState, WorkerHealth
from durabletask.grpc_options import GrpcChannelOptions, GrpcWorkerResiliencyOptions
from durabletask.internal.clock import SYSTEM_CLOCK, Clock
from durabletask.internal.engine import (
    DATETIME_STRING_FORMAT,
    DEFAULT_MAXIMUM_TIMER_INTERVAL,
    ActivityNotRegisteredError,
    EntityExecutor,
    EntityNotRegisteredError,
    ExecutionResults,
    OrchestrationExecutor,
    OrchestratorNotRegisteredError,
    Registry,
    VersionFailureStrategy,
    VersioningOptions,
    VersionMatchStrategy,
)
from durabletask.internal import observability
from durabletask.internal.engine.cache import OrchestrationCache, OrchestrationCacheOptions
from durabletask.internal.engine.single_operation import SingleOperationExecutor
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.runtime.filters import (
    ActivityWorkItemFilter,
    EntityWorkItemFilter,
    OrchestrationWorkItemFilter,
    WorkItemFilters,
)
from durabletask.internal.runtime.activity_loop import LoopActivityExecutor
from durabletask.internal.runtime.episodes import EpisodeProcessor
from durabletask.internal.runtime.isolation import (
    FunctionRef,
    IsolatedActivities,
    ProcessIsolationOptions,
    ProcessPool,
    ReapSteps,
    check_isolation,
    function_ref,
)
from durabletask.internal.runtime.shutdown import (
    ShutdownOptions,
    ShutdownSignals,
    install_shutdown_signals,
)
from durabletask.internal.runtime.payloads import with_store
from durabletask.internal.runtime.worker_host import WorkerHost, WorkerHostConfig
from durabletask.payload.store import PayloadStore
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["ConcurrencyOptions", "TaskHubGrpcWorker"]

# Additions to the official API, importable from here (``__all__`` stays official's).
_ADDITIONS = (ProcessIsolationOptions, ShutdownOptions, ShutdownSignals, install_shutdown_signals)

# Re-exported for code written against the official module layout.
_REEXPORTED = (
    ActivityNotRegisteredError,
    OrchestrationCacheOptions,
    ActivityWorkItemFilter,
    DATETIME_STRING_FORMAT,
    DEFAULT_MAXIMUM_TIMER_INTERVAL,
    EntityNotRegisteredError,
    EntityWorkItemFilter,
    ExecutionResults,
    OrchestrationWorkItemFilter,
    OrchestratorNotRegisteredError,
    VersionFailureStrategy,
    VersioningOptions,
    VersionMatchStrategy,
    WorkItemFilters,
)

# The official module's private names that the official repository's tests use.
_Registry = Registry
_EntityExecutor = SingleOperationExecutor

_AUTO_FILTERS: Any = object()


@dataclass
class ConcurrencyOptions:
    """Limits on how much work a worker runs at once.

    Attributes:
        maximum_concurrent_activity_work_items: Activities running at once
            (default ``100 * os.cpu_count()``).
        maximum_concurrent_orchestration_work_items: Orchestration episodes at once
            (default ``100 * os.cpu_count()``).
        maximum_concurrent_entity_work_items: Entity batches at once
            (default ``100 * os.cpu_count()``).
        maximum_thread_pool_workers: Threads running synchronous activities
            (default ``os.cpu_count() + 4``).
    """

    maximum_concurrent_activity_work_items: int | None = None
    maximum_concurrent_orchestration_work_items: int | None = None
    maximum_concurrent_entity_work_items: int | None = None
    maximum_thread_pool_workers: int | None = None

    def __post_init__(self) -> None:
        cpus = os.cpu_count() or 1
        for name in (
            "maximum_concurrent_activity_work_items",
            "maximum_concurrent_orchestration_work_items",
            "maximum_concurrent_entity_work_items",
        ):
            value = getattr(self, name)
            if value is None:
                setattr(self, name, 100 * cpus)
            elif value < 1:
                raise ValueError(f"ConcurrencyOptions.{name} must be >= 1, got {value}")
        if self.maximum_thread_pool_workers is None:
            self.maximum_thread_pool_workers = cpus + 4
        elif self.maximum_thread_pool_workers < 1:
            raise ValueError("ConcurrencyOptions.maximum_thread_pool_workers must be >= 1")


class TaskHubGrpcWorker:
    """Runs orchestrators, activities and entities for the work items a sidecar streams.

    Register them with :meth:`add_orchestrator`, :meth:`add_activity` and
    :meth:`add_entity`, then call
    :meth:`start` (non-blocking) and, at the end, :meth:`stop` (or use ``with``).
    """

    def __init__(
        self,
        *,
        host_address: str | None = None,
        metadata: list[tuple[str, str]] | None = None,
        log_handler: logging.Handler | None = None,
        log_formatter: logging.Formatter | None = None,
        logger: logging.Logger | None = None,
        channel: grpc.Channel | None = None,
        secure_channel: bool = False,
        interceptors: Sequence[Any] | None = None,
        channel_options: GrpcChannelOptions | None = None,
        resiliency_options: GrpcWorkerResiliencyOptions | None = None,
        concurrency_options: ConcurrencyOptions | None = None,
        maximum_timer_interval: timedelta | None = DEFAULT_MAXIMUM_TIMER_INTERVAL,
        payload_store: PayloadStore | None = None,
        data_converter: DataConverter | None = None,
        exception_properties_provider: ExceptionPropertiesProvider | None = None,
        emit_trace_spans: bool = True,
        orchestration_cache: OrchestrationCacheOptions | None = None,
        clock: Clock | None = None,
        activity_isolation: str = "thread",
        process_isolation: ProcessIsolationOptions | None = None,
        shutdown_options: ShutdownOptions | None = None,
    ) -> None:
        """Configure a worker; nothing connects until :meth:`start`.

        The parameters are those of the official SDK, plus ``orchestration_cache``: how
        many running orchestrations stay live between episodes so that each episode
        processes only new events (``OrchestrationCacheOptions(always_replay=True)``
        replays the full history every time), and ``clock``: what the worker's waits
        (reconnect backoff, completion retries, silence window, cache idle timeout) run on,
        the real clock by default (tests pass a ``durabletask.testing.VirtualClock``).
        ``activity_isolation`` (``"thread"`` or ``"process"``) is where activities run
        unless :meth:`add_activity` says otherwise, ``process_isolation`` configures the
        pool of activity processes (docs/activities.md) and ``shutdown_options`` what
        :meth:`stop` does with running work (docs/shutdown.md).
        """
        self._registry = Registry()
        self._logger = _make_logger(logger, log_handler, log_formatter)
        self._concurrency_options = concurrency_options or ConcurrencyOptions()
        self._maximum_timer_interval = maximum_timer_interval
        self._emit_trace_spans = emit_trace_spans
        self._data_converter = data_converter or DEFAULT_DATA_CONVERTER
        self._exception_properties_provider = exception_properties_provider
        self._payload_store = payload_store
        self._cache_options = orchestration_cache or OrchestrationCacheOptions()
        self._versioning: VersioningOptions | None = None
        self._capabilities: list[int] = []
        self._filters: WorkItemFilters | None = None
        self._auto_filters = False
        self._activity_isolation = check_isolation(activity_isolation)
        self._process_options = process_isolation or ProcessIsolationOptions()
        self._shutdown = shutdown_options or ShutdownOptions()
        self._isolated: dict[str, FunctionRef] = {}
        # The host of the last start(), kept after stop() so that stop(grace=0) from another
        # thread always reaches a stop in progress (hurrying a stopped host does nothing).
        self._latest_host: WorkerHost | None = None
        self._host_config = WorkerHostConfig(
            host_address=host_address,
            metadata=tuple(metadata or ()),
            channel=channel,
            secure_channel=secure_channel,
            interceptors=tuple(interceptors or ()),
            channel_options=channel_options or GrpcChannelOptions(),
            resiliency_options=resiliency_options or GrpcWorkerResiliencyOptions(),
            clock=clock or SYSTEM_CLOCK,
        )
        self._lifecycle_lock = threading.Lock()
        self._host: WorkerHost | None = None
        self._is_running = False

    @property
    def concurrency_options(self) -> ConcurrencyOptions:
        """The concurrency limits in force."""
        return self._concurrency_options

    @property
    def maximum_timer_interval(self) -> timedelta | None:
        """Timers longer than this are split into several durable timers (None: never)."""
        return self._maximum_timer_interval

    @property
    def emit_trace_spans(self) -> bool:
        """Whether trace spans are emitted (trace context is always propagated)."""
        return self._emit_trace_spans

    @property
    def is_running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._is_running

    def _check_not_running(self, what: str) -> None:
        if self._is_running:
            raise RuntimeError(f"cannot {what} while the worker is running; call stop() first")

    def add_orchestrator(self, fn: Any) -> str:
        """Register an orchestrator (generator or ``async def``); returns its ``__name__``.

        Raises:
            ValueError: A function of that name is already registered, or ``fn`` is a lambda.
            TypeError: ``fn`` cannot run as an orchestrator (e.g. an async generator).
            RuntimeError: The worker is running.
        """
        self._check_not_running("add an orchestrator")
        return self._registry.add_orchestrator(fn)

    def add_activity(self, fn: Any, name: str | None = None, *,
                     isolation: str | None = None) -> str:
        """Register an activity function (sync or ``async def``); returns its name.

        ``name`` (default ``fn.__name__``) and ``isolation`` are additions to the official
        API: ``isolation="process"`` runs the activity in a child process (see
        docs/activities.md), ``"thread"`` in the worker; default: the worker's
        ``activity_isolation``.

        Raises:
            ValueError: A function of that name is already registered, ``fn`` is a lambda,
                or ``isolation`` is unknown.
            TypeError: ``isolation="process"`` and a child process cannot import ``fn``
                (a lambda, nested function or callable object).
            RuntimeError: The worker is running.
        """
        self._check_not_running("add an activity")
        mode = check_isolation(isolation or self._activity_isolation)
        ref = function_ref(fn) if mode == "process" else None
        registered = self._registry.add_activity(fn, name)
        if ref is not None:
            self._isolated[registered] = ref
        return registered

    def add_entity(self, fn: Any, name: str | None = None) -> str:
        """Register an entity: a function ``(ctx, input)`` or a ``DurableEntity`` subclass.

        Args:
            fn: The entity.
            name: The entity name (default: ``__durable_entity_name__``, the class name or
                the function name); entity names are case-insensitive (stored lower-cased).

        Returns:
            The name as given or inferred (not lower-cased), as the official SDK returns it.

        Raises:
            ValueError: The name is taken, empty or contains ``@``.
            RuntimeError: The worker is running.
        """
        self._check_not_running("add an entity")
        return self._registry.add_entity(fn, name)

    def add_capability(self, capability: int) -> None:
        """Advertise a ``pb.WORKER_CAPABILITY_*`` value to the sidecar.

        Raises:
            RuntimeError: The worker is running.
        """
        self._check_not_running("add a capability")
        if capability not in self._capabilities:
            self._capabilities.append(capability)

    def configure_scheduled_tasks(self) -> None:
        """Run scheduled tasks on this worker (see docs/scheduled.md).

        Registers the schedule entity and its operation orchestrator and advertises the
        ``SCHEDULED_TASKS`` capability; manage schedules with
        :class:`durabletask.scheduled.ScheduledTaskClient`.

        Raises:
            RuntimeError: The worker is running.
            ValueError: It was already called on this worker.
        """
        self._check_not_running("configure scheduled tasks")
        # Imported here so that a worker without schedules never loads the feature.
        from durabletask.scheduled.orchestrator import execute_schedule_operation_orchestrator
        from durabletask.scheduled.schedule_entity import ENTITY_NAME, Schedule

        self.add_entity(Schedule, ENTITY_NAME)
        self.add_orchestrator(execute_schedule_operation_orchestrator)
        self.add_capability(pb.WORKER_CAPABILITY_SCHEDULED_TASKS)

    def use_versioning(self, version: VersioningOptions) -> None:
        """Apply ``version`` to every orchestration this worker runs."""
        self._check_not_running("change versioning")
        self._versioning = version

    def use_work_item_filters(self, filters: WorkItemFilters | None = _AUTO_FILTERS) -> None:
        """Ask the sidecar only for matching work.

        With no argument the filters are generated from the registry at :meth:`start`;
        ``None`` clears them; a ``WorkItemFilters`` value is sent as it is.
        """
        self._check_not_running("change work item filters")
        self._auto_filters = filters is _AUTO_FILTERS
        self._filters = None if self._auto_filters else filters

    def _effective_filters(self) -> WorkItemFilters | None:
        if not self._auto_filters:
            return self._filters
        registry = self._registry
        return WorkItemFilters(
            orchestrations=[OrchestrationWorkItemFilter(n) for n in registry.orchestrator_names],
            activities=[ActivityWorkItemFilter(n) for n in registry.activity_names],
            entities=[EntityWorkItemFilter(n) for n in registry.entity_names],
        )

    def _work_items_request(self) -> pb.GetWorkItemsRequest:
        options = self._concurrency_options
        request = pb.GetWorkItemsRequest(
            maxConcurrentOrchestrationWorkItems=options.maximum_concurrent_orchestration_work_items,
            maxConcurrentActivityWorkItems=options.maximum_concurrent_activity_work_items,
            maxConcurrentEntityWorkItems=options.maximum_concurrent_entity_work_items,
        )
        capabilities = list(self._capabilities)
        if self._cache_options.enabled:
            capabilities.append(pb.WORKER_CAPABILITY_HISTORY_STREAMING)
        if self._payload_store is not None:
            capabilities.append(pb.WORKER_CAPABILITY_LARGE_PAYLOADS)
        request.capabilities.extend(sorted(set(capabilities)))
        filters = self._effective_filters()
        if filters is not None:
            request.workItemFilters.CopyFrom(filters.to_proto())
        return request

    def start(self) -> None:
        """Connect to the sidecar and start processing work in the background.

        Returns at once; connection failures are retried with backoff in the background.
        Calling it while running does nothing.
        """
        with self._lifecycle_lock:
            if self._host is not None:
                return
            orchestrations = OrchestrationExecutor(
                self._registry,
                data_converter=self._data_converter,
                maximum_timer_interval=self._maximum_timer_interval,
                versioning=self._versioning,
                exception_properties_provider=self._exception_properties_provider,
                logger=self._logger,
                record_traces=observability.AVAILABLE,
            )
            activities = LoopActivityExecutor(
                self._registry,
                data_converter=self._data_converter,
                exception_properties_provider=self._exception_properties_provider,
                logger=self._logger,
            )
            entities = EntityExecutor(
                self._registry,
                data_converter=self._data_converter,
                exception_properties_provider=self._exception_properties_provider,
                logger=self._logger,
            )
            cache = OrchestrationCache(
                orchestrations, self._cache_options, self._host_config.clock.monotonic)
            pool = self._new_process_pool()
            payloads, activity_runner, entity_runner = with_store(
                self._payload_store,
                activities if pool is None else IsolatedActivities(
                    activities, pool, self._isolated),
                entities)
            metrics = observability.worker_metrics()
            host = WorkerHost(
                self._host_config,
                episode_processor=EpisodeProcessor(
                    cache, self._host_config.metadata, payloads=payloads, metrics=metrics),
                activity_executor=activity_runner,
                entity_executor=entity_runner,
                concurrency=self._concurrency_options,
                request=self._work_items_request(),
                logger=self._logger,
                tracing=observability.tracing(self._emit_trace_spans),
                metrics=metrics,
                process_pool=pool,
            )
            host.start()
            self._host = self._latest_host = host
            self._is_running = True

    def _new_process_pool(self) -> ProcessPool | None:
        if not self._isolated:
            return None
        shutdown = self._shutdown
        return ProcessPool(
            self._process_options,
            data_converter=self._data_converter,
            exception_properties_provider=self._exception_properties_provider,
            reap_steps=ReapSteps(shutdown.process_terminate_seconds,
                                 shutdown.process_terminate_seconds,
                                 shutdown.process_kill_seconds),
        )

    def stop(self, grace: float | None = None) -> None:
        """Stop processing: abandon queued work, let running work finish, disconnect.

        Running work has ``grace`` seconds (default ``ShutdownOptions.grace_seconds``, else
        ``stop_timeout_seconds``) to finish; what still runs then is abandoned, so the
        sidecar redelivers it, and activity processes are reaped. Bounded: it returns within
        grace + ``abandon_timeout_seconds`` + 2 s + the process reap bound (docs/shutdown.md).
        Safe to call several times, from any thread, and before :meth:`start`;
        ``stop(grace=0)`` while another stop waits cuts that wait short.
        """
        latest = self._latest_host
        if grace == 0 and latest is not None:
            latest.hurry()  # a stop that is waiting for running work stops waiting
        if grace is None:
            grace = self._shutdown.grace_seconds
        with self._lifecycle_lock:
            host, self._host = self._host, None
            self._is_running = False
            if host is not None:
                host.stop(grace)

    def resiliency_stats(self) -> dict[str, Any]:
        """Connection counters of a running worker (empty when stopped).

        An addition to the official API, for monitoring (see docs/resiliency.md).
        """
        host = self._host
        return host.resiliency_stats() if host is not None else {}

    def health(self) -> WorkerHealth:
        """A snapshot of the worker's connection and load (docs/observability.md).

        An addition to the official API: the stream's state (``connected`` while its
        stream is open, idle or busy; ``connecting``; ``backoff``; ``stopped``), the time
        since the sidecar last sent anything, reconnects, work in flight by kind and the
        orchestration cache's size.
        """
        host = self._host
        return host.health() if host is not None else WorkerHealth(StreamState.STOPPED)

    def is_ready(self) -> bool:
        """True when the worker's stream to the sidecar is connected (``health().ready``)."""
        return self.health().ready

    def __enter__(self) -> TaskHubGrpcWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _make_logger(
    logger: logging.Logger | None,
    log_handler: logging.Handler | None,
    log_formatter: logging.Formatter | None,
) -> logging.Logger:
    if logger is not None:
        if log_handler is not None or log_formatter is not None:  # as in 1.12.0
            raise ValueError("'logger' cannot be combined with 'log_handler' or 'log_formatter'.")
        return logger
    result = logging.getLogger("durabletask.worker")
    # The legacy parameters are honoured only when given: the library never configures
    # logging on its own.
    if log_handler is not None:
        if log_formatter is not None:
            log_handler.setFormatter(log_formatter)
        if log_handler not in result.handlers:
            result.addHandler(log_handler)
    return result
