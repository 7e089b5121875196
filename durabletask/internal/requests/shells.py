"""The clients' I/O shells: own the channel, send each call of a flow, nothing else.

Every RPC of a client goes through ``_send`` here, the one call path where payloads are
externalised, the size limit is checked, metadata and deadlines are added and gRPC errors
are translated. Resiliency interceptors are applied to the channel, so they see it all.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import grpc
import grpc.aio

from durabletask import payload
from durabletask.errors import ClientClosedError
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.requests.calls import Call, Flow
from durabletask.internal.requests.setup import ClientConfig
from durabletask.internal.transport.errors import CallInfo, rpc_errors_translated

__all__ = ["AsyncTransport", "SyncTransport"]

T = TypeVar("T")


class _TransportBase:
    def __init__(self, config: ClientConfig, owner: str, channel: Any) -> None:
        self._config = config
        self._owner = owner
        self._owns_channel = channel is None
        self.closed = False

    def _prepare(self, call: Call) -> tuple[dict[str, Any], CallInfo]:
        if self.closed:
            raise ClientClosedError(
                f"{self._owner} is closed: create a new client to call {call.method}"
            )
        settings = self._config.settings
        settings.check_size(call)
        kwargs = {"timeout": settings.deadline(call), "metadata": self._config.metadata}
        return kwargs, settings.call_info(call)


class SyncTransport(_TransportBase):
    """Sends a sync client's calls over its channel (created here unless given)."""

    def __init__(self, config: ClientConfig, owner: str, channel: grpc.Channel | None) -> None:
        """Open the SDK-owned channel, or wrap the caller's with the interceptors.

        Args:
            config: The client configuration.
            owner: The client class name, for error messages.
            channel: A caller-owned channel, or None to create one.
        """
        super().__init__(config, owner, channel)
        interceptors = config.interceptors
        if channel is None:
            assert config.spec is not None  # configure_client sets it when no channel
            channel = config.spec.open_sync(interceptors)
            self._owned: grpc.Channel | None = channel
        else:
            self._owned = None
            if interceptors:
                channel = grpc.intercept_channel(channel, *interceptors)
        self._stub = pb_grpc.TaskHubSidecarServiceStub(channel)

    def close(self) -> None:
        """Close the SDK-owned channel; idempotent, never closes a caller's channel."""
        if self.closed:
            return
        self.closed = True
        if self._owned is not None:
            self._owned.close()

    def _send(self, call: Call) -> Any:
        store = self._config.payload_store
        if store is not None and not self.closed:
            payload.externalize_payloads(call.request, store, instance_id=call.instance_id)
        kwargs, info = self._prepare(call)
        rpc = getattr(self._stub, call.method)
        with rpc_errors_translated(info):
            if call.streaming:
                response: Any = list(rpc(call.request, **kwargs))
            else:
                response = rpc(call.request, **kwargs)
        if store is not None:
            for message in response if call.streaming else [response]:
                payload.deexternalize_payloads(message, store)
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
                return done.value


class AsyncTransport(_TransportBase):
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
        self._stub: pb_grpc.TaskHubSidecarServiceStub | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def close(self) -> None:
        """Close the SDK-owned channel if one was opened; idempotent."""
        if self.closed:
            return
        self.closed = True
        channel, self._channel, self._stub = self._channel, None, None
        if self._owns_channel and channel is not None:
            await channel.close()

    def _get_stub(self) -> pb_grpc.TaskHubSidecarServiceStub:
        loop = asyncio.get_running_loop()
        if self._stub is not None:
            if self._loop is not None and self._loop is not loop:
                raise RuntimeError(
                    f"{self._owner} is bound to the event loop of its first call (a grpc.aio "
                    "channel cannot move between loops); create one client per event loop"
                )
            return self._stub
        if self._channel is None:
            assert self._config.spec is not None  # configure_client sets it when no channel
            self._channel = self._config.spec.open_aio(self._config.interceptors)
            self._loop = loop
        self._stub = pb_grpc.TaskHubSidecarServiceStub(self._channel)
        return self._stub

    async def _send(self, call: Call) -> Any:
        store = self._config.payload_store
        if store is not None and not self.closed:
            await payload.externalize_payloads_async(
                call.request, store, instance_id=call.instance_id
            )
        kwargs, info = self._prepare(call)
        rpc = getattr(self._get_stub(), call.method)
        with rpc_errors_translated(info):
            if call.streaming:
                response: Any = [message async for message in rpc(call.request, **kwargs)]
            else:
                response = await rpc(call.request, **kwargs)
        if store is not None:
            for message in response if call.streaming else [response]:
                await payload.deexternalize_payloads_async(message, store)
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
                return done.value
