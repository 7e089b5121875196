"""The clients' I/O shells: own the channel manager, send each call of a flow, nothing else.

Every RPC of a client goes through ``_send`` here, which carries out the steps of the call's
plan (``call_plan.py``: payload offload, attempts with the time left of the deadline, resends
on a retired channel, retry waits, error translation, payload resolution) and decides
nothing itself. The channel comes from a channel manager (``transport/manager.py``), whose
resiliency interceptor sees every call and replaces a broken SDK-owned channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio

from durabletask.payload import guarded
from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.requests.call_plan import (
    Attempt,
    Attempted,
    Offload,
    Outcome,
    Sleep,
    Step,
    call_plan,
)
from durabletask.internal.requests.calls import Call, Flow
from durabletask.internal.requests.config import ClientConfig
from durabletask.internal.transport import observe
from durabletask.internal.transport.inflight import LeaseClosedError, LeaseState
from durabletask.internal.transport.manager import (
    AsyncChannelManager,
    ChannelGeneration,
    ManagerPolicy,
    SyncChannelManager,
)
from durabletask.internal.transport.stubs import (
    AsyncSidecarStub,
    SyncSidecarStub,
    stream_rpc,
    unary_rpc,
)

__all__ = ["AsyncCallShell", "SyncCallShell"]

T = TypeVar("T")


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

    def _plan(self, call: Call) -> Generator[Step, Outcome, Any]:
        config = self._config
        return call_plan(
            call, config.settings, config.metadata, owner=self._owner,
            closed=lambda: self.closed, payloads=config.payload_store is not None,
            clock=config.clock.monotonic,
        )

    def _note_retry(self, step: Sleep, generation: int) -> None:
        observe.emit(
            "call_retry", self._config.settings.address, self._owner, generation,
            method=step.method, code=step.code.name if step.code else None,
            attempt=step.attempt, delay_s=round(step.seconds, 3),
        )


def _retired(transport: ChannelGeneration, current: ChannelGeneration) -> bool:
    return transport is not current or transport.lease.state is not LeaseState.ACTIVE


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

    def _attempt(self, step: Attempt) -> Attempted:
        transport = self._manager.current
        stub: SyncSidecarStub = transport.stub
        call = step.call
        try:
            if call.streaming:
                return Attempted(list(stream_rpc(stub, call.method)(call.request, **step.kwargs)))
            return Attempted(unary_rpc(stub, call.method)(call.request, **step.kwargs))
        except (grpc.RpcError, LeaseClosedError, ValueError) as exc:
            return Attempted(error=exc, retired=_retired(transport, self._manager.current))

    def _send(self, call: Call) -> Any:
        plan, store = self._plan(call), self._config.payload_store
        generation = -1  # of the first attempt, named by the retry events
        outcome: Outcome = None
        while True:
            try:
                step = plan.send(outcome)
            except StopIteration as done:
                return done.value
            outcome = None
            if isinstance(step, Attempt):
                generation = self._manager.current.generation if generation < 0 else generation
                outcome = self._attempt(step)
            elif isinstance(step, Sleep):
                self._note_retry(step, generation)
                self._config.clock.sleep_blocking(step.seconds)
            elif isinstance(step, Offload):
                assert store is not None  # the plan offloads only with a store
                guarded.offload(step.message, store, step.instance_id)
            else:
                assert store is not None
                for message in step.messages:
                    guarded.resolve(message, store)

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

    async def _attempt(self, step: Attempt) -> Attempted:
        manager = self._get_manager()
        transport = manager.current
        stub: AsyncSidecarStub = transport.stub
        call = step.call
        try:
            if call.streaming:
                stream = stream_rpc(stub, call.method)(call.request, **step.kwargs)
                return Attempted([message async for message in stream])
            return Attempted(await unary_rpc(stub, call.method)(call.request, **step.kwargs))
        except (grpc.RpcError, LeaseClosedError, ValueError, grpc.aio.UsageError) as exc:
            return Attempted(error=exc, retired=_retired(transport, manager.current))

    async def _send(self, call: Call) -> Any:
        plan, store = self._plan(call), self._config.payload_store
        generation = -1  # of the first attempt, named by the retry events
        outcome: Outcome = None
        while True:
            try:
                step = plan.send(outcome)
            except StopIteration as done:
                return done.value
            outcome = None
            if isinstance(step, Attempt):
                if generation < 0:
                    generation = self._get_manager().current.generation
                outcome = await self._attempt(step)
            elif isinstance(step, Sleep):
                self._note_retry(step, generation)
                await self._config.clock.sleep(step.seconds)
            elif isinstance(step, Offload):
                assert store is not None  # the plan offloads only with a store
                await guarded.offload_async(step.message, store, step.instance_id)
            else:
                assert store is not None
                for message in step.messages:
                    await guarded.resolve_async(message, store)

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
