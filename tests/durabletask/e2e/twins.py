"""Generator orchestrators and their ``async def`` twins, for scenarios run in both styles.

A twin is registered and scheduled under the generator's name, so a test body does not
change with the style: it asks the ``orch`` fixture (``conftest.py``) for the function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ASYNC_TWINS: dict[Callable[..., Any], Callable[..., Any]] = {}
"""Generator orchestrator -> its ``async def`` twin."""


def async_twin_of(generator: Callable[..., Any]) -> Callable[[F], F]:
    """Declare the decorated ``async def`` the twin of ``generator`` (and give it its name)."""

    def declare(twin: F) -> F:
        twin.__name__ = generator.__name__
        twin.__qualname__ = generator.__qualname__
        ASYNC_TWINS[generator] = twin
        return twin

    return declare


def in_style(style: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Return ``fn -> fn`` for ``generator``, ``fn -> its async twin`` for ``async``."""
    if style == "generator":
        return lambda fn: fn
    return lambda fn: ASYNC_TWINS[fn]
