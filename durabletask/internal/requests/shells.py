"""The clients' I/O shells: own the channel manager, send each call of a flow, nothing else.

Every RPC of a client goes through ``_send`` here, the one call path where payloads are
externalised, the size limit is checked, metadata and deadlines are added, safe calls are
retried within their deadline (``transport/retry.py``) and gRPC errors are translated. The
channel comes from a channel manager (``transport/manager.py``), whose resiliency
interceptor sees every call and replaces a broken SDK-owned channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio

from durabletask.payload import guarded
from durabletask.errors import ClientClosedError
from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.requests.calls import Call, Flow
from durabletask.internal.requests.config import ClientConfig
from durabletask.internal.transport import observe
from durabletask.internal.transport.inflight import LeaseClosedError, LeaseState
from durabletask.internal.transport.errors import (
    CallInfo,
    SidecarError,
    rpc_errors_translated,
    translate_rpc_error,
)
from durabletask.internal.transport.manager import (
    AsyncChannelManager,
    ChannelGeneration,
    ManagerPolicy,
    SyncChannelManager,
)
from durabletask.internal.transport.retry import RetryPlan
from durabletask.internal.transport.status import status_code
from durabletask.internal.transport.stubs import (
    AsyncSidecarStub,
    SyncSidecarStub,
    stream_rpc,
    unary_rpc,
)

__all__ = ["AsyncCallShell", "SyncCallShell"]

T = TypeVar("T")

# A call that raced with the close of a just-retired channel never left the process, so it
# is resent on the current channel; bounded in case recreations keep racing it.
_MAX_RESENDS = 3


def _policy(options: GrpcClientResiliencyOptions) -> ManagerPolicy:
    return ManagerPolicy(
        threshold=options.channel_recreate_failure_threshold,
        cooldown_seconds=options.min_recreate_interval_seconds,
        linger_seconds=options.retired_channel_linger_seconds,
        max_linger_seconds=options.retired_channel_max_linger_seconds,
        default_call_timeout=options.default_call_timeout_seconds,
    )


class _CallShellBase:
    def __init__(self, config: ClientConfig, owner: str, channel: Any) -> None:
        self._config = config
        self._owner = owner
        self._owns_channel = channel is None
        self.closed = False

    def _closed_error(self, method: str) -> ClientClosedError:
        return ClientClosedError(f"{self._owner} is closed: create a new client to call {method}")

    def _prepare(self, call: Call) -> tuple[dict[str, Any], CallInfo]:
        if self.closed:
            raise self._closed_error(call.method)
        settings = self._config.settings
        settings.check_size(call)
        kwargs = {"timeout": settings.deadline(call), "metadata": self._config.metadata}
        return kwargs, settings.call_info(call)

    def _retry_delay(self, plan: RetryPlan, exc: grpc.RpcError, generation: int) -> float | None:
        if isinstance(exc, SidecarError) or self.closed:
            return None
        code = status_code(exc)
        delay = plan.retry_delay(code)
        if delay is not None:
            observe.emit(
                "call_retry", self._config.settings.address, self._owner, generation,
                method=plan.method, code=code.name if code else None, attempt=plan.attempts,
                delay_s=round(delay, 3),
            )
        return delay

    def _fail(self, plan: RetryPlan, exc: grpc.RpcError, info: CallInfo) -> Exception:
        return translate_rpc_error(
            exc, info, attempts=plan.attempts, deadline_passed=plan.deadline_passed
        )

    def _may_resend(
        self, transport: ChannelGeneration, current: ChannelGeneration, resends: int
    ) -> bool:
        # The channel was closed under a call that had read the transport just before a
        # recreation: the request never left, so sending it again is always safe.
        retired = transport is not current or transport.lease.state is not LeaseState.ACTIVE
        return not self.closed and retired and resends < _MAX_RESENDS


class SyncCallShell(_CallShellBase):
    """Sends a sync client's calls through its channel manager."""

    def __init__(self, config: ClientConfig, owner: str, channel: grpc.Channel | None) -> None:
        """Open the SDK-owned channel, or wrap the caller's with the interceptors.

        Args:
            config: The client configuration.
            owner: The client class name, for error messages.
            channel: A caller-owned channel, or None to create one.
        """
        super().__init__(config, owner, channel)
        user = config.interceptors

        def open_channel(first: Sequence[Any]) -> grpc.Channel:
            if channel is None:
                assert config.spec is not None  # configure_client sets it when no channel
                return config.spec.open_sync([*first, *user])
            chain = [*first, *user]
            return grpc.intercept_channel(channel, *chain) if chain else channel

        self._manager = SyncChannelManager(
            target=config.settings.address, owner="client", policy=_policy(config.resiliency),
            stub_factory=pb_grpc.TaskHubSidecarServiceStub, open_channel=open_channel,
            owns_channel=channel is None,
        )

    @property
    def manager(self) -> SyncChannelManager:
        """Return the channel manager: current transport, recreation and stats."""
        return self._manager

    def resiliency_stats(self) -> dict[str, Any]:
        """Return the resiliency counters of the client's channel (see docs/resiliency.md)."""
        return self._manager.stats()

    def close(self) -> None:
        """Close the SDK-owned channels; idempotent, never closes a caller's channel."""
        if self.closed:
            return
        self.closed = True
        self._manager.close()

    def _invoke(self, call: Call, kwargs: dict[str, Any], plan: RetryPlan) -> tuple[Any, int]:
        resends = 0
        while True:
            transport = self._manager.current
            stub: SyncSidecarStub = transport.stub
            attempt_kwargs = {**kwargs, "timeout": plan.attempt_timeout()}
            try:
                if call.streaming:
                    stream = stream_rpc(stub, call.method)(call.request, **attempt_kwargs)
                    return list(stream), transport.generation
                response = unary_rpc(stub, call.method)(call.request, **attempt_kwargs)
                return response, transport.generation
            except (LeaseClosedError, ValueError):
                if self.closed:
                    raise self._closed_error(call.method) from None
                if not self._may_resend(transport, self._manager.current, resends):
                    raise
                resends += 1
                plan.resent()

    def _send(self, call: Call) -> Any:
        store = self._config.payload_store
        if store is not None and not self.closed:
            guarded.offload(call.request, store, call.instance_id)
        kwargs, info = self._prepare(call)
        clock = self._config.clock
        plan = RetryPlan(call.method, kwargs["timeout"], clock=clock.monotonic)
        generation = self._manager.current.generation
        while True:
            with rpc_errors_translated(info):
                try:
                    response, generation = self._invoke(call, kwargs, plan)
                    break
                except grpc.RpcError as exc:
                    delay = self._retry_delay(plan, exc, generation)
                    if delay is None:
                        raise self._fail(plan, exc, info) from exc
            clock.sleep_blocking(delay)
        if store is not None:
            for message in response if call.streaming else [response]:
                guarded.resolve(message, store)
        return response

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow to its result, sending each call it yields.

        Returns:
            What the flow returns.
        """
        call = next(flow)
        while True:
            response = self._send(call)
            try:
                call = flow.send(response)
            except StopIteration as done:
                result: T = done.value  # what the flow returned
                return result


class AsyncCallShell(_CallShellBase):
    """Sends an async client's calls; the SDK-owned channel is opened on the first call."""

    def __init__(
        self, config: ClientConfig, owner: str, channel: grpc.aio.Channel | None
    ) -> None:
        """Remember the caller's channel, if any; nothing is opened yet.

        Args:
            config: The client configuration.
            owner: The client class name, for error messages.
            channel: A caller-owned ``grpc.aio`` channel, or None to create one lazily.
        """
        super().__init__(config, owner, channel)
        self._channel = channel
        self._manager: AsyncChannelManager | None = None

    @property
    def manager(self) -> AsyncChannelManager | None:
        """The channel manager, or None before the first call."""
        return self._manager

    def resiliency_stats(self) -> dict[str, Any]:
        """Return the resiliency counters of the client's channel; empty before a call."""
        return self._manager.stats() if self._manager is not None else {}

    async def close(self) -> None:
        """Close the SDK-owned channels if any were opened; idempotent."""
        if self.closed:
            return
        self.closed = True
        manager, self._manager, self._channel = self._manager, None, None
        if manager is not None:
            await manager.close()

    def _get_manager(self) -> AsyncChannelManager:
        loop = asyncio.get_running_loop()
        manager = self._manager
        if manager is not None:
            if manager.loop is not loop:
                raise RuntimeError(
                    f"{self._owner} is bound to the event loop of its first call (a grpc.aio "
                    "channel cannot move between loops); create one client per event loop"
                )
            return manager
        config, channel = self._config, self._channel

        def open_channel(first: Sequence[Any]) -> grpc.aio.Channel:
            if channel is not None:
                return channel  # grpc.aio cannot intercept a channel after the fact
            assert config.spec is not None  # configure_client sets it when no channel
            return config.spec.open_aio([*first, *config.interceptors])

        self._manager = AsyncChannelManager(
            target=config.settings.address, owner="async_client",
            policy=_policy(config.resiliency), stub_factory=pb_grpc.TaskHubSidecarServiceStub,
            open_channel=open_channel, owns_channel=channel is None,
        )
        return self._manager

    async def _invoke(
        self, call: Call, kwargs: dict[str, Any], plan: RetryPlan
    ) -> tuple[Any, int]:
        manager = self._get_manager()
        resends = 0
        while True:
            transport = manager.current
            stub: AsyncSidecarStub = transport.stub
            attempt_kwargs = {**kwargs, "timeout": plan.attempt_timeout()}
            try:
                if call.streaming:
                    stream = stream_rpc(stub, call.method)(call.request, **attempt_kwargs)
                    return [message async for message in stream], transport.generation
                response = await unary_rpc(stub, call.method)(call.request, **attempt_kwargs)
                return response, transport.generation
            except (LeaseClosedError, ValueError, grpc.aio.UsageError):
                if self.closed:
                    raise self._closed_error(call.method) from None
                if not self._may_resend(transport, manager.current, resends):
                    raise
                resends += 1
                plan.resent()

    async def _send(self, call: Call) -> Any:
        store = self._config.payload_store
        if store is not None and not self.closed:
            await guarded.offload_async(call.request, store, call.instance_id)
        kwargs, info = self._prepare(call)
        clock = self._config.clock
        plan = RetryPlan(call.method, kwargs["timeout"], clock=clock.monotonic)
        generation = self._get_manager().current.generation
        while True:
            with rpc_errors_translated(info):
                try:
                    response, generation = await self._invoke(call, kwargs, plan)
                    break
                except grpc.RpcError as exc:
                    delay = self._retry_delay(plan, exc, generation)
                    if delay is None:
                        raise self._fail(plan, exc, info) from exc
            await clock.sleep(delay)
        if store is not None:
            for message in response if call.streaming else [response]:
                await guarded.resolve_async(message, store)
        return response

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow to its result, awaiting each call it yields.

        Returns:
            What the flow returns.
        """
        call = next(flow)
        while True:
            response = await self._send(call)
            try:
                call = flow.send(response)
            except StopIteration as done:
                result: T = done.value  # what the flow returned
                return result
