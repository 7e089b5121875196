"""The worker's work-item stream: one consumer per connection, one supervisor for reconnects.

The consumer runs one connection (``Hello`` with a deadline, then ``GetWorkItems`` with
none) and reports exactly one :class:`StreamResult` (R-W1, R-W3, R-W4). The supervisor alone
decides what follows (R-W10): count a failure or not (R-T5), recreate the channel when the
threshold is reached (R-C6, no delay before the new connect), or wait a full-jitter backoff
whose attempt resets only when a stream delivers its first message (R-B1 to R-B4). Every
wait ends at once when :meth:`StreamSupervisor.stop` is called (R-B5, R-S2).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import grpc.aio
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.transport import observe
from durabletask.internal.transport.backoff import full_jitter_delay
from durabletask.internal.transport.manager import AsyncChannelManager, Transport

__all__ = [
    "StreamGeneration",
    "StreamOutcome",
    "StreamPhase",
    "StreamResult",
    "StreamSupervisor",
    "StreamVerdict",
    "SupervisorSettings",
    "WorkItemSink",
    "WorkItemStreamConsumer",
    "judge_stream_result",
]

_logger = logging.getLogger("durabletask.worker.stream")

# Statuses of Hello or GetWorkItems that suggest a broken connection (R-T5 a, b).
_TRANSPORT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


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
    """

    outcome: StreamOutcome
    first_message_observed: bool
    code: grpc.StatusCode | None = None
    details: str = ""
    phase: StreamPhase = StreamPhase.STREAM


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


class StreamGeneration:
    """One connection's identity: queued work items check whether it ended abnormally."""

    def __init__(self, number: int) -> None:
        """Name the connection.

        Args:
            number: 1 for the first connection of a worker run, +1 per reconnect.
        """
        self.number = number
        self.ended_abnormally = False


class WorkItemSink(Protocol):
    """Receives the work items of a stream, with the transport they must complete through."""

    def __call__(self, item: pb.WorkItem, transport: Transport, stream: StreamGeneration) -> None:
        """Hand one work item over for execution; must not block."""
        ...


class WorkItemStreamConsumer:
    """Runs one connection: ``Hello``, then ``GetWorkItems``, reading until it ends.

    A connection is silent-disconnected when no message (work item or health ping) arrives
    within ``silent_disconnect_timeout_seconds`` (0 disables the check).
    """

    def __init__(
        self,
        transport: Transport,
        request: pb.GetWorkItemsRequest,
        *,
        metadata: Sequence[tuple[str, str]] | None,
        hello_timeout_seconds: float,
        silent_disconnect_timeout_seconds: float,
        sink: WorkItemSink,
        stream: StreamGeneration,
    ) -> None:
        """Prepare a connection over ``transport``; nothing is sent until :meth:`run`.

        Args:
            transport: The channel generation to connect through.
            request: The ``GetWorkItems`` request.
            metadata: gRPC metadata for both calls.
            hello_timeout_seconds: Deadline of ``Hello``.
            silent_disconnect_timeout_seconds: Longest gap between messages; 0 = no limit.
            sink: Receives each work item.
            stream: This connection's identity.
        """
        self._transport = transport
        self._stub = transport.stub
        self._request = request
        self._metadata = tuple(metadata) if metadata else None
        self._hello_timeout = hello_timeout_seconds
        self._silent_timeout = silent_disconnect_timeout_seconds
        self._sink = sink
        self._stream = stream
        self._call: Any = None
        self._waiter: asyncio.Future[Any] | None = None
        self._first_message = False
        self._cancel_requested = False
        self._phase = StreamPhase.HELLO

    async def run(self) -> StreamResult:
        """Connect and consume until the stream ends; never raises except on cancellation."""
        try:
            self._call = self._stub.Hello(
                empty_pb2.Empty(), timeout=self._hello_timeout, metadata=self._metadata
            )
            # A separate future lets stop() cancel Hello whatever the stub kind (R-W2).
            self._waiter = asyncio.ensure_future(self._call)
            await self._waiter
            if self._cancel_requested:
                return self._result(StreamOutcome.SHUTDOWN)
            self._phase = StreamPhase.STREAM
            self._call = self._stub.GetWorkItems(self._request, metadata=self._metadata)
            return await self._read_all()
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
        return StreamResult(outcome, self._first_message, code, details, self._phase)

    def _cancel_call(self) -> None:
        if self._call is not None and hasattr(self._call, "cancel"):
            self._call.cancel()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()

    def cancel(self) -> None:
        """Cancel the connection (safe at any time, also before it was opened)."""
        self._cancel_requested = True
        self._cancel_call()

    async def _read_all(self) -> StreamResult:
        timeout = self._silent_timeout if self._silent_timeout > 0 else None
        while True:
            try:
                item = await asyncio.wait_for(self._call.read(), timeout)
            except asyncio.TimeoutError:
                if self._cancel_requested:
                    return self._result(StreamOutcome.SHUTDOWN)
                return self._result(StreamOutcome.SILENT_DISCONNECT)
            if item is grpc.aio.EOF:
                return self._result(StreamOutcome.GRACEFUL_DRAIN)
            self._first_message = True
            if item.HasField("healthPing"):
                continue
            self._sink(item, self._transport, self._stream)


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorSettings:
    """The worker's connection settings (from ``GrpcWorkerResiliencyOptions``).

    Attributes:
        hello_timeout_seconds: Deadline of every ``Hello``.
        silent_disconnect_timeout_seconds: Longest gap between messages; 0 disables.
        backoff_base_seconds: Full-jitter base.
        backoff_cap_seconds: Full-jitter cap.
    """

    hello_timeout_seconds: float
    silent_disconnect_timeout_seconds: float
    backoff_base_seconds: float
    backoff_cap_seconds: float


