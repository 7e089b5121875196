"""Orchestrators and activities shared by the test process and the child workers."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

from durabletask import task

MODE_ENV = "DT_DURABILITY_ACTIVITY_MODE"
MARKER_ENV = "DT_DURABILITY_MARKER"


def work(ctx: task.ActivityContext, value: int) -> int:
    """Add one; in a child worker it may first hang or kill its own process (by env)."""
    mode = os.environ.get(MODE_ENV, "ok")
    marker = os.environ.get(MARKER_ENV)
    if marker:
        with Path(marker).open("a") as f:
            f.write(f"{os.getpid()}\n")
    if mode == "crash":
        os._exit(17)
    if mode == "hang":
        Path(f"{marker}.hung").touch()
        # Hangs until the test SIGKILLs the process; bounded so a leak cannot run forever.
        threading.Event().wait(120)
    return value + 1


def single(ctx: task.OrchestrationContext, value: int):
    """One activity."""
    return (yield ctx.call_activity(work, input=value))


def chain(ctx: task.OrchestrationContext, value: int):
    """Three activities with a short durable timer between each."""
    for _ in range(3):
        value = yield ctx.call_activity(work, input=value)
        yield ctx.create_timer(timedelta(milliseconds=150))
    return value


def fanout(ctx: task.OrchestrationContext, value: int):
    """Five activities in parallel; returns the sum of their results."""
    results = yield task.when_all([ctx.call_activity(work, input=value + i) for i in range(5)])
    return sum(results)


def waiter(ctx: task.OrchestrationContext, value: int):
    """Wait for the ``go`` event, then one activity on the event's data."""
    data = yield ctx.wait_for_external_event("go")
    return (yield ctx.call_activity(work, input=value + data))


ORCHESTRATORS = (single, chain, fanout, waiter)
ACTIVITIES = (work,)
