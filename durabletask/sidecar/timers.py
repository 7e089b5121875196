"""``TimerScheduler``: one asyncio task that runs callbacks at wall-clock due times."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable
from datetime import datetime

from durabletask.sidecar.clock import Clock, system_clock

logger = logging.getLogger("durabletask.sidecar")


class TimerScheduler:
    """Runs callbacks when their due time passes, from a single sleeping task.

    The task sleeps until the earliest due time and is woken early when an
    earlier entry is added; there is never a task or thread per timer.
    Callbacks run on the loop and must not block.
    """

    def __init__(self, clock: Clock = system_clock) -> None:
        """Create a stopped scheduler.

        Args:
            clock: Source of the current wall-clock time.
        """
        self._clock = clock
        self._heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the scheduler task on the running loop; safe to call twice."""
        if self._task is None:
            self._changed = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the scheduler and drop pending entries; safe to call twice."""
        task, self._task = self._task, None
        self._heap.clear()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def __len__(self) -> int:
        """Number of pending entries."""
        return len(self._heap)

    def schedule(self, due: datetime, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop once ``due`` has passed.

        Args:
            due: Timezone-aware due time.
            callback: A non-blocking function.
        """
        entry = (due, next(self._counter), callback)
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry and self._changed is not None:
            self._changed.set()

    async def _run(self) -> None:
        assert self._changed is not None  # set by start()
        while True:
            self._fire_due()
            timeout = None
            if self._heap:
                timeout = max(0.0, (self._heap[0][0] - self._clock()).total_seconds())
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _fire_due(self) -> None:
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:
                logger.exception("sidecar timer callback failed")
