"""End-to-end management: custom status, continue-as-new, suspend/resume, terminate, purge.

Every scenario runs with the generator orchestrator and its ``async def`` twin (the
``orch`` fixture).
"""

from __future__ import annotations

import pytest

from durabletask import client, task
from tests.durabletask.e2e.twins import async_twin_of

from tests.durabletask.helpers.wait import poll_until

Status = client.OrchestrationStatus


def wait_forever(ctx: task.OrchestrationContext, _: None):
    ctx.set_custom_status({"stage": "waiting"})
    value = yield ctx.wait_for_external_event("proceed")
    ctx.set_custom_status({"stage": "done"})
    return value


@async_twin_of(wait_forever)
async def _wait_forever(ctx: task.OrchestrationContext, _: None):
    ctx.set_custom_status({"stage": "waiting"})
    value = await ctx.wait_for_external_event("proceed")
    ctx.set_custom_status({"stage": "done"})
    return value


def counter(ctx: task.OrchestrationContext, count: int):
    if count < 3:
        ctx.continue_as_new(count + 1)
        return None
    return count


@async_twin_of(counter)
async def _counter(ctx: task.OrchestrationContext, count: int):  # noqa: ASYNC124 - like its twin
    if count < 3:
        ctx.continue_as_new(count + 1)
        return None
    return count


def keeps_events(ctx: task.OrchestrationContext, seen: list):
    value = yield ctx.wait_for_external_event("item")
    seen = [*seen, value]
    if len(seen) < 3:
        ctx.continue_as_new(seen, save_events=True)
        return None
    return seen


@async_twin_of(keeps_events)
async def _keeps_events(ctx: task.OrchestrationContext, seen: list):
    value = await ctx.wait_for_external_event("item")
    seen = [*seen, value]
    if len(seen) < 3:
        ctx.continue_as_new(seen, save_events=True)
        return None
    return seen


def child_waits(ctx: task.OrchestrationContext, _: None):
    yield ctx.wait_for_external_event("never")


@async_twin_of(child_waits)
async def _child_waits(ctx: task.OrchestrationContext, _: None):
    await ctx.wait_for_external_event("never")


def parent_of_waiter(ctx: task.OrchestrationContext, _: None):
    yield ctx.call_sub_orchestrator(child_waits, instance_id=f"{ctx.instance_id}-child")


@async_twin_of(parent_of_waiter)
async def _parent_of_waiter(ctx: task.OrchestrationContext, _: None):
    await ctx.call_sub_orchestrator(child_waits, instance_id=f"{ctx.instance_id}-child")


def test_custom_status_is_visible_while_running(run_worker, dt_client, orch):
    run_worker([orch(wait_forever)])
    instance_id = dt_client.schedule_new_orchestration(orch(wait_forever))
    state = poll_until(
        lambda: (s := dt_client.get_orchestration_state(instance_id))
        and s.serialized_custom_status
        and s,
        message="custom status",
    )
    assert state.get_custom_status() == {"stage": "waiting"}
    assert state.runtime_status == Status.RUNNING
    dt_client.raise_orchestration_event(instance_id, "proceed", data=7)
    done = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert done.get_custom_status() == {"stage": "done"}
    assert done.get_output() == 7


def test_continue_as_new_restarts_with_new_input(run_worker, dt_client, orch):
    run_worker([orch(counter)])
    instance_id = dt_client.schedule_new_orchestration(orch(counter), input=0)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == Status.COMPLETED
    assert state.get_output() == 3


def test_continue_as_new_with_save_events_keeps_unconsumed_events(run_worker, dt_client, orch):
    run_worker([orch(keeps_events)])
    instance_id = dt_client.schedule_new_orchestration(orch(keeps_events), input=[])
    for value in ("a", "b", "c"):
        dt_client.raise_orchestration_event(instance_id, "item", data=value)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == ["a", "b", "c"]


