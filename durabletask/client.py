"""Clients that schedule, query and control orchestrations (sync and asyncio twins).

Both clients only wire arguments to the shared sans-I/O flows of
``durabletask.internal.requests`` (which build requests and map responses) and hand them to
a transport shell (``internal/requests/shells.py``) that sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import grpc
import grpc.aio

from durabletask.grpc_options import GrpcChannelOptions, GrpcClientResiliencyOptions
from durabletask.history import HistoryEvent
from durabletask.internal import observability
from durabletask.internal.clock import Clock
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests import ClientSettings, entity_flows, flows
from durabletask.internal.requests.models import (
    CleanEntityStorageResult,
    EntityQuery,
    OrchestrationFailedError,
    OrchestrationQuery,
    OrchestrationState,
    OrchestrationStatus,
    Page,
    PurgeInstancesResult,
    new_orchestration_state,
    new_purge_instances_result,
    parse_orchestration_state,
)
from durabletask.internal.requests.arguments import ClientArguments
from durabletask.internal.requests.config import ClientConfig, configure_client
from durabletask.internal.requests.shells import AsyncCallShell, SyncCallShell
from durabletask.payload import PayloadStore
from durabletask.serialization import DataConverter

if TYPE_CHECKING:
    from durabletask.entities import EntityInstanceId, EntityMetadata
    from durabletask.task import Orchestrator

__all__ = [
    "AsyncTaskHubGrpcClient",
    "CleanEntityStorageResult",
    "EntityQuery",
    "OrchestrationFailedError",
    "OrchestrationQuery",
    "OrchestrationState",
    "OrchestrationStatus",
    "Page",
    "PurgeInstancesResult",
    "TaskHubGrpcClient",
    "new_orchestration_state",
    "new_purge_instances_result",
    "parse_orchestration_state",
]


class _ClientBase:
    """Construction shared by both clients: configuration, ownership and trace settings."""

    def __init__(self, args: ClientArguments) -> None:
        self._config: ClientConfig = configure_client(args)
        self._config = observability.traced_client_config(self._config, args.emit_trace_spans)
        self._logger = self._config.logger
        self._emit_trace_spans = args.emit_trace_spans
        self.default_version = args.default_version

    @property
    def emit_trace_spans(self) -> bool:
        """Whether the client emits trace spans (context is propagated either way)."""
        return self._emit_trace_spans

    def _settings(self) -> ClientSettings:
        return self._config.settings_for(self.default_version)


class TaskHubGrpcClient(_ClientBase):
    """A synchronous client of a Durable Task sidecar.

    Safe to share between threads. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        host_address: str | None = None,
        metadata: list[tuple[str, str]] | None = None,
        log_handler: Any = None,
        log_formatter: Any = None,
        logger: logging.Logger | None = None,
        channel: grpc.Channel | grpc.aio.Channel | None = None,
        secure_channel: bool = False,
        interceptors: Sequence[Any] | None = None,
        channel_options: GrpcChannelOptions | None = None,
        resiliency_options: GrpcClientResiliencyOptions | None = None,
        default_version: str | None = None,
        payload_store: PayloadStore | None = None,
        data_converter: DataConverter | None = None,
        emit_trace_spans: bool = True,
        clock: Clock | None = None,
    ) -> None:
        """Create a client; the channel is opened now (gRPC connects lazily).

        Args:
            host_address: ``host:port``; ``https://``/``grpcs://`` force TLS,
                ``http://``/``grpc://`` force plaintext. None = ``localhost:4001``.
            metadata: gRPC metadata sent with every call.
            log_handler: Deprecated and ignored; configure logging yourself.
            log_formatter: Deprecated and ignored.
            logger: The logger to use; ``durabletask.client`` by default.
            channel: A channel to use instead of creating one; never closed by the client.
            secure_channel: Use TLS when ``host_address`` has no scheme prefix.
            interceptors: Sync gRPC client interceptors, first = outermost.
            channel_options: Options of the channel the client creates.
            resiliency_options: Client resiliency options (default call deadline, ...).
            default_version: Version given to new orchestrations that name none.
            payload_store: Store for payloads above its threshold (docs/payloads.md).
            data_converter: Serialises inputs, outputs and event data; JSON by default.
            emit_trace_spans: Whether to emit trace spans.
            clock: What the retry waits run on; the real clock by default (an addition
                to the official API, for tests: ``durabletask.testing.VirtualClock``).
        """
        super().__init__(ClientArguments.of(locals()))
        # One signature serves both clients; this one is given sync channels.
        sync_channel = cast("grpc.Channel | None", channel)
        self._io = SyncCallShell(self._config, type(self).__name__, sync_channel)

    def __enter__(self) -> TaskHubGrpcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel if the client created it. Idempotent; later calls fail."""
        self._io.close()

    def resiliency_stats(self) -> dict[str, Any]:
        """Counters of the resiliency layer: failures, recreations, channel generation.

        An addition to the official API, for monitoring (see docs/resiliency.md).
        """
        return self._io.resiliency_stats()

    def schedule_new_orchestration(
        self,
        orchestrator: Orchestrator | str,
        *,
        input: Any = None,
        instance_id: str | None = None,
        start_at: datetime | None = None,
        reuse_id_policy: pb.OrchestrationIdReusePolicy | None = None,
        tags: dict[str, str] | None = None,
        version: str | None = None,
    ) -> str:
        """Start a new orchestration instance.

        Args:
            orchestrator: The orchestrator function or its registered name.
            input: The input, serialised with the data converter.
            instance_id: The instance id; ``uuid4().hex`` by default.
            start_at: When to start (naive = UTC); now by default.
            reuse_id_policy: Which statuses of an existing instance may be replaced.
            tags: Tags stored with the instance.
            version: The orchestration version; the client's ``default_version`` if None.

        Returns:
            The instance id.

        Raises:
            ValueError: Bad instance id or orchestrator.
            TypeError: ``input`` cannot be serialised.
            PayloadTooLargeError: The request exceeds the message limit.
            SidecarError: The sidecar failed the call (e.g. the id is in use).
        """
        return self._io.run(flows.schedule_new_orchestration(
            self._settings(), orchestrator, input=input, instance_id=instance_id,
            start_at=start_at, reuse_id_policy=reuse_id_policy, tags=tags, version=version,
        ))

    def get_orchestration_state(
        self, instance_id: str, *, fetch_payloads: bool = True
    ) -> OrchestrationState | None:
        """Return an instance's state, or None if it does not exist.

        Args:
            instance_id: The instance id.
            fetch_payloads: Also fetch input, output and custom status.
        """
        return self._io.run(flows.get_orchestration_state(
            self._settings(), instance_id, fetch_payloads=fetch_payloads
        ))

    def get_orchestration_history(
        self,
        instance_id: str,
        *,
        execution_id: str | None = None,
        for_work_item_processing: bool = False,
    ) -> list[HistoryEvent]:
        """Return an instance's history events, oldest first.

        Args:
            instance_id: The instance id.
            execution_id: A specific execution; the latest by default.
            for_work_item_processing: Ask for the history as a worker would see it.
        """
        return self._io.run(flows.get_orchestration_history(
            self._settings(), instance_id, execution_id=execution_id,
            for_work_item_processing=for_work_item_processing,
        ))

    def list_instance_ids(
        self,
        runtime_status: list[OrchestrationStatus] | None = None,
        completed_time_from: datetime | None = None,
        completed_time_to: datetime | None = None,
        page_size: int | None = None,
        continuation_token: str | None = None,
    ) -> Page[str]:
        """Return one page of instance ids matching the filters.

        Args:
            runtime_status: Only instances in these statuses.
            completed_time_from: Only instances completed at or after this time.
            completed_time_to: Only instances completed at or before this time.
            page_size: The most ids to return.
            continuation_token: The token of the previous page.
        """
        return self._io.run(flows.list_instance_ids(
            self._settings(), runtime_status, completed_time_from, completed_time_to,
            page_size, continuation_token,
        ))

    def get_all_orchestration_states(
        self, orchestration_query: OrchestrationQuery | None = None
    ) -> list[OrchestrationState]:
        """Return the states of all instances matching the query (all pages).

        Args:
            orchestration_query: The filters; all instances by default.
        """
        return self._io.run(flows.get_all_orchestration_states(
            self._settings(), orchestration_query
        ))

    def wait_for_orchestration_start(
        self, instance_id: str, *, fetch_payloads: bool = False, timeout: float = 60
    ) -> OrchestrationState | None:
        """Wait until an instance starts running; None if it does not exist.

        Args:
            instance_id: The instance id.
            fetch_payloads: Also fetch input, output and custom status.
            timeout: Seconds to wait.

        Raises:
            TimeoutError: The instance did not start within ``timeout``.
        """
        return self._io.run(flows.wait_for_orchestration(
            self._settings(), instance_id, completion=False, fetch_payloads=fetch_payloads,
            timeout=timeout,
        ))

    def wait_for_orchestration_completion(
        self, instance_id: str, *, fetch_payloads: bool = True, timeout: float = 60
    ) -> OrchestrationState | None:
        """Wait until an instance completes, fails or is terminated; None if it does not exist.

        Args:
            instance_id: The instance id.
            fetch_payloads: Also fetch input, output and custom status.
            timeout: Seconds to wait.

        Raises:
            TimeoutError: The instance did not finish within ``timeout``.
        """
        return self._io.run(flows.wait_for_orchestration(
            self._settings(), instance_id, completion=True, fetch_payloads=fetch_payloads,
            timeout=timeout,
        ))

    def raise_orchestration_event(
        self, instance_id: str, event_name: str, *, data: Any = None
    ) -> None:
        """Send an external event to an instance.

        Args:
            instance_id: The instance id.
            event_name: The event name (matched case-insensitively by the orchestrator).
            data: The event payload, serialised with the data converter.
        """
        self._io.run(flows.raise_orchestration_event(
            self._settings(), instance_id, event_name, data=data
        ))

    def terminate_orchestration(
        self, instance_id: str, *, output: Any = None, recursive: bool = True
    ) -> None:
        """Terminate an instance.

        Args:
            instance_id: The instance id.
            output: The output recorded for the terminated instance.
            recursive: Also terminate its sub-orchestrations.
        """
        self._io.run(flows.terminate_orchestration(
            self._settings(), instance_id, output=output, recursive=recursive
        ))

    def suspend_orchestration(self, instance_id: str, *, reason: str | None = None) -> None:
        """Suspend an instance; events are buffered until it is resumed.

        Args:
            instance_id: The instance id.
            reason: Why, recorded in the history.
        """
        self._io.run(flows.suspend_orchestration(self._settings(), instance_id, reason=reason))

    def resume_orchestration(self, instance_id: str, *, reason: str | None = None) -> None:
        """Resume a suspended instance.

        Args:
            instance_id: The instance id.
            reason: Why, recorded in the history.
        """
        self._io.run(flows.resume_orchestration(self._settings(), instance_id, reason=reason))

    def rewind_orchestration(self, instance_id: str, *, reason: str | None = None) -> None:
        """Rewind a failed instance so that its failed steps run again.

        Args:
            instance_id: The instance id.
            reason: Why, recorded in the history.
        """
        self._io.run(flows.rewind_orchestration(self._settings(), instance_id, reason=reason))

    def restart_orchestration(
        self, instance_id: str, *, restart_with_new_instance_id: bool = False
    ) -> str:
        """Restart an instance with its original input.

        Args:
            instance_id: The instance id.
            restart_with_new_instance_id: Start under a new id instead of reusing it.

        Returns:
            The id of the restarted instance.
        """
        return self._io.run(flows.restart_orchestration(
            self._settings(), instance_id,
            restart_with_new_instance_id=restart_with_new_instance_id,
        ))

    def purge_orchestration(self, instance_id: str, recursive: bool = True) -> PurgeInstancesResult:
        """Delete an instance's state and history.

        Args:
            instance_id: The instance id.
            recursive: Also purge its sub-orchestrations.
        """
        return self._io.run(flows.purge_orchestration(self._settings(), instance_id, recursive))

    def purge_orchestrations_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationStatus] | None = None,
        recursive: bool = False,
        timeout: timedelta | None = None,
    ) -> PurgeInstancesResult:
        """Delete every instance matching the filters.

        Args:
            created_time_from: Only instances created at or after this time.
            created_time_to: Only instances created at or before this time.
            runtime_status: Only instances in these statuses.
            recursive: Also purge their sub-orchestrations.
            timeout: How long the sidecar may work (must be > 0); it may stop early.

        Raises:
            ValueError: ``timeout`` is not positive.
        """
        return self._io.run(flows.purge_orchestrations_by(
            self._settings(), created_time_from, created_time_to, runtime_status, recursive,
            timeout,
        ))

    def signal_entity(
        self,
        entity_instance_id: EntityInstanceId,
        operation_name: str,
        input: Any = None,
        signal_time: datetime | None = None,
    ) -> None:
        """Send a one-way operation to an entity.

        Args:
            entity_instance_id: The entity.
            operation_name: The operation.
            input: The operation input.
            signal_time: When to deliver it; now by default.
        """
        self._io.run(entity_flows.signal_entity(
            self._settings(), entity_instance_id, operation_name, input, signal_time
        ))

    def get_entity(
        self, entity_instance_id: EntityInstanceId, include_state: bool = True
    ) -> EntityMetadata | None:
        """Return an entity's metadata (and state), or None if it does not exist.

        Args:
            entity_instance_id: The entity.
            include_state: Also fetch its state.
        """
        return self._io.run(entity_flows.get_entity(
            self._settings(), entity_instance_id, include_state
        ))

    def get_all_entities(self, entity_query: EntityQuery | None = None) -> list[EntityMetadata]:
        """Return all entities matching the query (all pages).

        Args:
            entity_query: The filters; all entities by default.
        """
        return self._io.run(entity_flows.get_all_entities(self._settings(), entity_query))

    def clean_entity_storage(
        self, remove_empty_entities: bool = True, release_orphaned_locks: bool = True
    ) -> CleanEntityStorageResult:
        """Remove empty entities and release locks held by finished orchestrations.

        Args:
            remove_empty_entities: Remove entities without state.
            release_orphaned_locks: Release locks whose holder no longer runs.
        """
        return self._io.run(entity_flows.clean_entity_storage(
            self._settings(), remove_empty_entities, release_orphaned_locks
        ))


class AsyncTaskHubGrpcClient(_ClientBase):
    """An asyncio client of a Durable Task sidecar; same methods as :class:`TaskHubGrpcClient`.

    Its ``grpc.aio`` channel is created on the first call, on the calling event loop, and
    the client stays bound to that loop. Use ``async with``, or ``await close()``.
    """

    def __init__(
        self,
        *,
        host_address: str | None = None,
        metadata: list[tuple[str, str]] | None = None,
        log_handler: Any = None,
        log_formatter: Any = None,
        logger: logging.Logger | None = None,
        channel: grpc.Channel | grpc.aio.Channel | None = None,
        secure_channel: bool = False,
        interceptors: Sequence[Any] | None = None,
        channel_options: GrpcChannelOptions | None = None,
        resiliency_options: GrpcClientResiliencyOptions | None = None,
        default_version: str | None = None,
        payload_store: PayloadStore | None = None,
        data_converter: DataConverter | None = None,
        emit_trace_spans: bool = True,
        clock: Clock | None = None,
    ) -> None:
        """Create a client; see :class:`TaskHubGrpcClient` for the arguments.

        ``interceptors`` are ``grpc.aio`` client interceptors. They cannot be added to a
        caller-provided ``grpc.aio`` channel (grpc.aio has no ``intercept_channel``): build
        that channel with its interceptors instead.
        """
        super().__init__(ClientArguments.of(locals()))
        if channel is not None and self._config.interceptors:
            self._logger.warning(
                "interceptors are ignored for a caller-provided grpc.aio channel; create "
                "the channel with grpc.aio.insecure_channel(..., interceptors=[...]) instead"
            )
        aio_channel = cast("grpc.aio.Channel | None", channel)  # the async client's kind
        self._io = AsyncCallShell(self._config, type(self).__name__, aio_channel)

    async def __aenter__(self) -> AsyncTaskHubGrpcClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # asyncio has no cancel scopes; closing a grpc.aio channel is quick and must happen.
        await self.close()  # noqa: ASYNC102

    async def close(self) -> None:
        """Close the channel if the client created it. Idempotent; later calls fail."""
        await self._io.close()

    def resiliency_stats(self) -> dict[str, Any]:
        """Counters of the resiliency layer (empty before the first call).

        An addition to the official API, for monitoring (see docs/resiliency.md).
        """
        return self._io.resiliency_stats()

    async def schedule_new_orchestration(
        self,
        orchestrator: Orchestrator | str,
        *,
        input: Any = None,
        instance_id: str | None = None,
        start_at: datetime | None = None,
        reuse_id_policy: pb.OrchestrationIdReusePolicy | None = None,
        tags: dict[str, str] | None = None,
        version: str | None = None,
    ) -> str:
        """Start a new orchestration instance; see the sync client."""
        return await self._io.run(flows.schedule_new_orchestration(
            self._settings(), orchestrator, input=input, instance_id=instance_id,
            start_at=start_at, reuse_id_policy=reuse_id_policy, tags=tags, version=version,
        ))

    async def get_orchestration_state(
        self, instance_id: str, *, fetch_payloads: bool = True
    ) -> OrchestrationState | None:
        """Return an instance's state, or None if it does not exist; see the sync client."""
        return await self._io.run(flows.get_orchestration_state(
            self._settings(), instance_id, fetch_payloads=fetch_payloads
        ))

    async def get_orchestration_history(
        self,
        instance_id: str,
        *,
        execution_id: str | None = None,
        for_work_item_processing: bool = False,
    ) -> list[HistoryEvent]:
        """Return an instance's history events, oldest first; see the sync client."""
        return await self._io.run(flows.get_orchestration_history(
            self._settings(), instance_id, execution_id=execution_id,
            for_work_item_processing=for_work_item_processing,
        ))

    async def list_instance_ids(
        self,
        runtime_status: list[OrchestrationStatus] | None = None,
        completed_time_from: datetime | None = None,
        completed_time_to: datetime | None = None,
        page_size: int | None = None,
        continuation_token: str | None = None,
    ) -> Page[str]:
        """Return one page of instance ids matching the filters; see the sync client."""
        return await self._io.run(flows.list_instance_ids(
            self._settings(), runtime_status, completed_time_from, completed_time_to,
            page_size, continuation_token,
        ))

    async def get_all_orchestration_states(
        self, orchestration_query: OrchestrationQuery | None = None
    ) -> list[OrchestrationState]:
        """Return the states of all instances matching the query; see the sync client."""
        return await self._io.run(flows.get_all_orchestration_states(
            self._settings(), orchestration_query
        ))

    async def wait_for_orchestration_start(
        self,
        instance_id: str,
        *,
        fetch_payloads: bool = False,
        timeout: float = 60,  # noqa: ASYNC109 - the official API; the long poll's deadline
    ) -> OrchestrationState | None:
        """Wait until an instance starts; ``TimeoutError`` after ``timeout`` seconds."""
        return await self._io.run(flows.wait_for_orchestration(
            self._settings(), instance_id, completion=False, fetch_payloads=fetch_payloads,
            timeout=timeout,
        ))

    async def wait_for_orchestration_completion(
        self,
        instance_id: str,
        *,
        fetch_payloads: bool = True,
        timeout: float = 60,  # noqa: ASYNC109 - the official API; the long poll's deadline
    ) -> OrchestrationState | None:
        """Wait until an instance finishes; ``TimeoutError`` after ``timeout`` seconds."""
        return await self._io.run(flows.wait_for_orchestration(
            self._settings(), instance_id, completion=True, fetch_payloads=fetch_payloads,
            timeout=timeout,
        ))

    async def raise_orchestration_event(
        self, instance_id: str, event_name: str, *, data: Any = None
    ) -> None:
        """Send an external event to an instance; see the sync client."""
        await self._io.run(flows.raise_orchestration_event(
            self._settings(), instance_id, event_name, data=data
        ))

    async def terminate_orchestration(
        self, instance_id: str, *, output: Any = None, recursive: bool = True
    ) -> None:
        """Terminate an instance; see the sync client."""
        await self._io.run(flows.terminate_orchestration(
            self._settings(), instance_id, output=output, recursive=recursive
        ))

    async def suspend_orchestration(self, instance_id: str, *, reason: str | None = None) -> None:
        """Suspend an instance; see the sync client."""
        await self._io.run(
            flows.suspend_orchestration(self._settings(), instance_id, reason=reason)
        )

    async def resume_orchestration(self, instance_id: str, *, reason: str | None = None) -> None:
        """Resume a suspended instance; see the sync client."""
        await self._io.run(
            flows.resume_orchestration(self._settings(), instance_id, reason=reason)
        )

    async def rewind_orchestration(self, instance_id: str, *, reason: str | None = None) -> None:
        """Rewind a failed instance; see the sync client."""
        await self._io.run(
            flows.rewind_orchestration(self._settings(), instance_id, reason=reason)
        )

    async def restart_orchestration(
        self, instance_id: str, *, restart_with_new_instance_id: bool = False
    ) -> str:
        """Restart an instance with its original input; returns the instance id."""
        return await self._io.run(flows.restart_orchestration(
            self._settings(), instance_id,
            restart_with_new_instance_id=restart_with_new_instance_id,
        ))

    async def purge_orchestration(
        self, instance_id: str, recursive: bool = True
    ) -> PurgeInstancesResult:
        """Delete an instance's state and history; see the sync client."""
        return await self._io.run(flows.purge_orchestration(
            self._settings(), instance_id, recursive
        ))

    async def purge_orchestrations_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationStatus] | None = None,
        recursive: bool = False,
        timeout: timedelta | None = None,  # noqa: ASYNC109 - the sidecar's purge budget
    ) -> PurgeInstancesResult:
        """Delete every instance matching the filters; see the sync client."""
        return await self._io.run(flows.purge_orchestrations_by(
            self._settings(), created_time_from, created_time_to, runtime_status, recursive,
            timeout,
        ))

    async def signal_entity(
        self,
        entity_instance_id: EntityInstanceId,
        operation_name: str,
        input: Any = None,
        signal_time: datetime | None = None,
    ) -> None:
        """Send a one-way operation to an entity; see the sync client."""
        await self._io.run(entity_flows.signal_entity(
            self._settings(), entity_instance_id, operation_name, input, signal_time
        ))

    async def get_entity(
        self, entity_instance_id: EntityInstanceId, include_state: bool = True
    ) -> EntityMetadata | None:
        """Return an entity's metadata, or None if it does not exist; see the sync client."""
        return await self._io.run(entity_flows.get_entity(
            self._settings(), entity_instance_id, include_state
        ))

    async def get_all_entities(
        self, entity_query: EntityQuery | None = None
    ) -> list[EntityMetadata]:
        """Return all entities matching the query; see the sync client."""
        return await self._io.run(entity_flows.get_all_entities(self._settings(), entity_query))

    async def clean_entity_storage(
        self, remove_empty_entities: bool = True, release_orphaned_locks: bool = True
    ) -> CleanEntityStorageResult:
        """Remove empty entities and release orphaned locks; see the sync client."""
        return await self._io.run(entity_flows.clean_entity_storage(
            self._settings(), remove_empty_entities, release_orphaned_locks
        ))
