"""Changed versions of the recorded workflows (``interop/replay_workflows.py``) and what the
replayer must say about each, checked against histories recorded by any SDK and sidecar.

Expectations name events by content, not by position: the two sidecars write episodes in
different orders, and the replayer must point at the right event in either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durabletask import task
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.testing import Replayer, ReplayResult
from durabletask.testing.history_json import load_history
from tests.durabletask.interop import replay_workflows as wf


async def order_flow_async(ctx: task.OrchestrationContext, order: str):
    reservation = await ctx.call_activity(wf.reserve, input=order)
    await ctx.create_timer(wf.TIMER)
    return await ctx.call_activity(wf.charge, input=reservation)


def order_flow_renamed(ctx: task.OrchestrationContext, order: str):
    reservation = yield ctx.call_activity(wf.reserve, input=order)
    yield ctx.create_timer(wf.TIMER)
    return (yield ctx.call_activity("charge_card", input=reservation))


def order_flow_step_added(ctx: task.OrchestrationContext, order: str):
    reservation = yield ctx.call_activity(wf.reserve, input=order)
    yield ctx.call_activity("authorize", input=reservation)
    yield ctx.create_timer(wf.TIMER)
    return (yield ctx.call_activity(wf.charge, input=reservation))


def order_flow_step_removed(ctx: task.OrchestrationContext, order: str):
    yield ctx.create_timer(wf.TIMER)
    return (yield ctx.call_activity(wf.charge, input=order))


def order_flow_timer_changed(ctx: task.OrchestrationContext, order: str):
    reservation = yield ctx.call_activity(wf.reserve, input=order)
    yield ctx.create_timer(wf.TIMER * 2)
    return (yield ctx.call_activity(wf.charge, input=reservation))


async def totals_async(ctx: task.OrchestrationContext, values: list[int]):
    parts = await task.when_all([ctx.call_activity(wf.add, input=[v, 1]) for v in values])
    total = await ctx.call_sub_orchestrator(wf.child_sum, input=parts)
    try:
        await ctx.call_activity(wf.reject)
    except task.TaskFailedError:
        total += 1000
    approved = await ctx.wait_for_external_event("approve")
    return {"total": total, "approved": approved}


def totals_event_renamed(ctx: task.OrchestrationContext, values: list[int]):
    parts = yield task.when_all([ctx.call_activity(wf.add, input=[v, 1]) for v in values])
    total = yield ctx.call_sub_orchestrator(wf.child_sum, input=parts)
    try:
        yield ctx.call_activity(wf.reject)
    except task.TaskFailedError:
        total += 1000
    approved = yield ctx.wait_for_external_event("approved")
    return {"total": total, "approved": approved}


def _index_of(events: list[pb.HistoryEvent], kind: str, name: str | None = None) -> int:
    for index, event in enumerate(events):
        if event.HasField(kind) and (name is None or getattr(event, kind).name == name):
            return index
    raise AssertionError(f"no {kind} {name or ''} in the recorded history")


@dataclass
class Change:
    """A changed orchestrator and the first mismatch it must cause."""

    name: str
    workflow: str
    code: Callable[..., Any]
    # (events) -> (index, history text, code text) of the expected first mismatch
    first: Callable[[list[pb.HistoryEvent]], tuple[int, str, str]] | None


CHANGES = [
    Change("unchanged", "order_flow", wf.order_flow, None),
    Change("unchanged", "totals", wf.totals, None),
    Change("async_twin", "order_flow", order_flow_async, None),
    Change("async_twin", "totals", totals_async, None),
    Change("activity_renamed", "order_flow", order_flow_renamed, lambda events: (
        _index_of(events, "taskScheduled", "charge"), "call_activity 'charge'",
        "call_activity 'charge_card'")),
    Change("step_added", "order_flow", order_flow_step_added, lambda events: (
        _index_of(events, "timerCreated"), "create_timer", "call_activity 'authorize'")),
    Change("step_removed", "order_flow", order_flow_step_removed, lambda events: (
        _index_of(events, "taskScheduled", "reserve"), "call_activity 'reserve'",
        "create_timer")),
    Change("timer_changed", "order_flow", order_flow_timer_changed, lambda events: (
        _index_of(events, "timerCreated"), "create_timer", "create_timer")),
    Change("event_renamed", "totals", totals_event_renamed, lambda events: (
        _index_of(events, "executionCompleted"), "the orchestration completed",
        "is still waiting")),
]


def replay(change: Change, path: Path) -> ReplayResult:
    """Replay the recorded history at ``path`` with ``change.code`` under the recorded name."""
    replayer = Replayer([wf.child_sum] if change.workflow != "child_sum" else [])
    replayer.add_orchestrator(change.code, change.workflow)
    return replayer.replay_file(path)


def assert_replayer_verdict(change: Change, path: Path) -> None:
    """The unchanged and async codes replay cleanly; each change is flagged where it happens."""
    result = replay(change, path)
    if change.first is None:
        assert result.ok, str(result)
        return
    assert not result.ok, f"{change.name} was not flagged"
    index, history_text, code_text = change.first(load_history(path))
    first = result.mismatches[0]
    assert first.index == index, str(result)
    assert history_text in first.history, str(result)
    assert code_text in first.code, str(result)
    if change.name == "timer_changed":
        # Both sides are timers; the report shows the two fire times, TIMER apart.
        assert first.history.split("fires at ")[1] != first.code.split("fires at ")[1]
