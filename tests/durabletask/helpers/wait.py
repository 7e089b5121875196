"""Bounded polling helpers: tests wait for conditions, never for fixed times."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    probe: Callable[[], T | None],
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    message: str = "condition",
) -> T:
    """Call ``probe`` until it returns a truthy value or ``timeout`` passes.

    Returns the first truthy value; raises ``AssertionError`` naming
    ``message`` when the deadline passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


async def async_poll_until(
    probe: Callable[[], Awaitable[T | None] | T | None],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - same signature as poll_until
    interval: float = 0.01,
    message: str = "condition",
) -> T:
    """Async twin of :func:`poll_until`; ``probe`` may be a plain function or a coroutine."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)