class StreamSupervisor:
    """Keeps a worker connected: counts, recreates and backs off until stopped."""

    def __init__(
        self,
        manager: AsyncChannelManager,
        request: pb.GetWorkItemsRequest,
        *,
        metadata: Sequence[tuple[str, str]] | None,
        settings: SupervisorSettings,
        sink: WorkItemSink,
        rng: Callable[[], float] | None = None,
    ) -> None:
        """Prepare the supervisor; nothing runs until :meth:`run`.

        Args:
            manager: The worker's channel manager; its tracker counts connection failures.
            request: The ``GetWorkItems`` request.
            metadata: gRPC metadata for the connection calls.
            settings: Timeouts and backoff.
            sink: Receives each work item.
            rng: Uniform [0, 1) source for the jitter; a per-worker ``Random`` by default.
        """
        self._manager = manager
        self._request = request
        self._metadata = metadata
        self._settings = settings
        self._sink = sink
        self._rng = rng or random.Random().random
        self._stopping = asyncio.Event()
        self._consumer: WorkItemStreamConsumer | None = None
        self._streams = 0
        self.state = "idle"
        self.counters = {"connections": 0, "reconnects": 0, "silent_disconnects": 0,
                         "graceful_drains": 0, "empty_drains": 0, "hello_failures": 0,
                         "stream_errors": 0}

    async def run(self) -> None:
        """Connect, consume, back off and reconnect until :meth:`stop` is called."""
        attempt = 0
        while not self._stopping.is_set():
            result = await self._connect_once()
            if self._stopping.is_set():
                return
            if result.first_message_observed:
                self._manager.tracker.reset()
                attempt = 0
            verdict = judge_stream_result(result)
            if verdict is StreamVerdict.AUTH_FAILED:
                self._manager.tracker.reset()
                attempt = 0
            if verdict is StreamVerdict.FAILURE and self._manager.tracker.record_failure():
                self.state = "recreate"
                if await self._manager.recreate_now() is not None:
                    continue  # R-C6: the new channel is tried at once
            await self._back_off(attempt)
            attempt += 1

    async def _connect_once(self) -> StreamResult:
        self.state = "connecting"
        self._streams += 1
        stream = StreamGeneration(self._streams)
        transport = self._manager.current
        self._consumer = WorkItemStreamConsumer(
            transport, self._request, metadata=self._metadata,
            hello_timeout_seconds=self._settings.hello_timeout_seconds,
            silent_disconnect_timeout_seconds=self._settings.silent_disconnect_timeout_seconds,
            sink=self._sink, stream=stream,
        )
        self.counters["connections"] += 1
        if self._streams > 1:
            self.counters["reconnects"] += 1
        result = await self._consumer.run()
        stream.ended_abnormally = result.outcome is not StreamOutcome.GRACEFUL_DRAIN
        if result.outcome is not StreamOutcome.SHUTDOWN:
            self._record(result, transport.generation)
        return result

    def _record(self, result: StreamResult, generation: int) -> None:
        name, counter = {
            StreamOutcome.SILENT_DISCONNECT: ("stream_silent_disconnect", "silent_disconnects"),
            StreamOutcome.GRACEFUL_DRAIN: (
                ("stream_graceful_drain", "graceful_drains") if result.first_message_observed
                else ("stream_empty_drain", "empty_drains")),
        }.get(result.outcome, ("stream_error", "stream_errors"))
        if result.outcome is StreamOutcome.ERROR and result.phase is StreamPhase.HELLO:
            counter = "hello_failures"
        if result.code == grpc.StatusCode.UNAUTHENTICATED:
            name = "auth_failed"
        self.counters[counter] += 1
        manager = self._manager
        observe.emit(
            name, manager.target, manager.owner, generation, phase=result.phase.value,
            code=result.code.name if result.code is not None else None,
            details=result.details, first_message=result.first_message_observed,
            consecutive=manager.tracker.count,
        )

    async def _back_off(self, attempt: int) -> None:
        settings = self._settings
        delay = full_jitter_delay(
            attempt, settings.backoff_base_seconds, settings.backoff_cap_seconds, self._rng
        )
        self.state = "backoff"
        manager = self._manager
        observe.emit("reconnect_backoff", manager.target, manager.owner,
                     manager.current.generation, attempt=attempt, delay_s=round(delay, 3))
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except asyncio.TimeoutError:
            pass

    def stop(self) -> None:
        """Stop reconnecting and cancel the current connection; call on the loop."""
        self.state = "stopping"
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.cancel()
