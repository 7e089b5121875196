"""The application's orchestrations and activities, imported by the worker process only."""

from __future__ import annotations

from durabletask import task


def greet(ctx: task.ActivityContext, name: str) -> str:
    """An activity: any plain function of (context, input)."""
    return f"Hello, {name}!"


def greetings(ctx: task.OrchestrationContext, names: list[str]):
    """An orchestration: greets every name in parallel and returns the greetings."""
    results = yield task.when_all([ctx.call_activity(greet, input=n) for n in names])
    return results
