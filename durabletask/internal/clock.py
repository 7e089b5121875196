"""The one time seam: now, monotonic time, sleeps and timers, for every part that waits.

Every part of the SDK and of the embedded sidecar that reads the time or waits for it takes a
:class:`Clock` in its constructor (the sidecar's durable timers, leases, delayed signals,
fan-in windows, group-commit spacing and health pings; the worker's reconnect backoff,
silent-disconnect window, liveness probes and completion retries; the clients' retry waits).
The default is :data:`SYSTEM_CLOCK`; tests pass ``durabletask.testing.VirtualClock``.

What stays on the real clock on purpose: gRPC deadlines (a deadline is enforced by gRPC
itself, in real time), the sidecar's long-poll waits, which are bounded by them, and the
channel managers' linger and recreation cooldown, which follow the calls in flight (their
own ``clock``/``scheduler`` parameters still let a test drive them).

Standard library only: the sidecar imports this module as it imports the protos.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

__all__ = ["SYSTEM_CLOCK", "Cancellable", "Clock", "SystemClock", "wait_first"]


class Cancellable(Protocol):
    """A scheduled callback that can be cancelled (``asyncio.TimerHandle``, ``threading.Timer``)."""

    def cancel(self) -> object:
        """Prevent the callback from running if it has not run yet."""
        ...


class Clock(Protocol):
    """The time source and timer service a component waits on."""

    def now(self) -> datetime:
        """The current time as a timezone-aware UTC datetime (instance timestamps, due times)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (durations, deadlines, backoffs)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Run ``callback`` on the running event loop ``delay`` seconds from now.

        Call it on the loop that should run the callback.
        """
        ...

    def start_timer(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Run ``callback`` on a timer thread ``delay`` seconds from now (from any thread)."""
        ...

    async def sleep(self, delay: float) -> None:
        """Return after ``delay`` seconds (asyncio)."""
        ...

    def sleep_blocking(self, delay: float) -> None:
        """Block the calling thread for ``delay`` seconds."""
        ...


class SystemClock:
    """The real clock: the system's UTC time, ``time.monotonic`` and the loop's timers."""

    def now(self) -> datetime:
        """Return the system's current UTC time."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Return the system's monotonic time (``time.monotonic``)."""
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Schedule ``callback`` with the running loop's ``call_later``."""
        return asyncio.get_running_loop().call_later(delay, callback)

    def start_timer(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Start a daemon ``threading.Timer``."""
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()
        return timer

    async def sleep(self, delay: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(delay)

    def sleep_blocking(self, delay: float) -> None:
        """``time.sleep``."""
        time.sleep(delay)

    def __repr__(self) -> str:
        return "SYSTEM_CLOCK"


SYSTEM_CLOCK: Clock = SystemClock()
"""The default clock of every component."""


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def wait_first(clock: Clock, future: asyncio.Future[Any], seconds: float | None) -> bool:
    """Wait until ``future`` is done or ``seconds`` pass on ``clock``.

    The future is neither cancelled nor consumed: the caller reads or cancels it.

    Args:
        clock: The clock the time limit runs on.
        future: What to wait for.
        seconds: The time limit; None waits for the future alone.

    Returns:
        True if the future is done.
    """
    if seconds is None:
        await asyncio.wait({future})
        return True
    timed_out: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handle = clock.call_later(seconds, lambda: _resolve(timed_out))
    try:
        await asyncio.wait({future, timed_out}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        handle.cancel()
        timed_out.cancel()
    return future.done()
