"""The worker's connection supervisor: count, recreate, back off and reconnect; stop cleanly.

The supervisor alone decides what follows the end of a connection (R-W10):

* count a failure or not (R-T5); the count resets on a stream's first message (R-F3);
* replace the channel at once when the end proves the connection dead (a silent disconnect,
  a failed keepalive ping), or when the failure threshold is reached (R-C6): ``Hello`` on
  the old channel would go down the same dead TCP connection;
* otherwise wait a jittered backoff, never shorter than half its bound, whose attempt resets
  only after a healthy stream (messages, open for ``HEALTHY_STREAM_SECONDS``), so a sidecar
  that ends every stream at once cannot make the worker reconnect more than about once a
  second (R-B1 to R-B4, issue 11 item 5).

After each ``Hello`` it adopts what the sidecar advertises (our dialect): the health-ping
interval (the silent-disconnect window), and the client keepalive it accepts; when that
changes the channel's keepalive, the channel is replaced before the stream opens. Every wait
ends at once when :meth:`stop` is called (R-B5, R-S2); :meth:`drain` first tells a sidecar
that honours it that the worker is stopping, so its work in flight is not counted as lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
import grpc.aio
from google.protobuf import empty_pb2

from durabletask.grpc_options import (
    DRAIN_NOTICE_TIMEOUT_SECONDS,
    HEALTHY_STREAM_SECONDS,
    SAFE_KEEPALIVE,
    KeepalivePolicy,
    negotiated_keepalive,
)
from durabletask.internal.clock import SYSTEM_CLOCK, Clock, wait_first
from durabletask.internal.dialect import WORKER_ID_KEY, DrainNotice, SidecarTraits
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.transport import observe
from durabletask.internal.transport.backoff import floored_jitter_delay
from durabletask.internal.transport.completion_stream import CompletionStreamClient, stream_enabled
from durabletask.internal.transport.manager import AsyncChannelManager
from durabletask.internal.transport.stream import (
    Liveness,
    StreamGeneration,
    StreamOutcome,
    StreamPhase,
    StreamResult,
    StreamVerdict,
    WorkItemSink,
    WorkItemStreamConsumer,
    judge_stream_result,
    proves_connection_dead,
)

__all__ = ["Reconfigure", "StreamSupervisor", "SupervisorSettings"]

_logger = logging.getLogger("durabletask.worker.stream")

Reconfigure = Callable[[KeepalivePolicy], bool]
"""Sets the keepalive of the channels the worker opens next; True when that changed it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorSettings:
    """The worker's connection settings (from ``GrpcWorkerResiliencyOptions``).

    Attributes:
        hello_timeout_seconds: Deadline of every ``Hello``.
        silent_disconnect_timeout_seconds: Longest gap between messages; 0 disables.
        backoff_base_seconds: Backoff base.
        backoff_cap_seconds: Backoff cap.
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
        worker_id: str | None = None,
        reconfigure: Reconfigure | None = None,
        rng: Callable[[], float] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """Prepare the supervisor; nothing runs until :meth:`run`.

        Args:
            manager: The worker's channel manager; its tracker counts connection failures.
            request: The ``GetWorkItems`` request.
            metadata: gRPC metadata for the connection calls.
            settings: Timeouts and backoff.
            sink: Receives each work item.
            worker_id: Sent with ``GetWorkItems`` (and a drain notice) so that our sidecar
                knows this worker's streams; None sends nothing.
            reconfigure: Changes the keepalive of the next channels (SDK-owned channels
                without a caller-set keepalive); None keeps the channel as it is.
            rng: Uniform [0, 1) source for the jitter; a per-worker ``Random`` by default.
            clock: Times the backoff, the streams' silence window and probes.
        """
        self._manager = manager
        self._request = request
        self._metadata = tuple(metadata or ())
        self._stream_metadata = self._metadata + (
            ((WORKER_ID_KEY, worker_id),) if worker_id else ())
        self._worker_id = worker_id
        self._settings = settings
        self._sink = sink
        self._reconfigure = reconfigure
        self._rng = rng or random.Random().random
        self._clock = clock
        self._stopping = asyncio.Event()
        self._consumer: WorkItemStreamConsumer | None = None
        self._streams = 0
        self.liveness = Liveness(settings.silent_disconnect_timeout_seconds)
        self._last_result: StreamResult | None = None
        self._connected_once = False
        self._outage = False
        self.state = "idle"
        self.counters = {"connections": 0, "reconnects": 0, "silent_disconnects": 0,
                         "graceful_drains": 0, "empty_drains": 0, "hello_failures": 0,
                         "stream_errors": 0, "streamed_completions": 0}

    async def run(self) -> None:
        """Connect, consume, back off and reconnect until :meth:`stop` is called."""
        attempt = 0
        while not self._stopping.is_set():
            result = await self._connect_once()
            if self._stopping.is_set():
                return
            self._last_result = result
            if result.first_message_observed and (
                    result.streamed_seconds >= HEALTHY_STREAM_SECONDS):
                attempt = 0  # R-B3, for a stream that proved healthy
            verdict = judge_stream_result(result)
            if verdict is StreamVerdict.AUTH_FAILED:
                self._manager.tracker.reset()
                attempt = 0
            if verdict is StreamVerdict.FAILURE and await self._recover(result):
                continue  # the new channel is tried at once (R-C6)
            await self._back_off(attempt)
            attempt += 1

    async def _connect_once(self) -> StreamResult:
        self.state = "connecting"
        self._streams += 1
        stream = StreamGeneration(self._streams)
        self.counters["connections"] += 1
        if self._streams > 1:
            self.counters["reconnects"] += 1
        consumer = self._new_consumer(stream)
        result = await consumer.hello()
        if result is None and self._adopt(consumer.traits) and not self._stopping.is_set():
            # The sidecar accepts another keepalive than our channel's: switch channels
            # now, while nothing is leased to this worker yet.
            if await self._manager.recreate_now(counted=False) is not None:
                consumer = self._new_consumer(stream)
                result = await consumer.hello()
        if result is None:
            self.state = "streaming"
            if consumer.traits.completion_stream and stream_enabled():
                stream.completions = CompletionStreamClient(
                    consumer.transport.channel, self._metadata, self.counters)
            result = await consumer.consume()
        stream.ended_abnormally = result.outcome is not StreamOutcome.GRACEFUL_DRAIN
        if stream.completions is not None:
            # A broken connection resends what is unacknowledged at once; a clean end
            # (drain, stop) flushes and waits for the acknowledgements first.
            stream.completions.retire(abort=result.outcome in (
                StreamOutcome.ERROR, StreamOutcome.SILENT_DISCONNECT))
        if result.outcome is not StreamOutcome.SHUTDOWN:
            self._record(result, consumer.transport.generation)
        return result

    def _new_consumer(self, stream: StreamGeneration) -> WorkItemStreamConsumer:
        consumer = WorkItemStreamConsumer(
            self._manager.current, self._request, metadata=self._metadata,
            stream_metadata=self._stream_metadata,
            hello_timeout_seconds=self._settings.hello_timeout_seconds,
            liveness=self.liveness, sink=self._sink, stream=stream,
            on_first_message=self._on_first_message, clock=self._clock,
        )
        self._consumer = consumer
        if self._stopping.is_set():
            consumer.cancel()
        return consumer

    def _on_first_message(self) -> None:
        # A stream that delivers is healthy now: report it at once (issue 11 item 4).
        manager = self._manager
        manager.tracker.reset()
        if not self._connected_once or self._outage:
            again = " again" if self._connected_once else ""
            _logger.info("Worker connected to the sidecar at %s%s", manager.target, again,
                         extra={"address": manager.target, "worker_id": self._worker_id})
        self._connected_once = True
        self._outage = False
        observe.emit("stream_first_message", manager.target, manager.owner,
                     manager.current.generation)

    def _adopt(self, traits: SidecarTraits) -> bool:
        """Take what the sidecar advertised; True when the channel must be replaced."""
        self.liveness.traits = traits
        if self._reconfigure is None:
            return False
        return self._reconfigure(negotiated_keepalive(traits.min_ping_interval_ms))

    async def _recover(self, result: StreamResult) -> bool:
        """Count a failure; replace the channel when it is proven dead or the count trips.

        Returns:
            True when a new channel was published (connect again at once).
        """
        manager = self._manager
        tripped = manager.tracker.record_failure()
        dead = proves_connection_dead(result) or self._keepalive_refused(result)
        if not (tripped or dead):
            return False
        self.state = "recreate"
        return await manager.recreate_now() is not None

    def _keepalive_refused(self, result: StreamResult) -> bool:
        if result.code != grpc.StatusCode.UNAVAILABLE or (
                "too many pings" not in result.details.lower()):
            return False
        manager = self._manager
        observe.emit(
            "keepalive_refused", manager.target, manager.owner, manager.current.generation,
            hint="the sidecar answered GOAWAY too_many_pings: the worker's keepalive pings "
            "are more frequent than it accepts; raise GrpcChannelOptions.keepalive_time_ms "
            "or leave it unset",
        )
        if self._reconfigure is not None:
            self._reconfigure(SAFE_KEEPALIVE)
        return True

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
        delay = floored_jitter_delay(
            attempt, settings.backoff_base_seconds, settings.backoff_cap_seconds, self._rng
        )
        self.state = "backoff"
        manager = self._manager
        self._report_outage(delay)
        observe.emit("reconnect_backoff", manager.target, manager.owner,
                     manager.current.generation, attempt=attempt, delay_s=round(delay, 3))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await wait_first(self._clock, stopping, delay)
        finally:
            stopping.cancel()

    def _report_outage(self, delay: float) -> None:
        """One WARNING per outage, naming the address and the next retry; then DEBUG."""
        result = self._last_result
        if result is None or result.outcome is not StreamOutcome.ERROR:
            return
        target = self._manager.target
        code = result.code.name if result.code is not None else "error"
        what = ("Cannot reach the sidecar at" if result.phase is StreamPhase.HELLO
                else "Lost the work-item stream from the sidecar at")
        level = logging.DEBUG if self._outage else logging.WARNING
        self._outage = True
        _logger.log(
            level, "%s %s (%s: %s); retrying in %.1fs%s", what, target, code,
            result.details or "no details", delay,
            "" if level == logging.DEBUG else " (logged once until it connects)",
            extra={"address": target, "code": code, "retry_in_s": round(delay, 3),
                   "worker_id": self._worker_id},
        )

    async def drain(self, grace_seconds: float) -> bool:
        """Stop reconnecting, and tell a sidecar that honours it that this worker stops.

        Such a sidecar sends nothing new, ends the stream after what it already sent (the
        consumer reads it to the end), and keeps this worker's leases valid for
        ``grace_seconds``: completions are accepted, abandons are not losses. Call on the
        loop, then :meth:`stop`.

        Returns:
            True when the sidecar took the notice.
        """
        self._stopping.set()
        self.state = "stopping"
        consumer = self._consumer
        if (consumer is None or not consumer.streaming or self._worker_id is None
                or not self.liveness.traits.drain):
            return False
        notice = DrainNotice(self._worker_id, grace_seconds)
        manager = self._manager
        try:
            await consumer.transport.stub.Hello(
                empty_pb2.Empty(), timeout=DRAIN_NOTICE_TIMEOUT_SECONDS,
                metadata=self._metadata + notice.to_metadata(),
            )
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, ValueError) as exc:
            _logger.info("The sidecar did not take the worker's drain notice (%r)", exc)
            return False
        observe.emit("drain_notice", manager.target, manager.owner,
                     consumer.transport.generation, grace_s=round(grace_seconds, 3))
        return True

    def stop(self) -> None:
        """Stop reconnecting and cancel the current connection; call on the loop."""
        self.state = "stopping"
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.cancel()
