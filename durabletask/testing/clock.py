"""``VirtualClock``: the time seam for tests; time moves when the test (or idleness) says so.

A :class:`VirtualClock` implements ``durabletask.internal.clock.Clock``. Pass it to the
parts under test (``EmbeddedSidecar(clock=...)``, ``TaskHubGrpcWorker(clock=...)``, the
clients, or an internal component's constructor); every timer, sleep and timestamp of those
parts then runs on it:

* ``rate=0`` (the default): time stands still until :meth:`VirtualClock.advance` (or the
  autojump) moves it; deterministic, for unit tests.
* ``rate=1``: time also flows with the real clock, and jumps add to it; for end-to-end tests
  where real work (activities, gRPC calls) takes real time.

With ``autojump_threshold`` set, the clock jumps to its next deadline whenever nothing has
touched it for that many real seconds (trio's autojump clock is the model: time jumps when
every waiter waits on the clock). The clock only sees its own timers: work it cannot see (a
thread, a gRPC call) must keep it busy some other way, which is what the time-skipping
environment (``durabletask.testing.TimeSkippingEnvironment``) adds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from durabletask.internal.clock import Cancellable

__all__ = ["AutoJumper", "VirtualClock"]

_logger = logging.getLogger("durabletask.testing")
_US = 1_000_000
_ONE_US = timedelta(microseconds=1)
# Rebuild the heap when cancelled entries outnumber live ones by this much.
_COMPACT_AT = 256


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Entry:
    """A timer of the clock; ``cancel()`` is its handle."""

    __slots__ = ("callback", "cancelled", "clock", "deadline", "loop", "mode")

    def __init__(self, clock: VirtualClock, deadline: int, callback: Callable[[], object],
                 mode: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.clock = clock
        self.deadline = deadline
        self.callback = callback
        self.mode = mode  # "loop": on ``loop``; "thread": a new thread; "inline": the firer's
        self.loop = loop
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the callback if it has not run yet."""
        if not self.cancelled:
            self.cancelled = True
            self.clock._cancelled()

    def run(self) -> None:
        try:
            if not self.cancelled:
                self.callback()
        except Exception:
            _logger.exception("a virtual clock callback failed")
        finally:
            self.clock._ran()


