"""``TimerScheduler``: runs callbacks at wall-clock due times, from one clock timer."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from datetime import datetime

from durabletask.sidecar.clock import SYSTEM_CLOCK, Cancellable, Clock

logger = logging.getLogger("durabletask.sidecar")


class TimerEntry:
    """One scheduled callback; :meth:`cancel` drops it."""

    __slots__ = ("callback", "cancelled", "due")

    def __init__(self, due: datetime, callback: Callable[[], None]) -> None:
        """Hold a due time and its callback."""
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the callback (it is dropped when it comes up)."""
        self.cancelled = True


class TimerScheduler:
    """Runs callbacks when their due time passes.

    One clock timer is armed for the earliest entry and moved when an earlier one is added;
    there is never a task, thread or clock timer per entry. Callbacks run on the loop and
    must not block. The due times are the sidecar's durable time (durable timers, scheduled
    starts, delayed signals, redelivery backoffs, lease expiries), so :meth:`next_due` is
    what a time-skipping test environment jumps to.
    """

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        """Create a stopped scheduler.

        Args:
            clock: Source of the current time and of the timer that wakes the scheduler.
        """
        self._clock = clock
        self._heap: list[tuple[datetime, int, TimerEntry]] = []
        self._counter = itertools.count()
        self._handle: Cancellable | None = None
        self._armed_for: datetime | None = None
        self._running = False

    def start(self) -> None:
        """Start firing entries; call on the loop; safe to call twice."""
        if not self._running:
            self._running = True
            self._arm()

    async def close(self) -> None:
        """Stop and drop pending entries; safe to call twice."""
        self._running = False
        self._heap.clear()
        self._disarm()

    def __len__(self) -> int:
        """Number of pending entries (cancelled ones included until they come up)."""
        return len(self._heap)

    def schedule(self, due: datetime, callback: Callable[[], None]) -> TimerEntry:
        """Run ``callback`` on the loop once ``due`` has passed.

        Args:
            due: Timezone-aware due time.
            callback: A non-blocking function.

        Returns:
            The entry, whose ``cancel()`` drops it.
        """
        entry = TimerEntry(due, callback)
        heapq.heappush(self._heap, (due, next(self._counter), entry))
        if self._running and (self._armed_for is None or due < self._armed_for):
            self._arm()
        return entry

    def next_due(self) -> datetime | None:
        """The earliest due time of a pending (not cancelled) entry, or None."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    def _disarm(self) -> None:
        handle, self._handle, self._armed_for = self._handle, None, None
        if handle is not None:
            handle.cancel()

    def _arm(self) -> None:
        self._disarm()
        due = self.next_due()
        if due is None:
            return
        delay = max(0.0, (due - self._clock.now()).total_seconds())
        self._armed_for = due
        self._handle = self._clock.call_later(delay, self._on_due)

    def _on_due(self) -> None:
        self._handle = self._armed_for = None
        if not self._running:
            return
        self._fire_due()
        self._arm()

    def _fire_due(self) -> None:
        now = self._clock.now()
        while self._heap and self._heap[0][0] <= now:
            _, _, entry = heapq.heappop(self._heap)
            if entry.cancelled:
                continue
            try:
                entry.callback()
            except Exception:
                logger.exception("sidecar timer callback failed")
