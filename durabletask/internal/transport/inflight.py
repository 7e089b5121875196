"""Per-generation in-flight accounting: close a retired channel once drained, or at a bound.

A :class:`ChannelLease` belongs to one channel generation. Every call or work item that uses
the channel holds a token from it. When the channel is replaced the lease is *retired*: the
channel is closed as soon as no token is held any more, and at the latest when the linger
bound passes (R-D1 to R-D4). The bound is ``linger``, extended to one second past the
latest known deadline of the calls still in flight (calls without one do not shorten it),
and never beyond ``max_linger``.
"""

from __future__ import annotations

import enum
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "Cancellable",
    "ChannelLease",
    "LeaseClosedError",
    "LeaseState",
    "Scheduler",
    "thread_scheduler",
]

# Calls that end after their deadline still get this much time before the channel closes,
# so that the deadline, not our close, is what ends them.
_DEADLINE_GRACE_SECONDS = 1.0


class LeaseClosedError(RuntimeError):
    """A call was about to start on a channel generation that is already closed.

    Raised instead of letting the call reach the closed channel: grpcio's sync channel can
    crash the process when invoked after ``close()``. The client resends such a call on
    the current channel (it never left the process).
    """


class Cancellable(Protocol):
    """A scheduled callback that can be cancelled (``threading.Timer``, ``TimerHandle``)."""

    def cancel(self) -> None:
        """Cancel the callback if it has not run yet."""


Scheduler = Callable[[float, Callable[[], None]], Cancellable]
"""Runs a callback once after a delay in seconds, returning a handle to cancel it."""


def thread_scheduler(delay: float, callback: Callable[[], None]) -> Cancellable:
    """Run ``callback`` on a daemon timer thread after ``delay`` seconds.

    Args:
        delay: Seconds to wait.
        callback: What to run.

    Returns:
        The timer; ``cancel()`` stops it.
    """
    timer = threading.Timer(delay, callback)
    timer.name = "durabletask-channel-linger"
    timer.daemon = True
    timer.start()
    return timer


class LeaseState(enum.Enum):
    """Life cycle of a channel generation."""

    ACTIVE = "active"
    RETIRED = "retired"
    CLOSED = "closed"


class ChannelLease:
    """Counts what is in flight on one channel generation and closes it when it is safe."""

    def __init__(
        self,
        generation: int,
        close: Callable[[], None] | None,
        *,
        scheduler: Scheduler = thread_scheduler,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the lease of a new channel generation.

        Args:
            generation: The generation number (1 for the first channel).
            close: Closes the channel; called at most once. None for a channel the SDK
                does not own: the lease then only counts.
            scheduler: Arms the linger timer.
            clock: Monotonic clock, in seconds.
        """
        self.generation = generation
        self._close = close
        self._scheduler = scheduler
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[int, float] = {}
        self._ids = itertools.count(1)
        self._state = LeaseState.ACTIVE
        self._timer: Cancellable | None = None

    @property
    def state(self) -> LeaseState:
        """Whether the generation is active, retired (draining) or closed."""
        return self._state

    @property
    def in_flight(self) -> int:
        """Number of tokens currently held."""
        return len(self._tokens)

    def acquire(self, deadline: float | None = None) -> int:
        """Take a token for one call or work item; release it when that ends.

        Args:
            deadline: The call's absolute deadline on this lease's clock, if any; a retired
                channel stays open until one second past it (within ``max_linger``).

        Returns:
            The token to pass to :meth:`release`.

        Raises:
            LeaseClosedError: The channel is already closed; do not call it.
        """
        with self._lock:
            if self._state is LeaseState.CLOSED:
                raise LeaseClosedError(
                    f"channel generation {self.generation} is closed; use the current one"
                )
            token = next(self._ids)
            self._tokens[token] = math.inf if deadline is None else deadline
            return token

    def release(self, token: int) -> None:
        """Give a token back; idempotent. Closes a retired channel when the last one returns.

        Args:
            token: What :meth:`acquire` returned.
        """
        with self._lock:
            if self._tokens.pop(token, None) is None:
                return
            drained = self._state is LeaseState.RETIRED and not self._tokens
        if drained:
            self._close_once()

    def retire(self, linger: float, max_linger: float) -> None:
        """Mark the generation replaced; close now if idle, else when drained or at the bound.

        Args:
            linger: Normal bound in seconds on waiting for in-flight work.
            max_linger: Absolute ceiling in seconds, whatever the deadlines in flight.
        """
        with self._lock:
            if self._state is not LeaseState.ACTIVE:
                return
            self._state = LeaseState.RETIRED
            if self._tokens:
                wait = self._bound(linger, max_linger)
                self._timer = self._scheduler(wait, self._close_once)
                return
        self._close_once()

    def close_now(self) -> None:
        """Close the channel at once whatever is in flight (``close()``/``stop()``)."""
        with self._lock:
            if self._state is LeaseState.CLOSED:
                return
            self._state = LeaseState.RETIRED
        self._close_once()

    def _bound(self, linger: float, max_linger: float) -> float:
        # A call without a deadline (a history stream, a work item) does not cancel the
        # extension another in-flight call's later deadline asks for.
        known = [deadline for deadline in self._tokens.values() if deadline != math.inf]
        wait = linger
        if known:
            wait = max(linger, max(known) - self._clock() + _DEADLINE_GRACE_SECONDS)
        return min(max(wait, 0.0), max_linger)

    def _close_once(self) -> None:
        with self._lock:
            if self._state is LeaseState.CLOSED:
                return
            self._state = LeaseState.CLOSED
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if self._close is not None:
            self._close()
