"""End-to-end orchestration patterns over real gRPC against the embedded sidecar.

Every scenario runs twice: with the generator orchestrator and with its ``async def`` twin
(the ``orch`` fixture), which must behave the same.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from durabletask import client, task
from durabletask.entities import DurableEntity, EntityInstanceId
from tests.durabletask.e2e.twins import async_twin_of

COMPLETED = client.OrchestrationStatus.COMPLETED
FAILED = client.OrchestrationStatus.FAILED


def plus_one(ctx: task.ActivityContext, value: int) -> int:
    return value + 1


async def async_double(ctx: task.ActivityContext, value: int) -> int:  # noqa: ASYNC124
    return value * 2


def echo_context(ctx: task.ActivityContext, _: None) -> dict:
    return {"orchestration_id": ctx.orchestration_id, "task_id": ctx.task_id}


def chain(ctx: task.OrchestrationContext, start: int):
    value = start
    for _ in range(5):
        value = yield ctx.call_activity(plus_one, input=value)
    return value


@async_twin_of(chain)
async def _chain(ctx: task.OrchestrationContext, start: int):
    value = start
    for _ in range(5):
        value = await ctx.call_activity(plus_one, input=value)
    return value


def fan_out(ctx: task.OrchestrationContext, count: int):
    results = yield task.when_all([ctx.call_activity(plus_one, input=i) for i in range(count)])
    return results


@async_twin_of(fan_out)
async def _fan_out(ctx: task.OrchestrationContext, count: int):
    return await task.when_all([ctx.call_activity(plus_one, input=i) for i in range(count)])


def uses_async_activity(ctx: task.OrchestrationContext, value: int):
    doubled = yield ctx.call_activity(async_double, input=value)
    return doubled


@async_twin_of(uses_async_activity)
async def _uses_async_activity(ctx: task.OrchestrationContext, value: int):
    return await ctx.call_activity(async_double, input=value)


def timer_then_done(ctx: task.OrchestrationContext, seconds: float):
    start = ctx.current_utc_datetime
    yield ctx.create_timer(timedelta(seconds=seconds))
    return (ctx.current_utc_datetime - start).total_seconds()


@async_twin_of(timer_then_done)
async def _timer_then_done(ctx: task.OrchestrationContext, seconds: float):
    start = ctx.current_utc_datetime
    await ctx.create_timer(timedelta(seconds=seconds))
    return (ctx.current_utc_datetime - start).total_seconds()


def event_waiter(ctx: task.OrchestrationContext, _: None):
    first = yield ctx.wait_for_external_event("Approval")
    second = yield ctx.wait_for_external_event("approval")
    return [first, second]


@async_twin_of(event_waiter)
async def _event_waiter(ctx: task.OrchestrationContext, _: None):
    first = await ctx.wait_for_external_event("Approval")
    second = await ctx.wait_for_external_event("approval")
    return [first, second]


def race_event_against_timer(ctx: task.OrchestrationContext, timeout_s: float):
    event = ctx.wait_for_external_event("go")
    timer = ctx.create_timer(timedelta(seconds=timeout_s))
    winner = yield task.when_any([event, timer])
    if winner is event:
        timer.cancel()
        return f"event:{event.get_result()}"
    return "timeout"


@async_twin_of(race_event_against_timer)
async def _race_event_against_timer(ctx: task.OrchestrationContext, timeout_s: float):
    event = ctx.wait_for_external_event("go")
    timer = ctx.create_timer(timedelta(seconds=timeout_s))
    winner = await task.when_any([event, timer])
    if winner is event:
        timer.cancel()
        return f"event:{event.get_result()}"
    return "timeout"


def child(ctx: task.OrchestrationContext, value: int):
    result = yield ctx.call_activity(plus_one, input=value)
    return {"child_of": ctx.parent_instance_id, "result": result}


@async_twin_of(child)
async def _child(ctx: task.OrchestrationContext, value: int):
    result = await ctx.call_activity(plus_one, input=value)
    return {"child_of": ctx.parent_instance_id, "result": result}


def parent(ctx: task.OrchestrationContext, value: int):
    return (yield ctx.call_sub_orchestrator(child, input=value))


@async_twin_of(parent)
async def _parent(ctx: task.OrchestrationContext, value: int):
    return await ctx.call_sub_orchestrator(child, input=value)


def plain_function_orchestrator(ctx: task.OrchestrationContext, value: int) -> int:
    return value * 10


@async_twin_of(plain_function_orchestrator)
async def _plain_function_orchestrator(  # noqa: ASYNC124 - awaits nothing, like its twin
        ctx: task.OrchestrationContext, value: int) -> int:
    return value * 10


def activity_context_probe(ctx: task.OrchestrationContext, _: None):
    return (yield ctx.call_activity(echo_context))


@async_twin_of(activity_context_probe)
async def _activity_context_probe(ctx: task.OrchestrationContext, _: None):
    return await ctx.call_activity(echo_context)


class Counter(DurableEntity):
    def add(self, amount: int) -> int:
        self.set_state(self.get_state(int, 0) + amount)
        return self.get_state(int)


def locked_entity_update(ctx: task.OrchestrationContext, key: str):
    counter = EntityInstanceId("Counter", key)
    ctx.signal_entity(counter, "add", 5)
    with (yield ctx.lock_entities([counter])):
        value = yield ctx.call_entity(counter, "add", 10)
    return [value, ctx.is_inside_critical_section]


@async_twin_of(locked_entity_update)
async def _locked_entity_update(ctx: task.OrchestrationContext, key: str):
    counter = EntityInstanceId("Counter", key)
    ctx.signal_entity(counter, "add", 5)
    with await ctx.lock_entities([counter]):
        value = await ctx.call_entity(counter, "add", 10)
    return [value, ctx.is_inside_critical_section]


def test_activity_chain_returns_final_value(run_worker, dt_client, orch):
    run_worker([orch(chain)], [plus_one])
    instance_id = dt_client.schedule_new_orchestration(orch(chain), input=10)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == COMPLETED
    assert state.get_output() == 15
    assert state.get_input() == 10
    assert state.name == "chain"


def test_fan_out_fan_in_keeps_input_order(run_worker, dt_client, orch):
    run_worker([orch(fan_out)], [plus_one])
    instance_id = dt_client.schedule_new_orchestration(orch(fan_out), input=20)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == list(range(1, 21))


def test_async_activity_runs_on_worker(run_worker, dt_client, orch):
    run_worker([orch(uses_async_activity)], [async_double])
    instance_id = dt_client.schedule_new_orchestration(orch(uses_async_activity), input=21)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == 42


def test_durable_timer_advances_orchestration_clock(run_worker, dt_client, orch):
    run_worker([orch(timer_then_done)])
    instance_id = dt_client.schedule_new_orchestration(orch(timer_then_done), input=0.5)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == COMPLETED
    assert state.get_output() >= 0.5


def test_external_events_are_buffered_and_case_insensitive(run_worker, dt_client, orch):
    run_worker([orch(event_waiter)])
    instance_id = dt_client.schedule_new_orchestration(orch(event_waiter))
    dt_client.raise_orchestration_event(instance_id, "APPROVAL", data="one")
    dt_client.raise_orchestration_event(instance_id, "approval", data={"n": 2})
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == ["one", {"n": 2}]


def test_event_raised_before_instance_exists_is_delivered(run_worker, dt_client, orch):
    dt_client.raise_orchestration_event("early-bird", "approval", data=1)
    dt_client.raise_orchestration_event("early-bird", "approval", data=2)
    run_worker([orch(event_waiter)])
    dt_client.schedule_new_orchestration(orch(event_waiter), instance_id="early-bird")
    state = dt_client.wait_for_orchestration_completion("early-bird", timeout=30)
    assert state.get_output() == [1, 2]


def test_when_any_event_wins_and_timer_is_cancelled(run_worker, dt_client, orch):
    run_worker([orch(race_event_against_timer)])
    instance_id = dt_client.schedule_new_orchestration(orch(race_event_against_timer), input=60)
    dt_client.wait_for_orchestration_start(instance_id, timeout=30)
    dt_client.raise_orchestration_event(instance_id, "go", data="now")
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == "event:now"


def test_when_any_timer_wins_without_event(run_worker, dt_client, orch):
    run_worker([orch(race_event_against_timer)])
    instance_id = dt_client.schedule_new_orchestration(orch(race_event_against_timer), input=0.2)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == "timeout"


def test_sub_orchestration_result_reaches_parent(run_worker, dt_client, orch):
    run_worker([orch(parent), orch(child)], [plus_one])
    instance_id = dt_client.schedule_new_orchestration(orch(parent), input=1)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == {"child_of": instance_id, "result": 2}
    child_state = dt_client.get_orchestration_state(f"{instance_id}:0001")
    assert child_state is not None
    assert child_state.runtime_status == COMPLETED


def test_plain_function_orchestrator_completes_at_once(run_worker, dt_client, orch):
    run_worker([orch(plain_function_orchestrator)])
    instance_id = dt_client.schedule_new_orchestration(orch(plain_function_orchestrator), input=4)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == 40


def test_activity_context_carries_instance_and_task_id(run_worker, dt_client, orch):
    run_worker([orch(activity_context_probe)], [echo_context])
    instance_id = dt_client.schedule_new_orchestration(orch(activity_context_probe))
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert json.loads(state.serialized_output) == {"orchestration_id": instance_id, "task_id": 1}


def test_orchestration_by_name_string(run_worker, dt_client, orch):
    run_worker([orch(chain)], [plus_one])
    instance_id = dt_client.schedule_new_orchestration("chain", input=0)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.get_output() == 5


def test_entity_signal_lock_and_call_from_an_orchestration(make_worker, dt_client, orch):
    w = make_worker([orch(locked_entity_update)])
    w.add_entity(Counter)
    w.start()
    key = uuid.uuid4().hex
    instance_id = dt_client.schedule_new_orchestration(orch(locked_entity_update), input=key)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == COMPLETED, state.failure_details
    # The signal is delivered before the lock request (one sender, one entity: in order).
    assert state.get_output() == [15, False]
