"""Which client calls are safe to send again after ``UNAVAILABLE``, and when (sans-I/O).

Only calls whose repetition cannot change anything are retried, with full-jitter backoff
and always inside the caller's own deadline:

* **Long polls** (``WaitForInstanceStart``/``WaitForInstanceCompletion``) are reads whose
  deadline is the caller's wait time. They are retried (after ``UNAVAILABLE``, and after
  ``CANCELLED``, which is how a stopping sidecar ends them) until that deadline, so a sidecar
  restart during a wait ends in the right state or in ``TimeoutError`` at the deadline,
  never in an early ``UNAVAILABLE``.
* **Reads** (``GetInstance``, ``QueryInstances``, ``ListInstanceIds``, ``GetEntity``,
  ``QueryEntities``, ``StreamInstanceHistory``) are retried a few times
  (:data:`READ_MAX_ATTEMPTS`), so a blip is hidden but a dead sidecar is reported quickly.

Everything else mutates state and is **not** retried: ``UNAVAILABLE`` does not prove the
sidecar did not act on the request. ``StartInstance`` with an explicit id would then fail
with "already exists" (or, under a reuse policy, start the instance twice); ``RaiseEvent``
and ``SignalEntity`` would deliver twice; ``TerminateInstance``, ``Suspend``/``Resume``,
``Purge``, ``Rewind``, ``Restart`` and ``CleanEntityStorage`` would report an error or a
different result for work that already happened. Those errors reach the caller, who knows
whether a repeat is harmless.

A call that never left the process (the channel had just been retired and closed) is resent
on the new channel whatever its method; that is decided by the client shell, not here.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import grpc

from durabletask.internal.transport.backoff import full_jitter_delay
from durabletask.internal.transport.classify import is_long_poll, normalize_method

__all__ = [
    "READ_MAX_ATTEMPTS",
    "RETRY_BASE_SECONDS",
    "RETRY_CAP_SECONDS",
    "RetryPlan",
    "SAFE_READ_METHODS",
]

SAFE_READ_METHODS = frozenset(
    normalize_method(name)
    for name in (
        "GetInstance",
        "QueryInstances",
        "ListInstanceIds",
        "GetEntity",
        "QueryEntities",
        "StreamInstanceHistory",
    )
)
"""Reads that are retried on ``UNAVAILABLE`` (up to :data:`READ_MAX_ATTEMPTS` attempts)."""

READ_MAX_ATTEMPTS = 3
"""Attempts of a read, the first included: enough to ride out a channel reconnect."""

RETRY_BASE_SECONDS = 0.1
"""Upper bound of the first retry delay (full jitter)."""

RETRY_CAP_SECONDS = 1.0
"""Largest upper bound of a retry delay; keeps long polls responsive after a restart."""

# Time left below which another attempt is pointless.
_MIN_ATTEMPT_SECONDS = 0.01


class RetryPlan:
    """The retry state of one logical client call: attempts made, deadline, next delay."""

    def __init__(
        self,
        method: str,
        timeout: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        """Start the plan when the call is first sent.

        Args:
            method: The RPC, bare name or full path.
            timeout: The caller's overall timeout in seconds, or None.
            clock: Monotonic clock.
            rng: Uniform [0, 1) source for the jitter.
        """
        self.method = normalize_method(method)
        self._clock = clock
        self._rng = rng
        self._deadline = math.inf if timeout is None else clock() + timeout
        self._long_poll = is_long_poll(self.method)
        self._max_attempts = (
            math.inf if self._long_poll
            else READ_MAX_ATTEMPTS if self.method in SAFE_READ_METHODS else 1
        )
        self.attempts = 0

    @property
    def deadline_passed(self) -> bool:
        """True once the caller's deadline has passed."""
        return self._clock() >= self._deadline - _MIN_ATTEMPT_SECONDS

    def attempt_timeout(self) -> float | None:
        """Count one attempt and return its timeout: the time left before the deadline."""
        self.attempts += 1
        if self._deadline == math.inf:
            return None
        return max(self._deadline - self._clock(), _MIN_ATTEMPT_SECONDS)

    def resent(self) -> None:
        """Uncount the last attempt: it never left the process (its channel was closed)."""
        self.attempts = max(self.attempts - 1, 0)

    def _is_retryable(self, code: grpc.StatusCode | None) -> bool:
        if code == grpc.StatusCode.UNAVAILABLE:
            return True
        # A sidecar that shuts down cancels the long polls it holds; the client never
        # cancels its own (a cancelled caller sees CancelledError, not this status), so
        # for a read that waits the right answer is to ask the restarted sidecar again.
        return self._long_poll and code == grpc.StatusCode.CANCELLED

    def retry_delay(self, code: grpc.StatusCode | None) -> float | None:
        """Return how long to wait before the next attempt, or None to give up.

        For a long poll the delay is cut to the time left, so the last wait ends at the
        deadline (the caller then raises ``TimeoutError``).

        Args:
            code: The status of the attempt that just failed.
        """
        if not self._is_retryable(code) or self.attempts >= self._max_attempts:
            return None
        remaining = self._deadline - self._clock()
        if remaining <= _MIN_ATTEMPT_SECONDS:
            return None
        delay = full_jitter_delay(self.attempts - 1, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS,
                                  self._rng)
        if delay >= remaining:
            return remaining if self._long_poll else None
        return delay
