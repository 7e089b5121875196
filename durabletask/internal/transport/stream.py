"""The worker's work-item stream: one consumer per connection, and what it ends with.

The consumer runs one connection (``Hello`` with a deadline, then ``GetWorkItems`` with
none) and reports exactly one :class:`StreamResult` (R-W1, R-W3, R-W4); the supervisor
(``supervisor.py``) alone decides what follows. :class:`Liveness` holds what the worker knows
about the sidecar's liveness signals, and so how long a stream may stay silent.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import grpc.aio
from google.protobuf import empty_pb2

from durabletask.grpc_options import (
    LIVENESS_PROBE_FRACTION,
    LIVENESS_PROBE_TIMEOUT_FRACTION,
    SILENT_DISCONNECT_PINGS,
)
from durabletask.internal.clock import SYSTEM_CLOCK, Clock
from durabletask.internal.dialect import SidecarTraits
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.transport.completion_stream import CompletionStreamClient
from durabletask.internal.transport.manager import ChannelGeneration
from durabletask.internal.transport.silence import SilenceWatch, ended_by

__all__ = [
    "Liveness",
    "StreamGeneration",
    "StreamOutcome",
    "StreamPhase",
    "StreamResult",
    "StreamVerdict",
    "WorkItemSink",
    "WorkItemStreamConsumer",
    "judge_stream_result",
    "proves_connection_dead",
]

_logger = logging.getLogger("durabletask.worker.stream")

# Statuses of Hello or GetWorkItems that suggest a broken connection (R-T5 a, b).
_TRANSPORT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# How gRPC reports a connection its keepalive found dead ("Stream removed (ping timeout)").
_KEEPALIVE_FAILURES = ("ping timeout", "keepalive")


class StreamOutcome(enum.Enum):
    """Why one stream connection ended (R-W4)."""

    SHUTDOWN = "shutdown"
    GRACEFUL_DRAIN = "graceful_drain"
    SILENT_DISCONNECT = "silent_disconnect"
    ERROR = "error"


class StreamPhase(enum.Enum):
    """Which call of the connection ended it."""

    HELLO = "hello"
    STREAM = "stream"


@dataclass(frozen=True, slots=True)
class StreamResult:
    """The end of one connection.

    Attributes:
        outcome: Why it ended.
        first_message_observed: Whether any message (health pings included) arrived.
        code: The gRPC status for ``ERROR``, else None.
        details: The status details for ``ERROR``.
        phase: Whether ``Hello`` or ``GetWorkItems`` ended it.
        streamed_seconds: How long ``GetWorkItems`` was open (0 if it never opened).
    """

    outcome: StreamOutcome
    first_message_observed: bool
    code: grpc.StatusCode | None = None
    details: str = ""
    phase: StreamPhase = StreamPhase.STREAM
    streamed_seconds: float = 0.0


class StreamVerdict(enum.Enum):
    """What a stream result means for the connection counter."""

    FAILURE = "failure"
    """Count one connection failure (R-T5)."""
    NOT_COUNTED = "not_counted"
    """Reconnect after a backoff, without counting (graceful drain, CANCELLED, NOT_FOUND...)."""
    AUTH_FAILED = "auth_failed"
    """UNAUTHENTICATED: reset the counter and the backoff attempt, log on its own."""


def judge_stream_result(result: StreamResult) -> StreamVerdict:
    """Classify a stream result for the counter (R-T5, R-W9).

    Args:
        result: How the connection ended.

    Returns:
        Whether it counts as a failure, does not count, or is an authentication failure.
    """
    if result.outcome is StreamOutcome.SILENT_DISCONNECT:
        return StreamVerdict.FAILURE
    if result.outcome is StreamOutcome.GRACEFUL_DRAIN:
        return StreamVerdict.NOT_COUNTED if result.first_message_observed else (
            StreamVerdict.FAILURE)
    if result.code == grpc.StatusCode.UNAUTHENTICATED:
        return StreamVerdict.AUTH_FAILED
    if result.code in _TRANSPORT_CODES:
        return StreamVerdict.FAILURE
    return StreamVerdict.NOT_COUNTED


def proves_connection_dead(result: StreamResult) -> bool:
    """True when the stream's end proves its TCP connection dead, not just the stream.

    A silent disconnect (no health ping for several intervals) or a failed keepalive ping:
    gRPC would send the next ``Hello`` down the same dead connection, so the channel must be
    replaced at once rather than after several ``Hello`` deadlines.
    """
    if result.outcome is StreamOutcome.SILENT_DISCONNECT:
        return True
    details = result.details.lower()
    return result.code == grpc.StatusCode.UNAVAILABLE and any(
        sign in details for sign in _KEEPALIVE_FAILURES)


class Liveness:
    """What a worker knows about its sidecar's liveness signals, across its connections.

    The silent-disconnect window is armed only once the sidecar is known to send health
    pings: it advertised their interval (the window is then ``SILENT_DISCONNECT_PINGS``
    intervals, at most the configured one), or one arrived (the configured window). On a
    sidecar not known to ping, a window would only cut idle streams: a silent stream is
    probed instead (:meth:`probe_after`).
    """

    def __init__(self, configured_window: float) -> None:
        """Start knowing nothing about the sidecar.

        Args:
            configured_window: ``silent_disconnect_timeout_seconds``; 0 disables the window.
        """
        self.configured_window = configured_window
        self.traits = SidecarTraits()
        self.pings_seen = False
        self.last_message_at: float | None = None
        """The clock's ``monotonic()`` when the sidecar last sent anything (health)."""

    def window(self) -> float | None:
        """The longest silence allowed on a stream now, or None for no limit."""
        if self.configured_window <= 0:
            return None
        interval_ms = self.traits.health_ping_ms
        if interval_ms is not None:
            return min(self.configured_window, SILENT_DISCONNECT_PINGS * interval_ms / 1000)
        return self.configured_window if self.pings_seen else None

    def probe_after(self) -> float | None:
        """Silence after which the connection is probed with ``Hello``; None for never."""
        if self.configured_window <= 0 or self.window() is not None:
            return None
        return self.configured_window * LIVENESS_PROBE_FRACTION

    def probe_timeout(self) -> float:
        """Deadline of a probe."""
        return self.configured_window * LIVENESS_PROBE_TIMEOUT_FRACTION


