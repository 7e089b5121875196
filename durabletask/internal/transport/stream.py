"""The worker's work-item stream: one consumer per connection, one supervisor for reconnects."""

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
from durabletask.internal.transport.backoff import full_jitter_delay

_logger = logging.getLogger("durabletask.worker.stream")

# The pause after a sidecar ends a healthy stream on purpose (rolling restart): short, but
# jittered and never zero-width, so a sidecar that closes every stream cannot cause a tight loop.
_GRACEFUL_RECONNECT_ATTEMPT = 0


class StreamOutcome(enum.Enum):
    """Why one stream connection ended; the supervisor alone decides what follows."""

    SHUTDOWN = "shutdown"
    GRACEFUL_END = "graceful_end"
    SILENT_DISCONNECT = "silent_disconnect"
    ERROR = "error"


@dataclass(frozen=True)
class StreamResult:
    """The end of one connection: its outcome, whether any message arrived, the status."""

    outcome: StreamOutcome
    received_any: bool
    code: grpc.StatusCode | None = None
    details: str = ""


class WorkItemSink(Protocol):
    """Receives the work items of a stream, with the stub they must be completed through."""

    def __call__(self, item: pb.WorkItem, stub: Any, generation: StreamGeneration) -> None:
        """Hand one work item over for execution; must not block."""
        ...


