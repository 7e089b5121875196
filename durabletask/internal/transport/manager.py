"""Channel managers: own or borrow a channel, recreate it safely, retire the old one.

A manager publishes the current :class:`ChannelGeneration` (generation, channel, stub,
lease) as one immutable object, so a call never mixes two generations (R-C3). For an
SDK-owned channel a recreation request (R-C1, R-C2, R-C5):

* never blocks the caller: it runs on its own thread (sync) or task (aio);
* is single flight: a request while one runs is dropped, not queued;
* honours a cooldown between attempts, back-dated so the first one is never blocked;
* builds the new channel from the original recipe with a new interceptor and lease, then
  re-checks ``closing`` before publishing, resets the failure count and retires the old
  generation, which closes once drained or at its linger bound (R-D1 to R-D3).

A caller-owned channel is never recreated nor closed (R-O1); ``recreate`` only builds a new
stub over it (what the worker needs, R-O2).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from durabletask.internal.transport import observe
from durabletask.internal.transport.failure_counter import FailureTracker
from durabletask.internal.transport.inflight import (
    ChannelLease,
    LeaseState,
    Scheduler,
    thread_scheduler,
)
from durabletask.internal.transport.interceptors import (
    AsyncResiliencyInterceptor,
    CallObserver,
    SyncResiliencyInterceptor,
)

__all__ = [
    "AsyncChannelManager", "ChannelGeneration", "ManagerPolicy", "SyncChannelManager",
]

_logger = logging.getLogger("durabletask.transport")

# close() waits this long for a recreation in progress; a later publish sees `closing`.
_RECREATE_JOIN_SECONDS = 2.0
_CLOSE_JOIN_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ChannelGeneration:
    """One channel generation as callers see it; never mutated (R-C3).

    Attributes:
        generation: 1 for the first channel, +1 per recreation.
        channel: The channel the stub calls through.
        stub: The ``TaskHubSidecarService`` stub over ``channel``.
        lease: The generation's in-flight lease.
    """

    generation: int
    channel: Any
    stub: Any
    lease: ChannelLease


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagerPolicy:
    """When to recreate and how long a retired channel may linger.

    Attributes:
        threshold: Consecutive failures that trigger a recreation; 0 disables it.
        cooldown_seconds: Minimum time between two recreation attempts.
        linger_seconds: Normal bound on a retired channel's drain.
        max_linger_seconds: Absolute ceiling on a retired channel's drain.
        default_call_timeout: Deadline added to unary calls without one; None = none.
        intercept: Whether to put the resiliency interceptor in front of the channel.
    """

    threshold: int
    cooldown_seconds: float
    linger_seconds: float
    max_linger_seconds: float
    default_call_timeout: float | None = None
    intercept: bool = True


class _ManagerCore:
    """What both managers share: the gate, generation numbers, retired set and stats."""

    def __init__(
        self,
        *,
        target: str,
        owner: str,
        owns_channel: bool,
        policy: ManagerPolicy,
        stub_factory: Callable[[Any], Any],
        clock: Callable[[], float],
    ) -> None:
        self.target = target
        self.owner = owner
        self.owns_channel = owns_channel
        self.policy = policy
        self.tracker = FailureTracker(policy.threshold)
        self._stub_factory = stub_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._closing = False
        self._recreating = False
        self._last_attempt = -math.inf  # back-dated: the first recreation is never blocked
        self._generation = 0
        self._retired: list[ChannelLease] = []
        self._current: ChannelGeneration | None = None
        self._counts = {"recreations": 0, "recreations_suppressed_cooldown": 0,
                        "reconfigurations": 0, "closed_channels": 0}

    @property
    def current(self) -> ChannelGeneration:
        """The transport new calls must use."""
        current = self._current
        assert current is not None, "the manager has no transport yet"
        return current

    @property
    def closing(self) -> bool:
        """True once :meth:`close` has started."""
        return self._closing

    def stats(self) -> dict[str, Any]:
        """Return a snapshot of the manager's counters (see docs/resiliency.md)."""
        with self._lock:
            retired_open = sum(1 for lease in self._retired if lease.state is not LeaseState.CLOSED)
            current = self._current
            return {
                **self._counts,
                "transport_failures": self.tracker.total_failures,
                "consecutive_failures": self.tracker.count,
                "retired_open": retired_open,
                "current_generation": current.generation if current is not None else 0,
                "owns_channel": self.owns_channel,
            }

    def _begin_recreate(self, *, cooldown: bool) -> bool:
        with self._lock:
            if self._closing or self._recreating:
                return False
            now = self._clock()
            if cooldown and now - self._last_attempt < self.policy.cooldown_seconds:
                self._counts["recreations_suppressed_cooldown"] += 1
                suppressed = True
            else:
                suppressed = False
                self._recreating = True
                self._last_attempt = now
            generation = self._current.generation if self._current is not None else 0
        if suppressed:
            observe.emit("recreate_suppressed", self.target, self.owner, generation,
                         reason="cooldown")
        return not suppressed

    def _next_generation(self) -> int:
        with self._lock:
            self._generation += 1
            return self._generation

    def _new_observer(self, lease: ChannelLease, on_trip: Callable[[], object]) -> CallObserver:
        return CallObserver(
            lease=lease, tracker=self.tracker, on_trip=on_trip,
            default_timeout=self.policy.default_call_timeout, target=self.target,
            owner=self.owner, clock=self._clock,
        )

    def _publish(self, new: ChannelGeneration, counted: bool = True) -> ChannelGeneration | None:
        """Swap in ``new``; returns the old transport, or None when closing (not published)."""
        with self._lock:
            self._recreating = False
            if self._closing:
                return None
            old, self._current = self._current, new
            if old is not None:
                self._counts["recreations" if counted else "reconfigurations"] += 1
                self._retired.append(old.lease)
                self._retired = [r for r in self._retired if r.state is not LeaseState.CLOSED]
        self.tracker.reset()
        return old

    def _end_failed_recreate(self) -> None:
        with self._lock:
            self._recreating = False

    def _build(self) -> ChannelGeneration:
        """Open the next generation: lease, interceptors, channel and stub."""
        generation = self._next_generation()
        cell: list[Any] = []
        close = (lambda: self._close_channel(cell[0], generation)) if self.owns_channel else None
        lease = ChannelLease(generation, close, scheduler=self._lease_scheduler,
                             clock=self._clock)
        channel = self._open_channel(self._interceptors_for(lease))
        cell.append(channel)
        return ChannelGeneration(generation, channel, self._stub_factory(channel), lease)

    def _swap(self, counted: bool = True) -> ChannelGeneration | None:
        """Build and publish a new generation, retiring the old; None if none was published.

        ``counted=False`` is a planned change of the channel's settings, not a recovery: it
        is reported as ``channel_reconfigured`` and not counted in ``recreations``.
        """
        try:
            new = self._build()
        except Exception as exc:
            self._end_failed_recreate()
            observe.emit("recreate_failed", self.target, self.owner, self.current.generation,
                         error=repr(exc))
            return None
        old = self._publish(new, counted)
        if old is None:
            new.lease.close_now()
            return None
        self._retire(old, counted)
        return new

    # What the sync and aio managers supply.
    _open_channel: Callable[[Sequence[Any]], Any]

    def _lease_scheduler(self, delay: float, callback: Callable[[], None]) -> Any:
        raise NotImplementedError

    def _interceptors_for(self, lease: ChannelLease) -> list[Any]:
        raise NotImplementedError

    def _close_channel(self, channel: Any, generation: int) -> None:
        raise NotImplementedError

    def _retire(self, old: ChannelGeneration, counted: bool = True) -> None:
        observe.emit("channel_recreated" if counted else "channel_reconfigured", self.target,
                     self.owner, old.generation + 1, previous_generation=old.generation,
                     in_flight=old.lease.in_flight)
        old.lease.retire(self.policy.linger_seconds, self.policy.max_linger_seconds)

    def _on_closed(self, generation: int) -> None:
        with self._lock:
            self._counts["closed_channels"] += 1
        observe.emit("channel_closed", self.target, self.owner, generation)

    def _leases_to_close(self) -> list[ChannelLease]:
        with self._lock:
            self._closing = True
            leases = list(self._retired)
            if self._current is not None:
                leases.append(self._current.lease)
            return leases


