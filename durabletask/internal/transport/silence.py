"""Watches one work-item stream for silence, with one timer per stream rather than per message.

A stream that stays silent past its limit (``Liveness``: the silent-disconnect window of a
sidecar known to ping, else the probe delay) is ended, or first probed with ``Hello`` when
the sidecar is not known to ping. The timer is armed once and, when it fires, re-armed for
what is left of the limit if a message came in meanwhile: a busy stream (a fan-out of
thousands of work items) costs no timer, future or task per message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from durabletask.internal.clock import Cancellable, Clock

__all__ = ["SilenceWatch", "ended_by"]


class SilenceWatch:
    """Decides when a stream has been silent too long; :attr:`found_dead` then says so."""

    def __init__(
        self,
        clock: Clock,
        limits: Callable[[], tuple[float | None, float | None]],
        probe: Callable[[], Awaitable[bool]],
        end: Callable[[], None],
    ) -> None:
        """Start watching (call on the stream's loop).

        Args:
            clock: The clock the limits run on.
            limits: ``(window, probe_after)`` now: silence that ends the stream, or silence
                after which the connection is probed; both None for no limit.
            probe: Probes the connection; True when it answered.
            end: Ends the stream (its pending read then fails); called once at most.
        """
        self._clock = clock
        self._limits = limits
        self._probe = probe
        self._end = end
        self._since = clock.monotonic()
        self._timer: Cancellable | None = None
        self._armed_for: float | None = None
        self._probing: asyncio.Task[None] | None = None
        self._stopped = False
        self.found_dead = False
        self._arm(self._limit(), self._limit())

    def heard(self) -> None:
        """A message came in: the silence starts again now."""
        self._since = self._clock.monotonic()
        limit = self._limit()
        if limit != self._armed_for:  # e.g. the first health ping armed the window
            self._arm(limit, limit)

    def stop(self) -> None:
        """The stream ended: no more timers or probes."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._probing is not None:
            self._probing.cancel()

    def _limit(self) -> float | None:
        window, probe_after = self._limits()
        return window or probe_after

    def _arm(self, limit: float | None, delay: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = limit
        self._timer = None if delay is None else self._clock.call_later(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        if self._stopped or self._probing is not None:
            return
        window, probe_after = self._limits()
        limit = window or probe_after
        silent = self._clock.monotonic() - self._since
        if limit is None or silent < limit:
            self._arm(limit, None if limit is None else limit - silent)
        elif window:
            self._dead()
        else:
            self._probing = asyncio.ensure_future(self._probe_then(self._since))

    async def _probe_then(self, since: float) -> None:
        alive = False
        with contextlib.suppress(Exception):
            alive = await self._probe()
        self._probing = None
        if self._stopped:
            return
        if not alive and self._since == since:  # nothing came in while probing
            self._dead()
            return
        self._since = self._clock.monotonic()  # answered: a full limit from now
        limit = self._limit()
        self._arm(limit, limit)

    def _dead(self) -> None:
        self.found_dead = True
        self._end()


def ended_by(watch: SilenceWatch, error: BaseException, cancel_requested: bool) -> bool:
    """True when ``error`` from the stream's read is the watch ending a silent stream."""
    if not watch.found_dead or cancel_requested:
        return False
    # A cancellation of the reading task itself must propagate, whatever the watch did
    # (Python >= 3.11 tells them apart; 3.10 has no Task.cancelling()).
    cancelling: Any = getattr(asyncio.current_task(), "cancelling", None)
    return not (isinstance(error, asyncio.CancelledError) and cancelling is not None
                and cancelling())
