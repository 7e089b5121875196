"""``FailureTracker``: a thread-safe consecutive transport-failure counter with a threshold."""

from __future__ import annotations

import threading

from durabletask.internal.transport.classify import Outcome

__all__ = ["FailureTracker"]


class FailureTracker:
    """Counts consecutive transport failures and says when the threshold is reached.

    The increment-and-compare and the reset are atomic with respect to each other, because
    a sync client is called from many threads at once (R-F2). ``threshold == 0`` disables
    counting altogether.
    """

    def __init__(self, threshold: int) -> None:
        """Create a tracker.

        Args:
            threshold: Consecutive failures that trip it; 0 disables it.

        Raises:
            ValueError: ``threshold`` is negative.
        """
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0 (0 disables), got {threshold}")
        self._threshold = threshold
        self._lock = threading.Lock()
        self._count = 0
        self._total = 0

    @property
    def threshold(self) -> int:
        """The number of consecutive failures that trips the tracker (0 = disabled)."""
        return self._threshold

    @property
    def count(self) -> int:
        """Consecutive failures since the last reset."""
        return self._count

    @property
    def total_failures(self) -> int:
        """Transport failures recorded over the tracker's life (never reset)."""
        return self._total

    def record(self, outcome: Outcome) -> bool:
        """Apply one outcome; return True when the threshold is reached (or still exceeded).

        A request turned away by a cooldown leaves the count at or above the threshold, so
        the next failure after the cooldown trips again at once.

        Args:
            outcome: The classified outcome of one call or connection cycle.

        Returns:
            True when a recreation should be requested.
        """
        if outcome is Outcome.NEUTRAL:
            return False
        with self._lock:
            if outcome is not Outcome.TRANSPORT:
                self._count = 0
                return False
            self._total += 1
            if self._threshold == 0:
                return False
            self._count += 1
            return self._count >= self._threshold

    def record_failure(self) -> bool:
        """Record one transport failure; same as ``record(Outcome.TRANSPORT)``."""
        return self.record(Outcome.TRANSPORT)

    def reset(self) -> None:
        """Set the consecutive count back to 0 (after a success or a recreation)."""
        with self._lock:
            self._count = 0
