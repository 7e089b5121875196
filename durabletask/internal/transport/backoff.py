"""Full-jitter exponential backoff; the random source is injected for tests."""

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
    return rng() * min(cap_seconds, base_seconds * (2**exponent))
