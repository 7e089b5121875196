"""Lets the asyncio worker use a caller-supplied synchronous ``grpc.Channel``.

Blocking calls run in threads; errors are re-raised as ``grpc.aio.AioRpcError`` so the
worker has one error type to handle whichever channel kind it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import grpc.aio

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.transport.status import status_code, status_details

_STREAM_END = object()


def _as_aio_error(exc: grpc.RpcError) -> grpc.aio.AioRpcError:
    code = status_code(exc) or grpc.StatusCode.UNKNOWN
    details = status_details(exc)
    if details is None:
        details = str(exc)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


class _SyncStreamAdapter:
    """An awaitable ``read()`` over a blocking server-streaming call."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._iterator: Iterator[Any] = iter(call)

    async def read(self) -> Any:
        try:
            item = await asyncio.to_thread(next, self._iterator, _STREAM_END)
        except grpc.RpcError as exc:
            raise _as_aio_error(exc) from exc
        return grpc.aio.EOF if item is _STREAM_END else item

    def cancel(self) -> bool:
        return bool(self._call.cancel())


class _SyncUnaryAdapter:
    """Awaits a blocking unary RPC through its ``.future()``: no thread, and cancellable."""

    def __init__(self, method: Any) -> None:
        self._method = method

    async def __call__(self, request: Any, **kwargs: Any) -> Any:
        future = self._method.future(request, **kwargs)
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not finished.done():
                finished.set_result(None)

        def on_done(_: Any) -> None:
            # gRPC calls back on its own thread, possibly after the loop has closed.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(resolve)

        future.add_done_callback(on_done)
        try:
            await finished
        except asyncio.CancelledError:
            future.cancel()
            raise
        try:
            return future.result()
        except grpc.RpcError as exc:
            raise _as_aio_error(exc) from exc


class SyncChannelStub:
    """The subset of the aio stub interface the worker uses, over a sync channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = pb_grpc.TaskHubSidecarServiceStub(channel)

    def GetWorkItems(self, request: Any, **kwargs: Any) -> _SyncStreamAdapter:  # noqa: N802
        """Open the work-item stream."""
        return _SyncStreamAdapter(self._stub.GetWorkItems(request, **kwargs))

    def StreamInstanceHistory(  # noqa: N802
        self, request: Any, **kwargs: Any
    ) -> _SyncStreamAdapter:
        """Open a history download."""
        return _SyncStreamAdapter(self._stub.StreamInstanceHistory(request, **kwargs))

    def __getattr__(self, name: str) -> _SyncUnaryAdapter:
        return _SyncUnaryAdapter(getattr(self._stub, name))
