"""The worker's completion stream: ``Complete*`` calls as messages on one stream per connection.

Our sidecar advertises the ``CompletionStream`` extension (dialect.py); the supervisor then
gives each work-item stream generation a :class:`CompletionStreamClient` over the same
channel generation (so the resiliency interceptor counts it in flight and a retired channel
drains it). :meth:`CompletionStreamClient.rpc` returns a callable shaped like the unary stub
method it replaces: it resolves when the sidecar acknowledges, and raises
``grpc.aio.AioRpcError`` with the status the unary call would have had, so the caller's
retry and drop rules stay those of the standard path.

Acknowledgements pace the writes (no timer): a completion is written at once when none is
unacknowledged on the wire (a lone completion is never held); otherwise it waits for the next
acknowledgement message, or for the unacknowledged ones to expire, and all that waited go out
together in one message. Under load (fan-out) completions so share messages, and the
sidecar's acknowledgements, which follow its messages, share theirs.
When the stream breaks, every completion sent but not acknowledged is resent as its unary
call on the same channel generation (a duplicate of an applied completion is a stale token,
which the sidecar accepts and ignores), and the rest of the generation uses unary calls.
When the work-item stream ends cleanly, the client stops taking completions, flushes and
waits for the acknowledgements of those it holds, then half-closes the stream.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import grpc.aio

from durabletask.internal.proto import durabletask_extensions_pb2 as ext
from durabletask.internal.proto import durabletask_extensions_pb2_grpc as ext_grpc

__all__ = ["OPT_OUT_ENV", "CompletionStreamClient", "stream_enabled"]

_logger = logging.getLogger("durabletask.worker.stream")

OPT_OUT_ENV = "DURABLETASK_COMPLETION_STREAM"
"""Set to ``0`` (or ``false``/``off``) to force the standard unary completion calls."""

# The Completion field that carries each unary RPC's request.
_FIELDS = {
    "CompleteOrchestratorTask": "orchestrator",
    "CompleteActivityTask": "activity",
    "CompleteEntityTask": "entity",
}
_CODES = {code.value[0]: code for code in grpc.StatusCode}
# Only our dialect's keys travel per completion; the call's own metadata carries the rest.
_DIALECT_PREFIX = "durabletask-"

CompletionRpc = Callable[..., Awaitable[Any]]


def stream_enabled() -> bool:
    """False when the environment opts out of the completion stream."""
    return os.environ.get(OPT_OUT_ENV, "1").strip().lower() not in ("0", "false", "off", "no")


class _Resend:
    """Resolves a pending completion whose stream broke: send it as a unary call."""


_RESEND = _Resend()


class CompletionStreamClient:
    """One completion stream, opened on first use over one channel generation."""

    def __init__(self, channel: Any, metadata: Sequence[tuple[str, str]] | None,
                 counters: dict[str, int] | None = None) -> None:
        """Prepare the stream; nothing is sent until the first completion.

        Args:
            channel: The (intercepted) channel of the work-item stream's generation.
            metadata: gRPC metadata of the stream call (authorization, task hub).
            counters: Gets ``streamed_completions`` += 1 per completion put on the stream.
        """
        self._stub = ext_grpc.CompletionStreamStub(channel)
        self._metadata = tuple(metadata) if metadata else None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._outbox: list[ext.Completion] = []
        self._wake = asyncio.Event()
        self._call: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._accepting = True
        self._dead = False
        self._counters = counters if counters is not None else {}
        self._on_wire: set[int] = set()  # written, not acknowledged
        self._acked = False  # an acknowledgement message came in since the last write

    def rpc(self, name: str, unary: CompletionRpc) -> CompletionRpc:
        """Return a stand-in for the unary completion RPC ``name`` (same call shape)."""
        # The unary stub's call shape, ``timeout`` included (the caller's retry loop uses it).
        async def call(request: Any, *, timeout: float | None = None,  # noqa: ASYNC109
                       metadata: Sequence[tuple[str, str]] | None = None) -> None:
            if not self._accepting:
                await unary(request, timeout=timeout, metadata=metadata)
                return
            ack = await self._send(name, request, timeout, metadata)
            if ack is _RESEND:
                await unary(request, timeout=timeout, metadata=metadata)
            elif ack.code:
                raise _error(_CODES.get(ack.code, grpc.StatusCode.UNKNOWN), ack.message)

        return call

    async def _send(self, name: str, request: Any, seconds: float | None,
                    metadata: Sequence[tuple[str, str]] | None) -> Any:
        ident = next(self._ids)
        completion = ext.Completion(id=ident)
        getattr(completion, _FIELDS[name]).CopyFrom(request)
        for key, value in metadata or ():
            if key.startswith(_DIALECT_PREFIX):
                completion.metadata.add(key=key, value=value)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[ident] = future
        self._outbox.append(completion)
        self._counters["streamed_completions"] = self._counters.get("streamed_completions", 0) + 1
        self._ensure_open()
        if self._may_write():
            self._wake.set()
        # A timer rather than wait_for: no task per completion.
        timer = None if seconds is None else loop.call_later(seconds, _expire, future)
        try:
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            self._pending.pop(ident, None)
            self._on_wire.discard(ident)
            if (not self._accepting and not self._pending) or (self._outbox and not self._on_wire):
                self._wake.set()  # the last ones on the wire expired: what waits may go

    def _may_write(self) -> bool:
        """True when queued completions may be written now (acknowledgements pace writes)."""
        return not self._on_wire or self._acked

    def _ensure_open(self) -> None:
        if self._call is not None:
            return
        self._call = self._stub.Complete(metadata=self._metadata)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_all()), loop.create_task(self._read_all())]

    async def _write_all(self) -> None:
        call = self._call
        try:
            while not self._dead:
                await self._wake.wait()
                self._wake.clear()
                if self._outbox:
                    if not self._may_write():
                        continue  # the next acknowledgement message wakes the writer
                    self._acked = False
                    batch = ext.CompletionBatch(completions=self._outbox)
                    self._on_wire.update(completion.id for completion in self._outbox)
                    self._outbox = []
                    await call.write(batch)
                elif not self._accepting and not self._pending and not self._dead:
                    await call.done_writing()  # retired, every acknowledgement in
                    return
        except Exception as exc:  # noqa: BLE001 - any failed write breaks the stream
            self._broken(f"write failed: {exc!r}")

    async def _read_all(self) -> None:
        call = self._call
        reason = "ended by the sidecar"
        try:
            while True:
                batch = await call.read()
                if batch is grpc.aio.EOF:
                    break
                for ack in batch.acks:
                    self._on_wire.discard(ack.id)
                    pending = self._pending.get(ack.id)
                    if pending is not None and not pending.done():
                        pending.set_result(ack)
                self._acked = True
                if self._outbox:
                    self._wake.set()
        except grpc.aio.AioRpcError as exc:
            reason = f"{exc.code().name}: {exc.details()}"
        except asyncio.CancelledError:
            # The call was cancelled under us (its channel closed): the stream is gone.
            self._broken("cancelled")
            raise
        self._broken(reason)

    def _broken(self, reason: str) -> None:
        """Hand every unacknowledged completion back to its unary call; stop taking new ones."""
        self._accepting = False
        self._dead = True
        self._wake.set()  # the writer ends
        if self._pending:
            _logger.info("The completion stream ended (%s); resending %d completion(s) as "
                         "unary calls", reason, len(self._pending))
        for pending in list(self._pending.values()):
            if not pending.done():
                pending.set_result(_RESEND)
        self._outbox = []
        if self._call is not None:
            self._call.cancel()

    def retire(self, *, abort: bool) -> None:
        """Stop taking completions (the work-item stream ended).

        Args:
            abort: The connection is suspect: resend what is unacknowledged as unary calls
                now. Otherwise flush, wait for the acknowledgements, then half-close.
        """
        if abort:
            self._broken("the work-item stream ended abnormally")
            return
        self._accepting = False
        self._wake.set()


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(_error(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "Deadline Exceeded (no acknowledgement on the completion stream)"))


def _error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)
