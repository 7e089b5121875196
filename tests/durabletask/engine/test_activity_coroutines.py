"""The engine's ActivityExecutor runs no event loop: its caller says how a coroutine runs."""

from __future__ import annotations

import asyncio

from durabletask import task
from durabletask.internal.engine import ActivityExecutor, Registry


async def triple(ctx: task.ActivityContext, value: int) -> int:
    await asyncio.sleep(0)
    return value * 3


def _registry() -> Registry:
    registry = Registry()
    registry.add_activity(triple)
    return registry


def test_execute_without_a_runner_reports_a_type_error_instead_of_running_a_loop():
    outcome = ActivityExecutor(_registry()).execute("triple", "o", 1, "2")
    assert outcome.result is None
    assert outcome.failure is not None
    assert outcome.failure.errorType == "builtins.TypeError"
    assert "execute_async" in outcome.failure.errorMessage


def test_execute_hands_the_coroutine_to_the_callers_runner():
    ran = []

    def runner(coroutine):
        ran.append(coroutine.__name__)
        return asyncio.run(coroutine)

    outcome = ActivityExecutor(_registry(), run_coroutine=runner).execute("triple", "o", 1, "2")
    assert outcome.result == "6"
    assert ran == ["triple"]


async def test_execute_async_needs_no_runner():
    outcome = await ActivityExecutor(_registry()).execute_async("triple", "o", 1, "4")
    assert outcome.result == "12"
