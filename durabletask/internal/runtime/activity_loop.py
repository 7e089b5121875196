"""Where the worker runtime runs the coroutine an activity returns under a plain call.

The engine runs no event loop (``ActivityExecutor`` takes a ``run_coroutine``); the runtime
decides: a private loop in the calling thread (``asyncio.run``), which is a thread of the
worker's activity pool or the main thread of an isolated activity's child process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from durabletask.internal.engine.activity import ActivityExecutor
from durabletask.internal.engine.registry import Registry

__all__ = ["LoopActivityExecutor"]


class LoopActivityExecutor(ActivityExecutor):
    """An ``ActivityExecutor`` whose :meth:`execute` runs a coroutine with ``asyncio.run``."""

    def __init__(self, registry: Registry, **options: Any) -> None:
        """Take the engine executor's keyword options, except ``run_coroutine``."""
        super().__init__(registry, run_coroutine=asyncio.run, **options)
