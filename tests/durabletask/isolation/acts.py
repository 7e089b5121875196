"""Activities and orchestrators the isolation tests run; module level so children import them."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from durabletask import task


def whoami(ctx: task.ActivityContext, value: Any) -> dict[str, Any]:
    """Its input back, with the pid that ran it and the context it saw."""
    return {"pid": os.getpid(), "input": value, "instance": ctx.orchestration_id,
            "task_id": ctx.task_id}


async def whoami_async(ctx: task.ActivityContext, value: Any) -> dict[str, Any]:
    """``whoami`` as an ``async def`` activity."""
    await asyncio.sleep(0)
    return whoami(ctx, value)


def refuse(ctx: task.ActivityContext, message: str) -> None:
    """Fails with ``ValueError(message)``."""
    raise ValueError(message)


def spin(ctx: task.ActivityContext, seconds: float) -> int:
    """Busy CPU for ``seconds`` (holds the GIL when it runs in a thread)."""
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        count += 1
    return os.getpid()


def record_pid_then_sleep(ctx: task.ActivityContext, folder: str) -> int:
    """Write this pid to ``folder``; the first delivery sleeps 60 s, later ones return."""
    first = not any(Path(folder).iterdir())
    (Path(folder) / str(os.getpid())).write_text(str(ctx.task_id))
    if first:
        time.sleep(60)
    return os.getpid()


def die_once(ctx: task.ActivityContext, folder: str) -> int:
    """SIGKILL its own process on the first delivery, return its pid on the next."""
    marker = Path(folder) / "died"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def call(ctx: task.OrchestrationContext, spec: dict[str, Any]):
    """Calls activity ``spec["name"]`` with ``spec["input"]`` and returns its result."""
    result = yield ctx.call_activity(spec["name"], input=spec.get("input"))
    return result


def fan_out(ctx: task.OrchestrationContext, spec: dict[str, Any]):
    """Calls activity ``spec["name"]`` ``spec["count"]`` times in parallel.

    Each call gets ``spec["input"]``, or its index when there is none.
    """
    calls = [ctx.call_activity(spec["name"], input=spec.get("input", i))
             for i in range(spec["count"])]
    results = yield task.when_all(calls)
    return results


def record_pid_and_sleep(ctx: task.ActivityContext, folder: str) -> int:
    """Write this pid to ``folder`` and sleep 60 s."""
    (Path(folder) / str(os.getpid())).write_text(str(ctx.task_id))
    time.sleep(60)
    return os.getpid()


class Callable:
    """A callable object: not importable by module and name."""

    def __call__(self, ctx: task.ActivityContext, value: Any) -> Any:
        return value


def call_catching(ctx: task.OrchestrationContext, spec: dict[str, Any]):
    """Calls activity ``spec["name"]``; returns its failure details as it saw them."""
    try:
        yield ctx.call_activity(spec["name"], input=spec.get("input"))
    except task.TaskFailedError as error:
        details = error.details
        return {"type": details.error_type, "message": details.message,
                "stack": details.stack_trace or ""}
    return None


def die_always(ctx: task.ActivityContext, folder: str) -> None:
    """A poison activity: notes the attempt in ``folder``, then its process exits."""
    (Path(folder) / str(os.getpid())).write_text("attempt")
    os._exit(3)


_LEAKED: list[bytearray] = []


def grow(ctx: task.ActivityContext, mebibytes: int) -> int:
    """Leaks ``mebibytes`` MiB of touched memory in its process, returns its pid."""
    block = bytearray(mebibytes * 1024 * 1024)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    _LEAKED.append(block)
    return os.getpid()