class SyncChannelManager(_ManagerCore):
    """Owns (or borrows) a sync channel; recreations run on a background thread."""

    def __init__(
        self,
        *,
        target: str,
        owner: str,
        policy: ManagerPolicy,
        stub_factory: Callable[[Any], Any],
        open_channel: Callable[[Sequence[Any]], Any],
        owns_channel: bool = True,
        scheduler: Scheduler = thread_scheduler,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open the first generation now (gRPC itself connects lazily).

        Args:
            target: The channel's target, for events and messages.
            owner: ``client`` or ``worker``, for events.
            policy: Recreation and linger settings.
            stub_factory: Builds a stub over a channel.
            open_channel: Returns a channel with the given interceptors first: a new one
                for an SDK-owned channel, the caller's (wrapped) otherwise.
            owns_channel: False for a caller-owned channel: never recreated or closed.
            scheduler: Arms linger timers.
            clock: Monotonic clock.
        """
        super().__init__(target=target, owner=owner, owns_channel=owns_channel,
                         policy=policy, stub_factory=stub_factory, clock=clock)
        self._open_channel = open_channel
        self._scheduler = scheduler
        self._thread: threading.Thread | None = None
        self._closers: set[threading.Thread] = set()
        self._current = self._build()
        observe.emit("channel_opened", target, owner, 1, owned=self.owns_channel)

    def _lease_scheduler(self, delay: float, callback: Callable[[], None]) -> Any:
        return self._scheduler(delay, callback)

    def _interceptors_for(self, lease: ChannelLease) -> list[Any]:
        if not self.policy.intercept:
            return []
        return [SyncResiliencyInterceptor(self._new_observer(lease, self.request_recreate))]

    def request_recreate(self) -> bool:
        """Ask for a recreation without blocking; returns True when one was started."""
        if not self.owns_channel or not self._begin_recreate(cooldown=True):
            return False
        thread = threading.Thread(target=self._swap, name="durabletask-channel-recreate",
                                  daemon=True)
        self._thread = thread
        thread.start()
        return True

    def recreate_now(self) -> ChannelGeneration | None:
        """Recreate on the calling thread, ignoring the cooldown (single flight still holds).

        Returns:
            The new transport, or None when none was published (closing, busy, failed).
        """
        if not self._begin_recreate(cooldown=False):
            return None
        return self._swap()

    def _close_channel(self, channel: Any, generation: int) -> None:
        # Closing from a gRPC done-callback thread could deadlock: close on our own thread.
        def run() -> None:
            try:
                channel.close()
            finally:
                self._on_closed(generation)

        thread = threading.Thread(target=run, name="durabletask-channel-close", daemon=True)
        with self._lock:
            self._closers = {t for t in self._closers if t.is_alive()}
            self._closers.add(thread)
        thread.start()

    def close(self) -> None:
        """Close every SDK-owned channel (current and retired) now. Idempotent.

        A recreation in progress is waited for (bounded); one that publishes later closes
        its own channel. A caller-owned channel is left open.
        """
        if self._closing:
            return
        leases = self._leases_to_close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_RECREATE_JOIN_SECONDS)
        for lease in leases:
            lease.close_now()
        with self._lock:
            closers = list(self._closers)
        for closer in closers:
            closer.join(_CLOSE_JOIN_SECONDS)


class AsyncChannelManager(_ManagerCore):
    """Owns (or borrows) a ``grpc.aio`` channel, bound to the event loop that created it."""

    def __init__(
        self,
        *,
        target: str,
        owner: str,
        policy: ManagerPolicy,
        stub_factory: Callable[[Any], Any],
        open_channel: Callable[[Sequence[Any]], Any],
        owns_channel: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open the first generation; call on the event loop that will use the channel.

        Args:
            target: The channel's target, for events and messages.
            owner: ``async_client`` or ``worker``, for events.
            policy: Recreation and linger settings.
            stub_factory: Builds a stub over a channel.
            open_channel: Returns a ``grpc.aio`` channel with the given interceptors first:
                a new one for an SDK-owned channel, the caller's otherwise (which cannot be
                intercepted after the fact, so no interceptor is passed then).
            owns_channel: False for a caller-owned channel: never recreated or closed.
            clock: Monotonic clock.
        """
        super().__init__(target=target, owner=owner, owns_channel=owns_channel,
                         policy=policy, stub_factory=stub_factory, clock=clock)
        self._loop = asyncio.get_running_loop()
        self._open_channel = open_channel
        # asyncio keeps only weak references to tasks: hold them until they finish.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._current = self._build()
        observe.emit("channel_opened", target, owner, 1, owned=self.owns_channel)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the channels belong to."""
        return self._loop

    def _lease_scheduler(self, delay: float, callback: Callable[[], None]) -> Any:
        return self._loop.call_later(delay, callback)

    def _interceptors_for(self, lease: ChannelLease) -> list[Any]:
        # A caller-owned aio channel cannot be intercepted after the fact.
        if not (self.policy.intercept and self.owns_channel):
            return []
        interceptor = AsyncResiliencyInterceptor(self._new_observer(lease, self.request_recreate))
        return interceptor.channel_interceptors()

    def _spawn(self, coro: Any) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def request_recreate(self) -> bool:
        """Ask for a recreation without blocking; call on the loop. True when started."""
        if not self.owns_channel or not self._begin_recreate(cooldown=True):
            return False
        self._spawn(self._swap_on_loop())
        return True

    async def recreate_now(self, *, counted: bool = True) -> ChannelGeneration | None:
        """Recreate now, ignoring the cooldown (single flight still holds).

        A caller-owned channel only gets a new stub and generation (the worker's R-O2).

        Args:
            counted: False for a planned change of settings rather than a recovery.

        Returns:
            The new transport, or None when none was published (closing, busy, failed).
        """
        if not self._begin_recreate(cooldown=False):
            return None
        return self._swap(counted)

    async def _swap_on_loop(self) -> None:
        # A task, so that request_recreate() returns before the new channel is built.
        self._swap()

    def _close_channel(self, channel: Any, generation: int) -> None:
        async def run() -> None:
            try:
                await channel.close()
            finally:
                self._on_closed(generation)

        def spawn() -> None:
            self._spawn(run())

        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(spawn)

    async def close(self) -> None:
        """Close every SDK-owned channel (current and retired). Idempotent."""
        if self._closing:
            return
        for lease in self._leases_to_close():
            lease.close_now()
        # Let the close tasks spawned above (and any recreation) run to the end.
        for _ in range(3):
            await asyncio.sleep(0)
            pending = [task for task in self._tasks if task is not asyncio.current_task()]
            if not pending:
                break
            await asyncio.wait(pending, timeout=_CLOSE_JOIN_SECONDS)