class StreamGeneration:
    """One connection's identity: work items remember it to know whether it still stands."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.ended_abnormally = False


class WorkItemStreamConsumer:
    """Runs one connection: ``Hello``, then ``GetWorkItems``, reading until it ends.

    A connection is silent-disconnected when no message (work item or health ping) arrives
    within ``silent_disconnect_timeout_seconds``; 0 disables that check.
    """

    def __init__(
        self,
        stub: Any,
        request: pb.GetWorkItemsRequest,
        *,
        metadata: Sequence[tuple[str, str]] | None,
        hello_timeout_seconds: float,
        silent_disconnect_timeout_seconds: float,
        sink: WorkItemSink,
        generation: StreamGeneration,
    ) -> None:
        self._stub = stub
        self._request = request
        self._metadata = tuple(metadata) if metadata else None
        self._hello_timeout = hello_timeout_seconds
        self._silent_timeout = silent_disconnect_timeout_seconds
        self._sink = sink
        self._generation = generation
        self._call: Any = None
        self._received_any = False
        self._cancel_requested = False

    async def run(self) -> StreamResult:
        """Connect and consume until the stream ends; never raises except on cancellation."""
        try:
            self._call = self._stub.Hello(
                empty_pb2.Empty(), timeout=self._hello_timeout, metadata=self._metadata
            )
            await self._call
            if self._cancel_requested:
                return StreamResult(StreamOutcome.SHUTDOWN, self._received_any)
            self._call = self._stub.GetWorkItems(self._request, metadata=self._metadata)
            return await self._read_all()
        except grpc.aio.AioRpcError as exc:
            if self._cancel_requested:
                return StreamResult(StreamOutcome.SHUTDOWN, self._received_any)
            return StreamResult(StreamOutcome.ERROR, self._received_any, exc.code(), exc.details())
        except asyncio.CancelledError:
            # grpc.aio reports our own call.cancel() to the reader as CancelledError; only
            # a cancellation of the task itself must propagate.
            if self._cancel_requested:
                return StreamResult(StreamOutcome.SHUTDOWN, self._received_any)  # noqa: ASYNC104
            raise
        finally:
            if self._call is not None and hasattr(self._call, "cancel"):
                self._call.cancel()

    def cancel(self) -> None:
        """Cancel the stream call (safe at any time, also before it was opened)."""
        self._cancel_requested = True
        if self._call is not None and hasattr(self._call, "cancel"):
            self._call.cancel()

    async def _read_all(self) -> StreamResult:
        timeout = self._silent_timeout if self._silent_timeout > 0 else None
        while True:
            try:
                item = await asyncio.wait_for(self._call.read(), timeout)
            except asyncio.TimeoutError:
                _logger.warning(
                    "No message from the sidecar for %.1fs: treating the stream as dead",
                    self._silent_timeout,
                )
                return StreamResult(StreamOutcome.SILENT_DISCONNECT, self._received_any)
            if item is grpc.aio.EOF:
                return StreamResult(StreamOutcome.GRACEFUL_END, self._received_any)
            self._received_any = True
            if item.HasField("healthPing"):
                continue
            self._sink(item, self._stub, self._generation)


class StreamSupervisor:
    """Keeps a worker connected: reconnects with full-jitter backoff until stopped."""

    def __init__(
        self,
        stub_provider: Callable[[], Any],
        request: pb.GetWorkItemsRequest,
        *,
        metadata: Sequence[tuple[str, str]] | None,
        hello_timeout_seconds: float,
        silent_disconnect_timeout_seconds: float,
        backoff_base_seconds: float,
        backoff_cap_seconds: float,
        sink: WorkItemSink,
        on_transport_failure: Callable[[], None] | None = None,
        on_healthy: Callable[[], None] | None = None,
        rng: Callable[[], float] | None = None,
    ) -> None:
        self._stub_provider = stub_provider
        self._request = request
        self._metadata = metadata
        self._hello_timeout = hello_timeout_seconds
        self._silent_timeout = silent_disconnect_timeout_seconds
        self._base = backoff_base_seconds
        self._cap = backoff_cap_seconds
        self._sink = sink
        self._on_transport_failure = on_transport_failure
        self._on_healthy = on_healthy
        self._rng = rng or random.Random().random
        self._stopping = asyncio.Event()
        self._consumer: WorkItemStreamConsumer | None = None
        self._generation_number = 0
        self.connections = 0

    async def run(self) -> None:
        """Connect, consume, back off and reconnect until :meth:`stop` is called."""
        attempt = 0
        while not self._stopping.is_set():
            self._generation_number += 1
            generation = StreamGeneration(self._generation_number)
            self._consumer = WorkItemStreamConsumer(
                self._stub_provider(),
                self._request,
                metadata=self._metadata,
                hello_timeout_seconds=self._hello_timeout,
                silent_disconnect_timeout_seconds=self._silent_timeout,
                sink=self._sink,
                generation=generation,
            )
            self.connections += 1
            result = await self._consumer.run()
            if self._stopping.is_set():
                return
            generation.ended_abnormally = result.outcome is not StreamOutcome.GRACEFUL_END
            attempt = self._next_attempt(result, attempt)
            delay = full_jitter_delay(attempt, self._base, self._cap, self._rng)
            self._log_outcome(result, delay)
            await self._sleep_unless_stopped(delay)
            attempt += 1

    def _next_attempt(self, result: StreamResult, attempt: int) -> int:
        if result.received_any:
            if self._on_healthy is not None:
                self._on_healthy()
            if result.outcome is StreamOutcome.GRACEFUL_END:
                return _GRACEFUL_RECONNECT_ATTEMPT
            attempt = 0
        if _is_transport_failure(result) and self._on_transport_failure is not None:
            self._on_transport_failure()
        return attempt

    @staticmethod
    def _log_outcome(result: StreamResult, delay: float) -> None:
        if result.outcome is StreamOutcome.GRACEFUL_END and result.received_any:
            _logger.info("Work-item stream ended by the sidecar; reconnecting in %.2fs", delay)
            return
        _logger.warning(
            "Work-item stream ended (%s%s); reconnecting in %.2fs",
            result.outcome.value,
            f", {result.code.name}: {result.details}" if result.code is not None else "",
            delay,
        )

    async def _sleep_unless_stopped(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except asyncio.TimeoutError:
            pass

    def stop(self) -> None:
        """Stop reconnecting and cancel the current stream; call on the supervisor's loop."""
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.cancel()


def _is_transport_failure(result: StreamResult) -> bool:
    if result.outcome is StreamOutcome.SILENT_DISCONNECT:
        return True
    if result.outcome is StreamOutcome.GRACEFUL_END:
        return not result.received_any
    return result.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
