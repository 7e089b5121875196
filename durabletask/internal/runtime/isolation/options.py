"""Options of process-isolated activities, and the check that a function can cross processes."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ISOLATION_MODES = ("thread", "process")


@dataclass(frozen=True)
class ProcessIsolationOptions:
    """How the worker's pool of activity processes behaves (docs/activities.md).

    Attributes:
        max_processes: Child processes running activities at once (default
            ``os.cpu_count()``); more process-isolated activities wait for a free child.
        max_tasks_per_child: A child is replaced after this many activities (None: never).
        max_memory_mb: A child whose resident memory is above this many MiB after an
            activity (a leak, a cache that grew) is replaced (None: never).
        activity_timeout_seconds: An activity still running after this long has its child
            killed and fails with a ``TimeoutError`` (None: no limit). It counts from the
            moment the function starts: a child's spawn and imports are not included (they
            are bounded on their own, by 120 s).
    """

    max_processes: int | None = None
    max_tasks_per_child: int | None = None
    max_memory_mb: float | None = None
    activity_timeout_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_processes is None:
            object.__setattr__(self, "max_processes", os.cpu_count() or 1)
        for name in ("max_processes", "max_tasks_per_child", "max_memory_mb",
                     "activity_timeout_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"ProcessIsolationOptions.{name} must be > 0, got {value}")


@dataclass(frozen=True)
class FunctionRef:
    """Where a child process imports an activity function from."""

    module: str
    qualname: str


def check_isolation(isolation: str) -> str:
    """Return ``isolation`` if it is a known mode.

    Raises:
        ValueError: It is neither ``"thread"`` nor ``"process"``.
    """
    if isolation not in ISOLATION_MODES:
        raise ValueError(f"isolation must be 'thread' or 'process', got {isolation!r}")
    return isolation


def function_ref(fn: Callable[..., Any]) -> FunctionRef:
    """Return how a spawned child imports ``fn``, checking that it resolves to ``fn``.

    Raises:
        TypeError: ``fn`` has no module-level name a child process can import (a lambda,
            a nested function, a bound method, a callable object, or a function defined
            in an interactive ``__main__``).
    """
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        raise TypeError(
            f"{fn!r} cannot run in a child process: process isolation imports the activity "
            "by module and name, so define it with 'def' at the top level of a module"
        )
    if module == "__main__" and not getattr(sys.modules.get("__main__"), "__file__", None):
        raise TypeError(
            f"{qualname} is defined in an interactive __main__, which a child process cannot "
            "import: move it into a module file"
        )
    if _resolve(module, qualname) is not fn:
        raise TypeError(
            f"{module}.{qualname} does not name the function that was registered (is it "
            "decorated or rebound?): register the module-level function a child can import"
        )
    return FunctionRef(module, qualname)


def resolve(ref: FunctionRef) -> Callable[..., Any]:
    """Import the function ``ref`` names (in the child)."""
    return _resolve(ref.module, ref.qualname)


def _resolve(module: str, qualname: str) -> Any:
    target: Any = sys.modules.get(module) or importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target
