"""ActivityExecutor: sync and async activities, typed inputs, failures, unknown names."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from durabletask import task
from durabletask.internal.engine import Registry

# The runtime's executor: the engine runs no event loop, the runtime runs coroutines.
from durabletask.internal.runtime.activity_loop import LoopActivityExecutor as ActivityExecutor


@dataclass
class Greeting:
    name: str


def greet(ctx: task.ActivityContext, greeting: Greeting) -> dict:
    return {"text": f"hi {greeting.name}", "task": ctx.task_id, "orch": ctx.orchestration_id}


async def async_double(ctx: task.ActivityContext, value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


def explode(ctx, _):
    raise RuntimeError("kaboom")


def no_input(ctx):
    return "plain"


class PropertiesProvider:
    def get_exception_properties(self, exception):
        return {"kind": type(exception).__name__}


def _executor(**options) -> ActivityExecutor:
    registry = Registry()
    for fn in (greet, async_double, explode, no_input):
        registry.add_activity(fn)
    return ActivityExecutor(registry, **options)


def test_sync_activity_gets_typed_input_and_context():
    outcome = _executor().execute("greet", "orch-1", 4, '{"name": "Ann"}')
    assert outcome.failure is None
    assert outcome.result == '{"text": "hi Ann", "task": 4, "orch": "orch-1"}'


def test_activity_taking_only_context_is_called_without_input():
    assert _executor().execute("no_input", "o", 1, None).result == '"plain"'


def test_is_async_detects_async_def_activities():
    executor = _executor()
    assert executor.is_async("async_double")
    assert not executor.is_async("greet")
    assert not executor.is_async("unknown")


async def test_async_activity_runs_on_the_running_loop():
    outcome = await _executor().execute_async("async_double", "o", 1, "21")
    assert outcome.result == "42"
    assert outcome.failure is None


async def test_execute_async_also_runs_sync_activities():
    outcome = await _executor().execute_async("no_input", "o", 1, None)
    assert outcome.result == '"plain"'


def test_sync_execute_of_async_activity_runs_it_to_completion():
    assert _executor().execute("async_double", "o", 1, "5").result == "10"


def test_failing_activity_returns_failure_details_with_properties():
    outcome = _executor(exception_properties_provider=PropertiesProvider()).execute(
        "explode", "o", 1, None
    )
    assert outcome.result is None
    assert outcome.failure is not None
    assert outcome.failure.errorType == "builtins.RuntimeError"
    assert outcome.failure.errorMessage == "kaboom"
    assert outcome.failure.properties["kind"].string_value == "RuntimeError"


def test_unknown_activity_failure_names_missing_and_registered_activities():
    outcome = _executor().execute("missing", "o", 1, None)
    assert outcome.failure is not None
    assert outcome.failure.errorType.endswith("ActivityNotRegisteredError")
    assert "'missing'" in outcome.failure.errorMessage
    assert "'greet'" in outcome.failure.errorMessage


def test_unserialisable_activity_result_is_a_failure():
    registry = Registry()
    registry.add_activity(lambda ctx, _: object(), name="bad_result")
    outcome = ActivityExecutor(registry).execute("bad_result", "o", 1, None)
    assert outcome.failure is not None
    assert outcome.failure.errorType == "builtins.TypeError"