class VirtualClock:
    """A clock for tests: virtual UTC time, virtual monotonic time, virtual timers.

    Thread-safe: the sidecar's loop, a worker's loop and test threads may share one clock.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        rate: float = 0.0,
        autojump_threshold: float | None = None,
    ) -> None:
        """Create a clock reading ``start``.

        Args:
            start: The first value of :meth:`now` (aware; naive is taken as UTC); the real
                current time when None.
            rate: Virtual seconds per real second between jumps (0: frozen).
            autojump_threshold: Jump to the next deadline once nothing has touched the clock
                for this many real seconds; None: never jump by itself.

        Raises:
            ValueError: A negative rate or threshold.
        """
        if rate < 0 or (autojump_threshold is not None and autojump_threshold < 0):
            raise ValueError("rate and autojump_threshold must be >= 0")
        start = start or datetime.now(timezone.utc)
        self._start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        self._rate = rate
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._base = 0  # virtual microseconds since start, at real time ``_real_base``
        self._real_base = time.monotonic()
        self._heap: list[tuple[int, int, _Entry]] = []
        self._ids = itertools.count()
        self._cancelled_count = 0
        self._running = 0
        self._changes = 0
        self._closed = False
        self._ticker: threading.Thread | None = None
        if rate:
            # Fires what real time makes due; a jump only moves the base it counts from.
            self._ticker = threading.Thread(target=self._tick, name="virtual-clock-ticker",
                                            daemon=True)
            self._ticker.start()
        self._autojumper: AutoJumper | None = None
        if autojump_threshold is not None:
            self._autojumper = AutoJumper(self, threshold=autojump_threshold)
            self._autojumper.start()

    # ----- reading the time ----------------------------------------------------------------

    def _now_us(self) -> int:
        if not self._rate:
            return self._base
        return self._base + int((time.monotonic() - self._real_base) * self._rate * _US)

    def now(self) -> datetime:
        """The virtual UTC time."""
        with self._lock:
            return self._start + timedelta(microseconds=self._now_us())

    def monotonic(self) -> float:
        """Virtual seconds since the clock was created."""
        with self._lock:
            return self._now_us() / _US

    # ----- timers ---------------------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Run ``callback`` on the running loop once ``delay`` virtual seconds have passed."""
        return self._register(delay, callback, "loop", asyncio.get_running_loop())

    def start_timer(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Run ``callback`` on a new thread once ``delay`` virtual seconds have passed."""
        return self._register(delay, callback, "thread")

    async def sleep(self, delay: float) -> None:
        """Return once ``delay`` virtual seconds have passed."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        handle = self.call_later(delay, lambda: _resolve(woken))
        try:
            await woken
        finally:
            handle.cancel()

    def sleep_blocking(self, delay: float) -> None:
        """Block until ``delay`` virtual seconds have passed.

        With ``rate=0`` someone (the test, or the autojump) must move the clock.
        """
        woken = threading.Event()
        self._register(delay, woken.set, "inline")
        woken.wait()

    def _register(self, delay: float, callback: Callable[[], object], mode: str,
                  loop: asyncio.AbstractEventLoop | None = None) -> _Entry:
        with self._lock:
            now = self._now_us()
            entry = _Entry(self, now + max(0, round(delay * _US)), callback, mode, loop)
            heapq.heappush(self._heap, (entry.deadline, next(self._ids), entry))
            self._touch()
            due = entry.deadline <= now
        if due:
            self._fire_due()
        return entry

    def _touch(self) -> None:
        self._changes += 1
        self._changed.notify_all()

    def _cancelled(self) -> None:
        with self._lock:
            self._cancelled_count += 1
            if self._cancelled_count > _COMPACT_AT and self._cancelled_count > len(self._heap) // 2:
                self._heap = [item for item in self._heap if not item[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled_count = 0
            self._touch()

    def _ran(self) -> None:
        with self._lock:
            self._running -= 1
            self._touch()

    def _fire_due(self) -> None:
        """Run every entry whose deadline has passed (each on its loop or thread)."""
        with self._lock:
            now = self._now_us()
            due: list[_Entry] = []
            while self._heap and self._heap[0][0] <= now:
                entry = heapq.heappop(self._heap)[2]
                if not entry.cancelled:
                    due.append(entry)
            self._running += len(due)
            if due:
                self._touch()
        for entry in due:
            self._dispatch(entry)

    def _dispatch(self, entry: _Entry) -> None:
        if entry.mode == "inline":
            entry.run()
        elif entry.mode == "thread":
            threading.Thread(target=entry.run, name="virtual-clock-timer", daemon=True).start()
        else:
            assert entry.loop is not None
            try:
                entry.loop.call_soon_threadsafe(entry.run)
            except RuntimeError:  # the loop is closed: nothing will run there any more
                self._ran()

    # ----- moving the time --------------------------------------------------------------------

    def advance(self, seconds: float | timedelta) -> None:
        """Move the time forward and run every timer that became due, in deadline order.

        Args:
            seconds: How far (seconds or a timedelta); must not be negative.

        Raises:
            ValueError: A negative amount.
        """
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise ValueError(f"the clock cannot go back (advance({seconds!r}))")
        with self._lock:
            self._rebase(self._now_us() + delta // _ONE_US)
        self._fire_due()

    def advance_to(self, moment: datetime) -> None:
        """Move the time forward to ``moment`` (no-op if it has passed); run what is due."""
        with self._lock:
            target = (moment - self._start) // _ONE_US
            if target <= self._now_us():
                return
            self._rebase(target)
        self._fire_due()

    def _rebase(self, virtual_us: int) -> None:
        self._base = virtual_us
        self._real_base = time.monotonic()
        self._touch()

    def next_deadline(self) -> datetime | None:
        """When the earliest pending timer or sleep is due (on :meth:`now`'s scale), or None."""
        with self._lock:
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            if not self._heap:
                return None
            return self._start + timedelta(microseconds=self._heap[0][0])

    @property
    def pending_callbacks(self) -> int:
        """Timers that fired and whose callbacks have not finished yet."""
        with self._lock:
            return self._running

    def wait_quiet(
        self,
        seconds: float,
        *,
        stop: threading.Event | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Block until the clock is quiet.

        Quiet: nothing touched the clock (a timer set, cancelled or fired, a jump) for
        ``seconds`` of real time, and no fired callback is still running.

        Args:
            seconds: Real seconds of quiet to wait for.
            stop: Give up when this is set.
            timeout: Give up after this many real seconds.

        Returns:
            True once quiet; False when given up.
        """
        give_up = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not (stop is not None and stop.is_set()):
                seen = self._changes
                self._changed.wait(seconds)
                if self._changes == seen and not self._running:
                    return True
                if give_up is not None and time.monotonic() > give_up:
                    return False
        return False

    def _tick(self) -> None:
        with self._lock:
            while not self._closed:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                wait = None
                if self._heap:
                    wait = max(self._heap[0][0] - self._now_us(), 0) / _US / self._rate
                if wait is None or wait > 0:
                    self._changed.wait(wait)
                    continue
                self._lock.release()
                try:
                    self._fire_due()
                finally:
                    self._lock.acquire()

    def close(self) -> None:
        """Stop the autojump and the real-time ticker; the clock still moves by hand."""
        jumper, self._autojumper = self._autojumper, None
        if jumper is not None:
            jumper.stop()
        with self._lock:
            self._closed = True
            self._changed.notify_all()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now().isoformat()}, rate={self._rate})"


class AutoJumper:
    """Jumps a :class:`VirtualClock` to its next deadline whenever it is quiet.

    Quiet: nothing touched the clock for ``threshold`` real seconds and no fired callback
    is still running. This is all the clock can see; parts that do work off the clock
    (threads, gRPC calls) need a richer idle condition, as the time-skipping environment has.
    """

    def __init__(self, clock: VirtualClock, *, threshold: float) -> None:
        """Prepare (but do not start) the jumper.

        Args:
            clock: The clock to move.
            threshold: Real seconds of quiet before a jump.
        """
        self._clock = clock
        self._threshold = threshold
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="virtual-clock-autojump",
                                        daemon=True)
        self.jumps = 0
        """How many jumps it made."""

    def start(self) -> None:
        """Start jumping in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop jumping and join the thread (bounded)."""
        self._stop.set()
        with self._clock._changed:
            self._clock._changed.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        clock = self._clock
        while clock.wait_quiet(self._threshold, stop=self._stop):
            target = clock.next_deadline()
            if target is not None and target > clock.now():
                clock.advance_to(target)
                self.jumps += 1
