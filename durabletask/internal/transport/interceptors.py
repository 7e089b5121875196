"""The resiliency interceptors: one sync and one aio class over one shared outcome core.

Each channel generation gets its own interceptor instance, bound to that generation's
:class:`ChannelLease`, so in-flight calls are counted per channel without an ``id()`` table.
The interceptor is always first in the chain (outermost), ahead of the user's interceptors.
For every call it:

* adds the default deadline to unary calls that are not long polls and have none (R-T8);
* holds a lease token until the call ends, unary and streaming alike (R-D1);
* for unary-unary calls, classifies the final status and feeds the shared
  :class:`FailureTracker`, asking for a recreation when it trips (R-T1 to R-T4, R-F1).

The sync interceptor never blocks on the call (``add_done_callback``, never ``result()``),
so ``stub.X.future()`` stays asynchronous (R-I2). The aio interceptor awaits the call itself,
because in ``grpc.aio`` the continuation returns the call before it has finished (R-I3).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any, Protocol

import grpc
import grpc.aio

from durabletask.internal.transport import observe
from durabletask.internal.transport.classify import (
    Outcome,
    classify_unary,
    is_long_poll,
    normalize_method,
)
from durabletask.internal.transport.failure_counter import FailureTracker
from durabletask.internal.transport.inflight import ChannelLease
from durabletask.internal.transport.status import status_code

__all__ = [
    "AioAllKinds",
    "AsyncResiliencyInterceptor",
    "CallObserver",
    "SyncResiliencyInterceptor",
    "aio_kind_views",
    "details_with",
]


class _SyncCallDetails(
    collections.namedtuple(
        "_SyncCallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """Call details we build when the ones we got cannot be copied with ``_replace``."""


def details_with(details: Any, *, aio: bool, **changes: Any) -> Any:
    """Return a copy of a call's details with ``changes`` (``timeout``, ``metadata``) set.

    grpc's own details are namedtuples and are copied with ``_replace``; details an outer
    interceptor built as some other class are rebuilt field by field.
    """
    if hasattr(details, "_replace"):
        return details._replace(**changes)
    fields = {
        "method": details.method, "timeout": details.timeout, "metadata": details.metadata,
        "credentials": details.credentials,
        "wait_for_ready": getattr(details, "wait_for_ready", None), **changes,
    }
    if aio:
        return grpc.aio.ClientCallDetails(**fields)
    return _SyncCallDetails(compression=getattr(details, "compression", None), **fields)


class CallObserver:
    """The outcome core shared by both interceptors: deadline, lease token, classification."""

    def __init__(
        self,
        *,
        lease: ChannelLease,
        tracker: FailureTracker,
        on_trip: Callable[[], object],
        default_timeout: float | None,
        target: str,
        owner: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Bind the core to one channel generation.

        Args:
            lease: The generation's in-flight lease.
            tracker: The consecutive-failure tracker shared by all generations.
            on_trip: Called (must not block) when the tracker reaches its threshold.
            default_timeout: Deadline in seconds for unary calls that set none; None = none.
            target: The channel's target, for events.
            owner: ``client`` or ``async_client``, for events.
            clock: Monotonic clock used to turn timeouts into deadlines.
        """
        self.lease = lease
        self._tracker = tracker
        self._on_trip = on_trip
        self._default_timeout = default_timeout
        self._target = target
        self._owner = owner
        self._clock = clock

    def with_default_deadline(self, details: Any, method: str) -> Any:
        """Return ``details`` with the default timeout when it has none and is no long poll."""
        if self._default_timeout is None or details.timeout is not None:
            return details
        if is_long_poll(method):
            return details
        return details_with(details, aio=False, timeout=self._default_timeout)

    def start(self, details: Any) -> int:
        """Take a lease token for a call about to start; returns the token."""
        timeout = details.timeout
        deadline = None if timeout is None else self._clock() + timeout
        return self.lease.acquire(deadline)

    def finish(self, token: int, method: str, code: grpc.StatusCode | None, counted: bool) -> None:
        """Release the call's token and, for counted calls, record its outcome.

        Args:
            token: The call's lease token.
            method: The full RPC path.
            code: The final status, or None for a local failure (neutral).
            counted: Whether the outcome feeds the failure tracker (unary-unary calls).
        """
        self.lease.release(token)
        if not counted:
            return
        outcome = classify_unary(method, code)
        if outcome is Outcome.TRANSPORT:
            observe.emit(
                "transport_failure", self._target, self._owner, self.lease.generation,
                method=method, code=code.name if code is not None else None,
                consecutive=self._tracker.count + 1,
            )
        if self._tracker.record(outcome):
            self._on_trip()


class SyncResiliencyInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """The resiliency interceptor for sync channels; one instance per channel generation."""

    def __init__(self, observer: CallObserver) -> None:
        """Wrap the generation's outcome core.

        Args:
            observer: The core bound to this generation's lease.
        """
        self.observer = observer

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                              request: Any) -> Any:
        """Intercept a unary-unary call (counted)."""
        return self._intercept_call(continuation, client_call_details, request, counted=True)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                               request: Any) -> Any:
        """Intercept a server-streaming call (in-flight accounting only)."""
        return self._intercept_call(continuation, client_call_details, request, counted=False)

    def intercept_stream_unary(self, continuation: Any, client_call_details: Any,
                               request_iterator: Any) -> Any:
        """Intercept a client-streaming call (in-flight accounting only)."""
        return self._intercept_call(
            continuation, client_call_details, request_iterator, counted=False
        )

    def intercept_stream_stream(self, continuation: Any, client_call_details: Any,
                                request_iterator: Any) -> Any:
        """Intercept a bidirectional call (in-flight accounting only)."""
        return self._intercept_call(
            continuation, client_call_details, request_iterator, counted=False
        )

    def _intercept_call(self, continuation: Any, details: Any, request: Any,
                        *, counted: bool) -> Any:
        observer = self.observer
        method = normalize_method(details.method)
        if counted:
            details = observer.with_default_deadline(details, method)
        token = observer.start(details)
        try:
            call = continuation(details, request)
        except BaseException:
            observer.finish(token, method, None, counted)
            raise
        # Runs at once for a completed blocking call, later for futures and streams.
        call.add_done_callback(
            lambda done: observer.finish(token, method, status_code(done), counted)
        )
        return call


class AsyncResiliencyInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """The resiliency interceptor for ``grpc.aio`` channels; one instance per generation.

    It implements all four call kinds, but ``grpc.aio`` files an interceptor under the first
    kind it is an instance of, so pass :meth:`channel_interceptors` to the channel: it adds
    thin per-kind views that delegate here.
    """

    def __init__(self, observer: CallObserver) -> None:
        """Wrap the generation's outcome core.

        Args:
            observer: The core bound to this generation's lease.
        """
        self.observer = observer

    def channel_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        """Return this interceptor plus its views for the other three call kinds."""
        return [self, *aio_kind_views(self)]

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                                    request: Any) -> Any:
        """Intercept a unary-unary call: await it to see its status (counted).

        A failed call is returned, not re-raised: awaiting it raises its error in the
        caller. Raising here would store the error in grpc's interceptor task, whose
        traceback holds the intercepted call, which holds the task: a reference cycle
        that keeps the channel (and its TCP connection) alive after ``close()`` until the
        cyclic garbage collector runs.
        """
        observer = self.observer
        method = normalize_method(client_call_details.method)
        details = observer.with_default_deadline(client_call_details, method)
        token = observer.start(details)
        code: grpc.StatusCode | None = None
        try:
            call = await continuation(details, request)
            try:
                await call
                code = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as err:
                code = err.code()
            return call
        finally:
            # A CancelledError or a local error leaves code None: neutral (R-T4).
            observer.finish(token, method, code, True)

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                                     request: Any) -> Any:
        """Intercept a server-streaming call (in-flight accounting only)."""
        return await self._intercept_streaming(continuation, client_call_details, request)

    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any,
                                     request_iterator: Any) -> Any:
        """Intercept a client-streaming call (in-flight accounting only)."""
        return await self._intercept_streaming(
            continuation, client_call_details, request_iterator
        )

    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any,
                                      request_iterator: Any) -> Any:
        """Intercept a bidirectional call (in-flight accounting only)."""
        return await self._intercept_streaming(
            continuation, client_call_details, request_iterator
        )

    async def _intercept_streaming(self, continuation: Any, details: Any, request: Any) -> Any:
        observer = self.observer
        method = normalize_method(details.method)
        token = observer.start(details)
        try:
            call = await continuation(details, request)
        except BaseException:
            observer.finish(token, method, None, False)
            raise
        call.add_done_callback(lambda _done: observer.finish(token, method, None, False))
        return call


class AioAllKinds(Protocol):
    """An aio interceptor that implements the three call kinds besides unary-unary."""

    async def intercept_unary_stream(  # noqa: D102
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any: ...

    async def intercept_stream_unary(  # noqa: D102
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any: ...

    async def intercept_stream_stream(  # noqa: D102
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any: ...


def aio_kind_views(owner: AioAllKinds) -> list[grpc.aio.ClientInterceptor]:
    """Return views filing ``owner`` under the unary-stream, stream-unary and stream-stream kinds.

    ``grpc.aio`` files an interceptor under the first call kind it is an instance of, so
    one object implementing all four needs a view per other kind on the channel.
    """
    return [_AioUnaryStreamView(owner), _AioStreamUnaryView(owner), _AioStreamStreamView(owner)]


class _AioUnaryStreamView(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, owner: AioAllKinds) -> None:
        self._owner = owner

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                                     request: Any) -> Any:
        return await self._owner.intercept_unary_stream(
            continuation, client_call_details, request
        )


class _AioStreamUnaryView(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, owner: AioAllKinds) -> None:
        self._owner = owner

    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any,
                                     request_iterator: Any) -> Any:
        return await self._owner.intercept_stream_unary(
            continuation, client_call_details, request_iterator
        )


class _AioStreamStreamView(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, owner: AioAllKinds) -> None:
        self._owner = owner

    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any,
                                      request_iterator: Any) -> Any:
        return await self._owner.intercept_stream_stream(
            continuation, client_call_details, request_iterator
        )
