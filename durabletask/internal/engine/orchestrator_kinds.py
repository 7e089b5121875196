"""Which callables can be orchestrators: generator functions, ``async def``, plain functions.

A generator orchestrator yields tasks; an ``async def`` orchestrator awaits them
(``Task.__await__`` yields the task to the runner), so the runner drives both the same
way. What can never run is refused here, at registration, with a message that says why.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["check_orchestrator", "not_a_task_message", "unrunnable_result_message"]

_SHAPES = (
    "write it as a generator function that yields tasks (x = yield ctx.call_activity(...)) "
    "or as an async def that awaits them (x = await ctx.call_activity(...))"
)


def _is_async_generator_function(fn: Any) -> bool:
    # The function itself, what a decorator wrapped (``__wrapped__``), or the ``__call__``
    # of a callable object.
    try:
        unwrapped = inspect.unwrap(fn)
    except ValueError:  # a __wrapped__ cycle: look at the function alone
        unwrapped = fn
    call = None
    if not inspect.isroutine(fn) and not isinstance(fn, type):
        call = inspect.getattr_static(type(fn), "__call__", None)
    return any(inspect.isasyncgenfunction(c) for c in (fn, unwrapped, call) if c is not None)


def check_orchestrator(fn: Callable[..., Any], name: str) -> None:
    """Refuse an orchestrator the runtime cannot run.

    Raises:
        TypeError: ``fn`` is not callable, or is an async generator function (``async def``
            with ``yield``), which has no return value and cannot be replayed.
    """
    if not callable(fn):
        raise TypeError(
            f"Orchestrator '{name}' must be a function, not {type(fn).__qualname__}; {_SHAPES}."
        )
    if _is_async_generator_function(fn):
        raise TypeError(
            f"Orchestrator '{name}' is an async generator function (async def with yield), "
            f"which the runtime cannot run; {_SHAPES}."
        )


def unrunnable_result_message(name: str, result: Any) -> str:
    """Explain why the object an orchestrator call returned cannot be run."""
    return (
        f"Orchestrator '{name}' returned {type(result).__qualname__}, which the runtime "
        f"cannot run; {_SHAPES}."
    )


def not_a_task_message(driver: Any, yielded: Any) -> str:
    """Explain a yielded (or awaited) value that is not a durable task."""
    if not inspect.iscoroutine(driver):
        return (
            f"The orchestrator yielded {type(yielded).__qualname__}; orchestrators must "
            "yield tasks made by the context, when_all or when_any."
        )
    what = "a bare yield (asyncio.sleep?)" if yielded is None else type(yielded).__qualname__
    return (
        f"The async orchestrator awaited {what}; an async def orchestrator may only await "
        "tasks made by the context, when_all or when_any. asyncio (sleep, gather, futures) "
        "and other event-loop awaitables are not durable and cannot be replayed: use "
        "ctx.create_timer and task.when_all instead."
    )