def test_suspend_buffers_events_until_resume(run_worker, dt_client, orch):
    run_worker([orch(wait_forever)])
    instance_id = dt_client.schedule_new_orchestration(orch(wait_forever))
    dt_client.wait_for_orchestration_start(instance_id, timeout=30)
    dt_client.suspend_orchestration(instance_id, reason="maintenance")
    poll_until(
        lambda: dt_client.get_orchestration_state(instance_id).runtime_status
        == Status.SUSPENDED,
        message="SUSPENDED",
    )
    dt_client.raise_orchestration_event(instance_id, "proceed", data="late")
    with pytest.raises(TimeoutError):
        dt_client.wait_for_orchestration_completion(instance_id, timeout=0.5)
    dt_client.resume_orchestration(instance_id, reason="back")
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == Status.COMPLETED
    assert state.get_output() == "late"


def test_terminate_sets_output_and_status(run_worker, dt_client, orch):
    run_worker([orch(wait_forever)])
    instance_id = dt_client.schedule_new_orchestration(orch(wait_forever))
    dt_client.wait_for_orchestration_start(instance_id, timeout=30)
    dt_client.terminate_orchestration(instance_id, output="stopped by test")
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == Status.TERMINATED
    assert state.get_output() == "stopped by test"


def test_terminate_is_recursive_by_default(run_worker, dt_client, orch):
    run_worker([orch(parent_of_waiter), orch(child_waits)])
    instance_id = dt_client.schedule_new_orchestration(orch(parent_of_waiter))
    child_id = f"{instance_id}-child"
    poll_until(
        lambda: (s := dt_client.get_orchestration_state(child_id))
        and s.runtime_status == Status.RUNNING,
        message="child running",
    )
    dt_client.terminate_orchestration(instance_id)
    parent_state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    child_state = dt_client.wait_for_orchestration_completion(child_id, timeout=30)
    assert parent_state.runtime_status == Status.TERMINATED
    assert child_state.runtime_status == Status.TERMINATED


def test_purge_removes_instance_and_children(run_worker, dt_client, orch):
    run_worker([orch(parent_of_waiter), orch(child_waits)])
    instance_id = dt_client.schedule_new_orchestration(orch(parent_of_waiter))
    child_id = f"{instance_id}-child"
    poll_until(lambda: dt_client.get_orchestration_state(child_id), message="child created")
    dt_client.terminate_orchestration(instance_id)
    dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    dt_client.wait_for_orchestration_completion(child_id, timeout=30)
    result = dt_client.purge_orchestration(instance_id)
    assert result.deleted_instance_count == 2
    assert dt_client.get_orchestration_state(instance_id) is None
    assert dt_client.get_orchestration_state(child_id) is None


def test_restart_runs_again_with_original_input(run_worker, dt_client, orch):
    run_worker([orch(counter)])
    instance_id = dt_client.schedule_new_orchestration(orch(counter), input=2)
    dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    new_id = dt_client.restart_orchestration(instance_id, restart_with_new_instance_id=True)
    assert new_id != instance_id
    state = dt_client.wait_for_orchestration_completion(new_id, timeout=30)
    assert state.get_output() == 3


def test_history_lists_events_in_order(run_worker, dt_client, orch):
    from durabletask import history

    run_worker([orch(counter)])
    instance_id = dt_client.schedule_new_orchestration(orch(counter), input=3)
    dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    events = dt_client.get_orchestration_history(instance_id)
    kinds = [type(e) for e in events]
    assert history.ExecutionStartedEvent in kinds
    assert kinds[-1] in (history.OrchestratorCompletedEvent, history.ExecutionCompletedEvent)
    assert any(isinstance(e, history.ExecutionCompletedEvent) for e in events)


def test_query_filters_by_status(run_worker, dt_client, orch):
    run_worker([orch(counter), orch(wait_forever)])
    done_id = dt_client.schedule_new_orchestration(orch(counter), input=3)
    running_id = dt_client.schedule_new_orchestration(orch(wait_forever))
    dt_client.wait_for_orchestration_completion(done_id, timeout=30)
    dt_client.wait_for_orchestration_start(running_id, timeout=30)
    completed = dt_client.get_all_orchestration_states(
        client.OrchestrationQuery(runtime_status=[Status.COMPLETED])
    )
    ids = {s.instance_id for s in completed}
    assert done_id in ids
    assert running_id not in ids
