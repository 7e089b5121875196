"""``async def`` orchestrators in the pure engine: the same actions, replay and rules as generators.

Each scenario is written twice, as a generator and as an ``async def``; both run through
the same episodes and must produce identical actions (protobuf equality) and outcomes, and
a full replay of the recorded history must reach the same outcome again.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from durabletask import task, worker
from durabletask.entities import EntityInstanceId
from durabletask.internal.engine import OrchestrationExecutor, Registry
from durabletask.internal.engine.cache import OrchestrationCache, OrchestrationCacheOptions
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.engine import entity_histories as eh
from tests.durabletask.engine import histories as h

COUNTER = EntityInstanceId("counter", "a")
RETRY = task.RetryPolicy(first_retry_interval=timedelta(seconds=30), max_number_of_attempts=3)
HOUR = timedelta(hours=1)

# An episode is a list of new events, or a function of the previous episode's results
# (entity request ids and critical section ids are only known from the actions).
Episode = list[pb.HistoryEvent] | Callable[[Any], list[pb.HistoryEvent]]


# ----- the scenarios, each as a generator and as an async def ------------------------------

def chain_gen(ctx: task.OrchestrationContext, value: int):
    for _ in range(3):
        value = yield ctx.call_activity("inc", input=value)
    return value


async def chain_async(ctx: task.OrchestrationContext, value: int):
    for _ in range(3):
        value = await ctx.call_activity("inc", input=value)
    return value


def fan_out_gen(ctx: task.OrchestrationContext, count: int):
    parts = yield task.when_all([ctx.call_activity("square", input=i) for i in range(count)])
    return sum(parts)


async def fan_out_async(ctx: task.OrchestrationContext, count: int):
    parts = await task.when_all([ctx.call_activity("square", input=i) for i in range(count)])
    return sum(parts)


def race_gen(ctx: task.OrchestrationContext, _: Any):
    timer = ctx.create_timer(HOUR)
    event = ctx.wait_for_external_event("go")
    winner = yield task.when_any([event, timer])
    if winner is event:
        timer.cancel()
        return event.get_result()
    return "timed out"


async def race_async(ctx: task.OrchestrationContext, _: Any):
    timer = ctx.create_timer(HOUR)
    event = ctx.wait_for_external_event("go")
    winner = await task.when_any([event, timer])
    if winner is event:
        timer.cancel()
        return event.get_result()
    return "timed out"


def catches_gen(ctx: task.OrchestrationContext, _: Any):
    try:
        yield ctx.call_activity("boom")
    except task.TaskFailedError as error:
        return (yield ctx.call_activity("fallback", input=error.details.message))
    return "no failure"


async def catches_async(ctx: task.OrchestrationContext, _: Any):
    try:
        await ctx.call_activity("boom")
    except task.TaskFailedError as error:
        return await ctx.call_activity("fallback", input=error.details.message)
    return "no failure"


def retries_gen(ctx: task.OrchestrationContext, _: Any):
    return (yield ctx.call_activity("flaky", retry_policy=RETRY))


async def retries_async(ctx: task.OrchestrationContext, _: Any):
    return await ctx.call_activity("flaky", retry_policy=RETRY)


def parent_gen(ctx: task.OrchestrationContext, value: int):
    result = yield ctx.call_sub_orchestrator("child", input=value)
    return {"child": result, "id": ctx.instance_id}


async def parent_async(ctx: task.OrchestrationContext, value: int):
    result = await ctx.call_sub_orchestrator("child", input=value)
    return {"child": result, "id": ctx.instance_id}


def events_gen(ctx: task.OrchestrationContext, _: Any):
    first = yield ctx.wait_for_external_event("a")
    second = yield ctx.wait_for_external_event("b")
    ctx.send_event("elsewhere", "done", data=[first, second])
    return [first, second]


async def events_async(ctx: task.OrchestrationContext, _: Any):
    first = await ctx.wait_for_external_event("a")
    second = await ctx.wait_for_external_event("b")
    ctx.send_event("elsewhere", "done", data=[first, second])
    return [first, second]


def entities_gen(ctx: task.OrchestrationContext, _: Any):
    lock = yield ctx.lock_entities([COUNTER])
    with lock:
        value = yield ctx.call_entity(COUNTER, "get")
    ctx.signal_entity(COUNTER, "reset")
    return value


async def entities_async(ctx: task.OrchestrationContext, _: Any):
    with await ctx.lock_entities([COUNTER]):
        value = await ctx.call_entity(COUNTER, "get")
    ctx.signal_entity(COUNTER, "reset")
    return value


def clock_gen(ctx: task.OrchestrationContext, rounds: int):
    ctx.set_custom_status({"rounds": rounds})
    marker = ctx.new_uuid()
    yield ctx.create_timer(timedelta(seconds=5))
    if rounds > 0:
        ctx.continue_as_new(rounds - 1)
        return None
    return [marker, ctx.current_utc_datetime.isoformat()]


async def clock_async(ctx: task.OrchestrationContext, rounds: int):
    ctx.set_custom_status({"rounds": rounds})
    marker = ctx.new_uuid()
    await ctx.create_timer(timedelta(seconds=5))
    if rounds > 0:
        ctx.continue_as_new(rounds - 1)
        return None
    return [marker, ctx.current_utc_datetime.isoformat()]


@dataclass
class Scenario:
    name: str
    generator: Callable[..., Any]
    coroutine: Callable[..., Any]
    episodes: list[Episode]
    outcome: Any = None
    status: int = pb.ORCHESTRATION_STATUS_COMPLETED
    extra: list[Callable[..., Any]] = field(default_factory=list)


def _start(value: Any = None) -> list[pb.HistoryEvent]:
    return [h.execution_started("orch", value)]


SCENARIOS = [
    Scenario("chain", chain_gen, chain_async, [
        _start(1), [h.task_completed(1, 2)], [h.task_completed(2, 3)], [h.task_completed(3, 4)],
    ], 4),
    Scenario("fan_out_when_all", fan_out_gen, fan_out_async, [
        _start(3), [h.task_completed(2, 1), h.task_completed(1, 0), h.task_completed(3, 4)],
    ], 5),
    Scenario("when_any_event_wins", race_gen, race_async, [
        _start(), [h.event_raised("go", "yes")],
    ], "yes"),
    Scenario("when_any_timer_wins", race_gen, race_async, [
        _start(), [h.timer_fired(1, h.T0 + HOUR)],
    ], "timed out"),
    Scenario("caught_failure", catches_gen, catches_async, [
        _start(), [h.task_failed(1, "bad input")], [h.task_completed(2, "recovered")],
    ], "recovered"),
    Scenario("retry_policy", retries_gen, retries_async, [
        _start(), [h.task_failed(1)], [h.timer_fired(2, h.after(60))], [h.task_completed(1, 7)],
    ], 7),
    Scenario("sub_orchestration", parent_gen, parent_async, [
        _start(1), [h.sub_orchestration_completed(1, 2)],
    ], {"child": 2, "id": h.INSTANCE_ID}),
    Scenario("buffered_events_and_send_event", events_gen, events_async, [
        [*_start(), h.event_raised("b", 2)], [h.event_raised("A", 1)],
    ], [1, 2]),
    Scenario("entity_lock_call_signal", entities_gen, entities_async, [
        _start(),
        lambda last: [eh.lock_granted(eh.lock_section_id(last))],
        lambda last: [eh.operation_completed(eh.call_request_id(last, COUNTER), 5)],
    ], 5),
    Scenario("timer_uuid_custom_status", clock_gen, clock_async, [
        _start(0), [h.timer_fired(1, h.after(5))],
    ], None),
    Scenario("continue_as_new", clock_gen, clock_async, [
        _start(2), [h.timer_fired(1, h.after(5))],
    ], None, pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW),
]


def _executor(fn: Callable[..., Any]) -> OrchestrationExecutor:
    registry = Registry()
    registry.add_orchestrator(fn, "orch")
    return OrchestrationExecutor(registry)


def _play(scenario: Scenario, fn: Callable[..., Any]) -> tuple[list[Any], eh.EntityEpisodes]:
    episodes = eh.EntityEpisodes(_executor(fn))
    produced: list[Any] = []
    for number, episode in enumerate(scenario.episodes):
        events = episode(produced[-1]) if callable(episode) else episode
        produced.append(episodes.run(*events, at=h.after(30 * number)))
    return produced, episodes


def _assert_outcome(scenario: Scenario, results: Any) -> None:
    assert h.completion(results).orchestrationStatus == scenario.status
    if scenario.status == pb.ORCHESTRATION_STATUS_COMPLETED and scenario.outcome is not None:
        assert h.output_of(results) == scenario.outcome


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_async_def_makes_the_same_actions_as_its_generator_twin(scenario):
    generator_results, _ = _play(scenario, scenario.generator)
    async_results, _ = _play(scenario, scenario.coroutine)

    assert [r.actions for r in async_results] == [r.actions for r in generator_results]
    assert [r.encoded_custom_status for r in async_results] == [
        r.encoded_custom_status for r in generator_results]
    _assert_outcome(scenario, async_results[-1])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_async_def_replays_its_whole_history_to_the_same_outcome(scenario):
    results, episodes = _play(scenario, scenario.coroutine)
    past = episodes.history[:-1]  # without the last orchestratorCompleted: replay it all

    replayed = _executor(scenario.coroutine).execute(h.INSTANCE_ID, past, [h.orchestrator_started(
        h.after(1000))])

    assert replayed.actions[-1] == results[-1].actions[-1]


def test_async_def_code_that_changed_fails_with_the_generators_nondeterminism_error():
    def recorded(ctx, _):
        return (yield ctx.call_activity("charge"))

    async def renamed(ctx, _):
        return await ctx.call_activity("charge_card")

    def renamed_generator(ctx, _):
        return (yield ctx.call_activity("charge_card"))

    history = eh.EntityEpisodes(_executor(recorded))
    history.run(*_start())
    new = [h.orchestrator_started(), h.task_completed(1, "ok")]

    failures = [h.failure_of(_executor(fn).execute(h.INSTANCE_ID, history.history, new))
                for fn in (renamed, renamed_generator)]

    assert failures[0].errorType == "durabletask.task.NonDeterminismError"
    assert failures[0].errorMessage == failures[1].errorMessage
    assert "'charge'" in failures[0].errorMessage
    assert "'charge_card'" in failures[0].errorMessage


def test_async_def_without_await_completes_at_once():
    async def immediate(ctx, value):  # noqa: ASYNC124 - an orchestrator that awaits nothing
        return value * 2

    results = h.new_executor([immediate]).execute(
        h.INSTANCE_ID, [], [h.orchestrator_started(), h.execution_started("immediate", 21)])

    assert h.output_of(results) == 42


def test_an_uncaught_error_after_an_await_fails_the_orchestration():
    async def fails(ctx, _):
        await ctx.call_activity("step")
        raise KeyError("missing")

    episodes = h.Episodes(h.new_executor([fails]))
    episodes.run(h.execution_started("fails"))
    details = h.failure_of(episodes.run(h.task_completed(1)))

    assert details.errorType == "builtins.KeyError"


@pytest.mark.parametrize(("awaited", "named"), [
    (lambda: asyncio.sleep(0), "a bare yield"),
    (lambda: asyncio.get_event_loop_policy().new_event_loop().create_future(), "Future"),
])
def test_awaiting_something_that_is_not_a_durable_task_fails_with_the_fix(awaited, named):
    async def uses_asyncio(ctx, _):
        await awaited()

    results = h.new_executor([uses_asyncio]).execute(
        h.INSTANCE_ID, [], [h.orchestrator_started(), h.execution_started("uses_asyncio")])

    details = h.failure_of(results)
    assert details.errorType == "builtins.TypeError"
    assert f"awaited {named}" in details.errorMessage
    assert "ctx.create_timer" in details.errorMessage


def test_a_sync_wrapper_returning_a_coroutine_runs_like_the_async_def():
    def logged(fn):
        @functools.wraps(fn)
        def wrapper(ctx, value):  # a plain def whose result is fn's coroutine
            return fn(ctx, value)
        return wrapper

    class CallableObject:
        __name__ = "callable_object"

        async def __call__(self, ctx, value):
            return await ctx.call_activity("inc", input=value)

    for fn, name in ((logged(chain_async), "chain_async"),
                     (functools.partial(chain_async), "partial"),
                     (CallableObject(), "callable_object")):
        registry = Registry()
        registry.add_orchestrator(fn, name)
        episodes = h.Episodes(OrchestrationExecutor(registry))
        first = episodes.run(h.execution_started(name, 1))
        assert h.kinds(first) == ["scheduleTask"], name


def test_generator_and_async_orchestrators_mix_in_one_registry():
    executor = h.new_executor([chain_gen, chain_async])
    outputs = []
    for name in ("chain_gen", "chain_async"):
        episodes = h.Episodes(executor, instance_id=name)
        episodes.run(h.execution_started(name, 0))
        for task_id in (1, 2):
            episodes.run(h.task_completed(task_id, task_id))
        outputs.append(h.output_of(episodes.run(h.task_completed(3, 3))))

    assert outputs == [3, 3]


async def _async_generator(ctx, _):  # noqa: ASYNC124 - deliberately unrunnable
    yield ctx.call_activity("step")


class _AsyncGeneratorCall:
    __name__ = "async_gen_object"

    async def __call__(self, ctx, _):
        yield ctx.call_activity("step")


@pytest.mark.parametrize("fn", [
    _async_generator,
    functools.wraps(_async_generator)(lambda ctx, _: _async_generator(ctx, _)),
    _AsyncGeneratorCall(),
], ids=["async_generator", "wrapped_async_generator", "async_generator_call"])
def test_an_async_generator_is_refused_at_registration(fn):
    with pytest.raises(TypeError, match="async generator function") as raised:
        worker.TaskHubGrpcWorker(host_address="127.0.0.1:1").add_orchestrator(fn)

    assert "await ctx.call_activity" in str(raised.value)


def test_a_non_callable_is_refused_at_registration():
    class NotCallable:
        __name__ = "not_callable"

    with pytest.raises(TypeError, match="must be a function"):
        Registry().add_orchestrator(NotCallable())


def test_the_orchestration_cache_keeps_an_async_orchestrator_running_between_episodes():
    runs: list[str] = []

    async def counted(ctx, steps: int):
        runs.append("run")
        value = 0
        for _ in range(steps):
            value = await ctx.call_activity("inc", input=value)
        return value

    cache = OrchestrationCache(h.new_executor([counted]), OrchestrationCacheOptions(),
                               lambda: 0.0)
    history: list[pb.HistoryEvent] = []
    results = None
    episodes = [[h.execution_started("counted", 3)], *([h.task_completed(i, i)] for i in (1, 2, 3))]
    for new in episodes:
        request = pb.OrchestratorRequest(instanceId=h.INSTANCE_ID)
        request.pastEvents.extend(history)
        request.newEvents.extend([h.orchestrator_started(), *new])
        results = cache.execute(request)
        cache.acknowledge(h.INSTANCE_ID)
        history += [*request.newEvents, *h.confirmations(results.actions),
                    h.orchestrator_completed()]

    assert h.output_of(results) == 3
    assert runs == ["run"]
    assert cache.hits == 3
