"""The orchestration code under test: what the recorded histories are replayed against.

Edit ``order_flow`` (rename an activity, add or remove a step, change the timer) and
``pytest examples/replay`` or ``durabletask replay examples/replay/histories/*.json -m
examples.replay.workflows`` reports where the recorded instances would break.
"""

from __future__ import annotations

from datetime import timedelta

from durabletask import task


def reserve(ctx: task.ActivityContext, order: str) -> str:
    return f"reserved {order}"


def charge(ctx: task.ActivityContext, reservation: str) -> str:
    return f"charged for {reservation}"


async def order_flow(ctx: task.OrchestrationContext, order: str):
    reservation = await ctx.call_activity(reserve, input=order)
    await ctx.create_timer(timedelta(milliseconds=100))
    return await ctx.call_activity(charge, input=reservation)
