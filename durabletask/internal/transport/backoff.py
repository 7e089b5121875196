"""Jittered exponential backoff (full, and floored at half); the random source is injected."""

from __future__ import annotations

import random
from collections.abc import Callable

# 2**30 seconds is far beyond any cap; clamping the exponent avoids OverflowError.
_MAX_EXPONENT = 30


def full_jitter_delay(
    attempt: int,
    base_seconds: float,
    cap_seconds: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Return ``U[0,1) * min(cap, base * 2**attempt)`` seconds.

    Args:
        attempt: Zero-based attempt number; the first retry after a healthy period is 0.
        base_seconds: Upper bound of the first delay.
        cap_seconds: Largest upper bound, whatever the attempt.
        rng: Source of uniform numbers in [0, 1).
    """
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    scale: int = 2**exponent  # an int power of two: typeshed types int ** int as Any
    return rng() * min(cap_seconds, base_seconds * scale)


def floored_jitter_delay(
    attempt: int,
    base_seconds: float,
    cap_seconds: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Return a delay drawn uniformly from ``[d/2, d)``, ``d = min(cap, base * 2**attempt)``.

    Unlike full jitter, the delay never falls near zero, so however a sidecar ends the
    worker's streams, reconnects stay spaced: with a 1 s base, at most four in any 5 s.

    Args:
        attempt: Zero-based attempt number; the first retry after a healthy period is 0.
        base_seconds: Upper bound of the first delay.
        cap_seconds: Largest upper bound, whatever the attempt.
        rng: Source of uniform numbers in [0, 1).
    """
    bound = full_jitter_delay(attempt, base_seconds, cap_seconds, lambda: 1.0)
    return bound / 2 + rng() * bound / 2
