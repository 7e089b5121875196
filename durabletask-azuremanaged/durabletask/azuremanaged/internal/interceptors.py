"""gRPC client interceptors that add the scheduler's metadata to every call (sync and aio).

Both kinds share :class:`SchedulerMetadata`, which owns the fixed headers and the token
manager. Each call gets a NEW metadata list built from the call's own; nothing shared
between calls is ever modified. The ``authorization`` header is computed per call, so a
retried call picks up a refreshed token.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import grpc
import grpc.aio

from durabletask.azuremanaged.internal.access_token_manager import (
    AccessTokenManager,
    AsyncAccessTokenManager,
)
from durabletask.azuremanaged.internal.headers import (
    Header,
    authorization_header,
    merge_metadata,
    static_headers,
    token_scope,
    validate_taskhub,
)
from durabletask.internal.transport.interceptors import aio_kind_views, details_with

__all__ = [
    "DTSAsyncDefaultClientInterceptorImpl",
    "DTSDefaultClientInterceptorImpl",
    "SchedulerMetadata",
]


def _is_async_credential(credential: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(credential, "get_token", None))


class SchedulerMetadata:
    """The headers of one client or worker: fixed ones plus the bearer token, if any."""

    def __init__(
        self,
        taskhub: str,
        token_credential: Any | None,
        *,
        resource_id: str | None = None,
        worker_id: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Prepare the headers; no token is fetched until the first call.

        Args:
            taskhub: The task hub every call addresses.
            token_credential: A ``TokenCredential`` or ``AsyncTokenCredential``; None sends
                no ``authorization`` header (anonymous, e.g. the local emulator).
            resource_id: The scheduler's Entra ID resource; the cloud's default when None.
            worker_id: Sent as ``workerid`` (workers only).
            clock: Seconds since the Unix epoch for token expiry; ``time.time`` when None.

        Raises:
            ValueError: ``taskhub`` is empty.
        """
        self.static: tuple[Header, ...] = static_headers(validate_taskhub(taskhub), worker_id)
        self.sync_tokens: AccessTokenManager | None = None
        self.async_tokens: AsyncAccessTokenManager | None = None
        if token_credential is None:
            return
        scope = token_scope(resource_id)
        extra: dict[str, Any] = {} if clock is None else {"clock": clock}
        if _is_async_credential(token_credential):
            self.async_tokens = AsyncAccessTokenManager(token_credential, scope, **extra)
        else:
            self.sync_tokens = AccessTokenManager(token_credential, scope, **extra)

    def require_sync(self) -> None:
        """Check that synchronous code can get tokens from the credential.

        Raises:
            TypeError: The credential is an ``AsyncTokenCredential``.
        """
        if self.async_tokens is not None:
            raise TypeError(
                "an AsyncTokenCredential cannot authenticate a synchronous client; pass a "
                "TokenCredential (e.g. azure.identity.DefaultAzureCredential), or use "
                "AsyncDurableTaskSchedulerClient"
            )

    def headers(self) -> tuple[Header, ...]:
        """Return every header for a call from synchronous code (may block on a refresh).

        Raises:
            TypeError: The credential is asynchronous; use :meth:`async_headers`.
        """
        self.require_sync()
        if self.sync_tokens is None:
            return self.static
        return (*self.static, authorization_header(self.sync_tokens.get_token()))

    async def async_headers(self) -> tuple[Header, ...]:
        """Return every header for a call from a coroutine; never blocks the loop."""
        if self.async_tokens is not None:
            token = await self.async_tokens.get_token()
        elif self.sync_tokens is not None:
            # A sync credential may do network I/O: refresh off the loop, read cached inline.
            cached = self.sync_tokens.cached_token()
            token = cached if cached is not None else await asyncio.to_thread(
                self.sync_tokens.get_token
            )
        else:
            return self.static
        return (*self.static, authorization_header(token))


def _with_headers(details: Any, headers: tuple[Header, ...], aio: bool) -> Any:
    merged = merge_metadata(details.metadata, headers)
    metadata: Any = grpc.aio.Metadata(*merged) if aio else merged
    return details_with(details, aio=aio, metadata=metadata)


class DTSDefaultClientInterceptorImpl(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Sync interceptor adding ``taskhub``, ``x-user-agent`` and ``authorization`` per call."""

    def __init__(self, metadata: SchedulerMetadata) -> None:
        """Add ``metadata``'s headers to every call.

        Args:
            metadata: The headers and token manager of one client.
        """
        self._metadata = metadata

    def _details(self, details: Any) -> Any:
        return _with_headers(details, self._metadata.headers(), aio=False)

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                              request: Any) -> Any:
        """Add the headers to a unary-unary call."""
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                               request: Any) -> Any:
        """Add the headers to a unary-stream call."""
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation: Any, client_call_details: Any,
                               request_iterator: Any) -> Any:
        """Add the headers to a stream-unary call."""
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation: Any, client_call_details: Any,
                                request_iterator: Any) -> Any:
        """Add the headers to a stream-stream call."""
        return continuation(self._details(client_call_details), request_iterator)


class DTSAsyncDefaultClientInterceptorImpl(grpc.aio.UnaryUnaryClientInterceptor):
    """aio interceptor adding the scheduler headers per call.

    ``grpc.aio`` files an interceptor under ONE call kind, so pass
    :meth:`channel_interceptors` (this object plus views for the other three kinds) to the
    channel; the stream of work items is a unary-stream call and needs its view.
    """

    def __init__(self, metadata: SchedulerMetadata) -> None:
        """Add ``metadata``'s headers to every call.

        Args:
            metadata: The headers and token manager of one client or worker.
        """
        self._metadata = metadata

    async def details(self, client_call_details: Any) -> Any:
        """Return a copy of ``client_call_details`` with the scheduler headers set."""
        return _with_headers(client_call_details, await self._metadata.async_headers(), aio=True)

    def channel_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        """Return this interceptor plus its views for the other three call kinds."""
        return [self, *aio_kind_views(self)]

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                                    request: Any) -> Any:
        """Add the headers to a unary-unary call."""
        return await continuation(await self.details(client_call_details), request)

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                                     request: Any) -> Any:
        """Add the headers to a unary-stream call (filed through its view)."""
        return await continuation(await self.details(client_call_details), request)

    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any,
                                     request_iterator: Any) -> Any:
        """Add the headers to a stream-unary call (filed through its view)."""
        return await continuation(await self.details(client_call_details), request_iterator)

    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any,
                                      request_iterator: Any) -> Any:
        """Add the headers to a stream-stream call (filed through its view)."""
        return await continuation(await self.details(client_call_details), request_iterator)