class StreamGeneration:
    """One connection's identity: queued work items check whether it ended abnormally."""

    def __init__(self, number: int) -> None:
        """Name the connection.

        Args:
            number: 1 for the first connection of a worker run, +1 per reconnect.
        """
        self.number = number
        self.ended_abnormally = False
        self.completions: CompletionStreamClient | None = None
        """Its completion stream when the sidecar offers one (else unary completions)."""


class WorkItemSink(Protocol):
    """Receives the work items of a stream, and the channel generation to complete through."""

    def __call__(
        self, item: pb.WorkItem, generation: ChannelGeneration, stream: StreamGeneration
    ) -> None:
        """Hand one work item over for execution; must not block."""
        ...


class WorkItemStreamConsumer:
    """Runs one connection: ``Hello``, then ``GetWorkItems``, reading until it ends.

    A connection is silent-disconnected when no message (work item or health ping) arrives
    within the window :class:`Liveness` allows (none when it allows no limit).
    """

    def __init__(
        self,
        transport: ChannelGeneration,
        request: pb.GetWorkItemsRequest,
        *,
        metadata: Sequence[tuple[str, str]] | None,
        stream_metadata: Sequence[tuple[str, str]] | None = None,
        hello_timeout_seconds: float,
        liveness: Liveness,
        sink: WorkItemSink,
        stream: StreamGeneration,
        on_first_message: Callable[[], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """Prepare a connection over ``transport``; nothing is sent until :meth:`run`.

        Args:
            transport: The channel generation to connect through.
            request: The ``GetWorkItems`` request.
            metadata: gRPC metadata of ``Hello``.
            stream_metadata: gRPC metadata of ``GetWorkItems``; ``metadata`` when None.
            hello_timeout_seconds: Deadline of ``Hello``.
            liveness: The worker's knowledge of the sidecar; gives the silence window and
                learns that the sidecar pings.
            sink: Receives each work item.
            stream: This connection's identity.
            on_first_message: Called when the stream's first message arrives.
            clock: Times the silence window and the probes, and how long the stream was open.
        """
        self._transport = transport
        self._stub = transport.stub
        self._request = request
        self._metadata = tuple(metadata) if metadata else None
        self._stream_metadata = (
            tuple(stream_metadata) if stream_metadata is not None else self._metadata)
        self._hello_timeout = hello_timeout_seconds
        self._liveness = liveness
        self._sink = sink
        self._stream = stream
        self._on_first_message = on_first_message
        self._clock = clock
        self._call: Any = None
        self._waiter: asyncio.Future[Any] | None = None
        self._probe: asyncio.Future[Any] | None = None
        self._first_message = False
        self._cancel_requested = False
        self._phase = StreamPhase.HELLO
        self._opened_at: float | None = None
        self._ended = False
        self.traits = SidecarTraits()
        """What the sidecar advertised in its ``Hello`` answer."""

    @property
    def transport(self) -> ChannelGeneration:
        """The channel generation this connection uses."""
        return self._transport

    @property
    def streaming(self) -> bool:
        """True while ``GetWorkItems`` is open."""
        return self._opened_at is not None and not self._ended

    async def run(self) -> StreamResult:
        """Connect and consume until the stream ends; never raises except on cancellation."""
        failed = await self.hello()
        return failed if failed is not None else await self.consume()

    async def hello(self) -> StreamResult | None:
        """Send ``Hello`` and read the sidecar's traits; None when it succeeded."""
        return await self._guarded(self._hello)

    async def consume(self) -> StreamResult:
        """Open ``GetWorkItems`` and read it until it ends (after a successful :meth:`hello`)."""
        try:
            result = await self._guarded(self._consume)
        finally:
            self._ended = True
        assert result is not None
        return result

    async def _hello(self) -> StreamResult | None:
        call = self._call = self._stub.Hello(
            empty_pb2.Empty(), timeout=self._hello_timeout, metadata=self._metadata
        )
        # A separate future lets stop() cancel Hello whatever the stub kind (R-W2).
        self._waiter = asyncio.ensure_future(call)
        await self._waiter
        self._call = None
        self._liveness.last_message_at = self._clock.monotonic()
        if self._cancel_requested:
            return self._result(StreamOutcome.SHUTDOWN)
        read_metadata = getattr(call, "initial_metadata", None)  # absent on sync adapters
        if read_metadata is not None:
            self.traits = SidecarTraits.from_metadata(await read_metadata())
        return None

    async def _consume(self) -> StreamResult:
        self._phase = StreamPhase.STREAM
        if self._cancel_requested:
            return self._result(StreamOutcome.SHUTDOWN)
        self._opened_at = self._clock.monotonic()
        self._call = self._stub.GetWorkItems(self._request, metadata=self._stream_metadata)
        return await self._read_all()

    async def _guarded(
        self, step: Callable[[], Awaitable[StreamResult | None]]
    ) -> StreamResult | None:
        try:
            return await step()
        except grpc.aio.AioRpcError as exc:
            if self._cancel_requested:
                return self._result(StreamOutcome.SHUTDOWN)
            return self._result(StreamOutcome.ERROR, exc.code(), exc.details() or "")
        except asyncio.CancelledError:
            # Our own cancel() surfaces as CancelledError; only a cancellation of the task
            # itself must propagate.
            if self._cancel_requested:
                return self._result(StreamOutcome.SHUTDOWN)  # noqa: ASYNC104
            raise
        finally:
            self._cancel_call()

    def _result(
        self, outcome: StreamOutcome, code: grpc.StatusCode | None = None, details: str = ""
    ) -> StreamResult:
        opened = self._opened_at
        streamed = self._clock.monotonic() - opened if opened is not None else 0.0
        return StreamResult(outcome, self._first_message, code, details, self._phase, streamed)

    def _end_rpc(self) -> None:
        """End the open call, if any (its pending read then fails)."""
        if self._call is not None and hasattr(self._call, "cancel"):
            self._call.cancel()

    def _cancel_call(self) -> None:
        self._end_rpc()
        for future in (self._waiter, self._probe):
            if future is not None and not future.done():
                future.cancel()

    def cancel(self) -> None:
        """Cancel the connection (safe at any time, also before it was opened)."""
        self._cancel_requested = True
        self._cancel_call()

    async def _read_all(self) -> StreamResult:
        liveness = self._liveness
        watch = SilenceWatch(self._clock, lambda: (liveness.window(), liveness.probe_after()),
                             self._connection_answers, self._end_rpc)
        try:
            while True:
                try:
                    item = await self._call.read()
                except (asyncio.CancelledError, grpc.aio.AioRpcError) as exc:
                    if ended_by(watch, exc, self._cancel_requested):
                        # Our own watch cancelled the call; the task itself was not cancelled.
                        return self._result(StreamOutcome.SILENT_DISCONNECT)  # noqa: ASYNC104
                    raise
                if self._cancel_requested:
                    return self._result(StreamOutcome.SHUTDOWN)
                outcome = self._take(item)
                if outcome is not None:
                    return outcome
                watch.heard()
        finally:
            watch.stop()

    async def _connection_answers(self) -> bool:
        """Probe a silent stream's connection with ``Hello``; False when it is dead."""
        # A future of its own, so that cancel() ends the probe too.
        probe = self._probe = asyncio.ensure_future(self._stub.Hello(
            empty_pb2.Empty(), timeout=self._liveness.probe_timeout(), metadata=self._metadata))
        try:
            await probe
        except grpc.aio.AioRpcError as exc:
            return exc.code() not in _TRANSPORT_CODES  # any other status is an answer
        finally:
            self._probe = None
        return True

    def _take(self, item: Any) -> StreamResult | None:
        """Handle one message; returns the result when the stream ended."""
        if item is grpc.aio.EOF:
            return self._result(StreamOutcome.GRACEFUL_DRAIN)
        self._liveness.last_message_at = self._clock.monotonic()
        if not self._first_message:
            self._first_message = True
            if self._on_first_message is not None:
                self._on_first_message()
        if item.HasField("healthPing"):
            self._liveness.pings_seen = True
            return None
        self._sink(item, self._transport, self._stream)
        return None
