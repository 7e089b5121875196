"""Kitchen sink: orchestrations, activities and a scenario table runnable by either SDK.

Written only against the public names both SDKs share (``from durabletask
import task, client, worker``), so the same file is loaded by our interpreter
and by the official durabletask==1.12.0 interpreter in its own virtualenv.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import sys
import threading
import uuid
from collections.abc import Collection, Generator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from durabletask import client, task, worker


def _load_scenario_runner() -> ModuleType:
    # Loaded by path: under the official interpreter this directory is not a package.
    name = "durabletask_interop_scenario_runner"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("scenario_runner.py"))
        if spec is None or spec.loader is None:
            raise ImportError("cannot load scenario_runner.py next to kitchen_sink.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


sr = _load_scenario_runner()

# Names of the places a scenario can run; used as keys of Scenario.exclusions.
OFFICIAL_SIDECAR = "official_sidecar"
OUR_SIDECAR = "our_sidecar"

OFFICIAL_SIDECAR_MESSAGE_ONLY = (
    "the official in-memory sidecar keeps only the message of a sub-orchestration failure, "
    "so its error type arrives as builtins.Exception (protocol.md section 8)")

# The official sidecar serves gRPC from 10 threads and every long poll holds one; more
# parallel scenarios than this starve the worker's completion calls until polls time out.
MAX_PARALLEL_SCENARIOS = 6

OFFICIAL_SIDECAR_NO_RECURSION = (
    "the official in-memory sidecar ignores recursive terminate/purge (protocol.md section 8)")

Orchestration = Generator[Any, Any, Any]

_attempts: dict[str, int] = {}
_attempts_lock = threading.Lock()


# ---------------------------------------------------------------- activities

def greet(ctx: task.ActivityContext, name: str) -> str:
    """Returns a greeting for ``name``."""
    return f"Hello, {name}!"


def square(ctx: task.ActivityContext, value: int) -> int:
    """Returns ``value`` squared."""
    return value * value


def flaky(ctx: task.ActivityContext, succeed_on: int) -> str:
    """Fails until its ``succeed_on``-th attempt within one orchestration."""
    with _attempts_lock:
        attempt = _attempts.get(ctx.orchestration_id, 0) + 1
        _attempts[ctx.orchestration_id] = attempt
    if attempt < succeed_on:
        raise ValueError(f"attempt {attempt} failed")
    return f"succeeded on attempt {attempt}"


def always_fails(ctx: task.ActivityContext, message: str) -> None:
    """Raises ``ValueError(message)``."""
    raise ValueError(message)


# ------------------------------------------------------------- orchestrators

def activity_chain(ctx: task.OrchestrationContext, cities: list[str]) -> Orchestration:
    """Calls ``greet`` once per city, in sequence."""
    greetings = []
    for city in cities:
        greetings.append((yield ctx.call_activity(greet, input=city)))
    return greetings


def fan_out_fan_in(ctx: task.OrchestrationContext, count: int) -> Orchestration:
    """Squares 1..count in parallel and sums the results."""
    values = yield task.when_all(
        [ctx.call_activity(square, input=i) for i in range(1, count + 1)])
    return {"values": values, "sum": sum(values)}


def relative_timer(ctx: task.OrchestrationContext, seconds: float) -> Orchestration:
    """Sleeps on a timedelta timer; returns whether orchestration time moved past it."""
    before = ctx.current_utc_datetime
    yield ctx.create_timer(timedelta(seconds=seconds))
    return (ctx.current_utc_datetime - before).total_seconds() >= seconds


def absolute_timer(ctx: task.OrchestrationContext, seconds: float) -> Orchestration:
    """Sleeps on a datetime timer; returns whether orchestration time reached it."""
    fire_at = ctx.current_utc_datetime + timedelta(seconds=seconds)
    yield ctx.create_timer(fire_at)
    return ctx.current_utc_datetime >= fire_at


def two_events(ctx: task.OrchestrationContext, _: Any) -> Orchestration:
    """Waits for two external events (names are case-insensitive) and returns both payloads."""
    approval = yield ctx.wait_for_external_event("Approval")
    payload = yield ctx.wait_for_external_event("payload")
    return [approval, payload]


def event_or_timeout(ctx: task.OrchestrationContext, seconds: float) -> Orchestration:
    """Races an event against a timer with ``when_any``."""
    event = ctx.wait_for_external_event("go")
    timer = ctx.create_timer(timedelta(seconds=seconds))
    winner = yield task.when_any([event, timer])
    return "timeout" if winner is timer else f"event:{event.get_result()}"


def child_greeter(ctx: task.OrchestrationContext, name: str) -> Orchestration:
    """Sub-orchestration: greets ``name`` through an activity."""
    greeting = yield ctx.call_activity(greet, input=name)
    return f"child says {greeting}"


def parent_of_greeter(ctx: task.OrchestrationContext, name: str) -> Orchestration:
    """Calls ``child_greeter`` as a sub-orchestration with a known instance id."""
    result = yield ctx.call_sub_orchestrator(
        child_greeter, input=name, instance_id=f"{ctx.instance_id}-child")
    return f"parent got: {result}"


def child_failing(ctx: task.OrchestrationContext, message: str) -> None:
    """Sub-orchestration that fails at once."""
    raise ValueError(message)


def parent_catching_child(ctx: task.OrchestrationContext, message: str) -> Orchestration:
    """Catches a failed sub-orchestration and returns what the failure says."""
    try:
        yield ctx.call_sub_orchestrator(
            child_failing, input=message, instance_id=f"{ctx.instance_id}-child")
    except task.TaskFailedError as err:
        return [err.details.error_type, err.details.message]
    return "child unexpectedly succeeded"


def child_waiting(ctx: task.OrchestrationContext, _: Any) -> Orchestration:
    """Sub-orchestration that waits for an event nobody raises."""
    return (yield ctx.wait_for_external_event("never"))


def parent_of_waiting(ctx: task.OrchestrationContext, _: Any) -> Orchestration:
    """Blocks on ``child_waiting`` so that terminate must reach the child."""
    return (yield ctx.call_sub_orchestrator(
        child_waiting, instance_id=f"{ctx.instance_id}-child"))


def retry_until_success(ctx: task.OrchestrationContext, succeed_on: int) -> Orchestration:
    """Calls ``flaky`` under a RetryPolicy with enough attempts."""
    policy = task.RetryPolicy(
        first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=3,
        backoff_coefficient=1.0)
    return (yield ctx.call_activity(flaky, input=succeed_on, retry_policy=policy))


def retry_exhausted(ctx: task.OrchestrationContext, succeed_on: int) -> Orchestration:
    """Calls ``flaky`` with too few attempts and reports the final failure."""
    policy = task.RetryPolicy(
        first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=2)
    try:
        yield ctx.call_activity(flaky, input=succeed_on, retry_policy=policy)
    except task.TaskFailedError as err:
        return [err.details.error_type, err.details.message]
    return "activity unexpectedly succeeded"


def counter(ctx: task.OrchestrationContext, state: dict[str, Any]) -> Orchestration:
    """Continues as new until ``n`` reaches 3, carrying the squares seen so far."""
    n = state["n"]
    if n >= 3:
        return state
    squared = yield ctx.call_activity(square, input=n)
    ctx.continue_as_new({"n": n + 1, "squares": [*state["squares"], squared]})
    return None


def wait_for_go(ctx: task.OrchestrationContext, _: Any) -> Orchestration:
    """Waits for the ``go`` event and echoes its payload."""
    data = yield ctx.wait_for_external_event("go")
    return f"resumed with {data}"


def echo(ctx: task.OrchestrationContext, value: Any) -> Any:
    """Non-generator orchestrator: completes at once with its input."""
    return value


def failing_activity_call(ctx: task.OrchestrationContext, message: str) -> Orchestration:
    """Lets an activity failure fail the orchestration."""
    return (yield ctx.call_activity(always_fails, input=message))


def caught_activity_failure(ctx: task.OrchestrationContext, message: str) -> Orchestration:
    """Catches an activity failure and returns its details."""
    try:
        yield ctx.call_activity(always_fails, input=message)
    except task.TaskFailedError as err:
        return [err.details.error_type, err.details.message]
    return "activity unexpectedly succeeded"


def raising_orchestrator(ctx: task.OrchestrationContext, message: str) -> None:
    """Fails the orchestration with an exception of its own."""
    raise RuntimeError(message)


def custom_status(ctx: task.OrchestrationContext, _: Any) -> Orchestration:
    """Sets a custom status before and after an activity."""
    ctx.set_custom_status({"stage": "started"})
    result = yield ctx.call_activity(square, input=2)
    ctx.set_custom_status({"stage": "done", "n": result})
    return "ok"


def collect_carried(ctx: task.OrchestrationContext, seen: list[Any]) -> Orchestration:
    """Collects three ``item`` events across continue-as-new, carrying unread ones over.

    Each entry records whether the event was delivered during replay: carried-over
    events are new to the next execution, so never.
    """
    item = yield ctx.wait_for_external_event("item")
    seen = [*seen, [item, ctx.is_replaying]]
    if len(seen) < 3:
        ctx.continue_as_new(seen, save_events=True)
        return None
    return seen


def child_flaky(ctx: task.OrchestrationContext, succeed_on: int) -> Orchestration:
    """Sub-orchestration whose activity fails until its ``succeed_on``-th attempt."""
    return (yield ctx.call_activity(flaky, input=succeed_on))


def parent_of_flaky_child(ctx: task.OrchestrationContext, succeed_on: int) -> Orchestration:
    """Fails when ``child_flaky`` fails; a rewind must bring the child back too."""
    result = yield ctx.call_sub_orchestrator(
        child_flaky, input=succeed_on, instance_id=f"{ctx.instance_id}-child")
    return f"parent got: {result}"


ORCHESTRATORS = (
    activity_chain, fan_out_fan_in, relative_timer, absolute_timer, two_events,
    event_or_timeout, child_greeter, parent_of_greeter, child_failing, parent_catching_child,
    child_waiting, parent_of_waiting, retry_until_success, retry_exhausted, counter,
    wait_for_go, echo, failing_activity_call, caught_activity_failure, raising_orchestrator,
    custom_status, collect_carried, child_flaky, parent_of_flaky_child,
)
ACTIVITIES = (greet, square, flaky, always_fails)

S = sr.Scenario
SCENARIOS: tuple[Any, ...] = (
    S("activity_chain", activity_chain, input=["Tokyo", "Seattle", "London"],
      expected_output=["Hello, Tokyo!", "Hello, Seattle!", "Hello, London!"]),
    S("fan_out_fan_in", fan_out_fan_in, input=10,
      expected_output={"values": [i * i for i in range(1, 11)], "sum": 385}),
    S("timer_relative", relative_timer, input=0.3, expected_output=True),
    S("timer_absolute", absolute_timer, input=0.3, expected_output=True),
    S("external_events", two_events,
      steps=(sr.wait_status("RUNNING"), sr.raise_event("approval", True),
             sr.raise_event("PAYLOAD", {"x": 1})),
      expected_output=[True, {"x": 1}], expected_observations=("RUNNING",)),
    S("event_beats_timer", event_or_timeout, input=30,
      steps=(sr.wait_status("RUNNING"), sr.raise_event("go", "now")),
      expected_output="event:now", expected_observations=("RUNNING",)),
    S("timer_beats_event", event_or_timeout, input=0.2, expected_output="timeout"),
    S("sub_orchestration", parent_of_greeter, input="Ada",
      steps=(sr.wait_terminal(), sr.wait_terminal("-child")),
      expected_output="parent got: child says Hello, Ada!",
      expected_observations=("COMPLETED",)),
    S("sub_orchestration_failure_caught", parent_catching_child, input="child boom",
      expected_output=["builtins.ValueError", "child boom"],
      exclusions={OFFICIAL_SIDECAR: OFFICIAL_SIDECAR_MESSAGE_ONLY}),
    S("retry_then_success", retry_until_success, input=3,
      expected_output="succeeded on attempt 3"),
    S("retry_exhausted", retry_exhausted, input=99,
      expected_output=["builtins.ValueError", "attempt 2 failed"]),
    S("continue_as_new", counter, input={"n": 0, "squares": []},
      expected_output={"n": 3, "squares": [0, 1, 4]}),
    S("suspend_resume", wait_for_go,
      steps=(sr.wait_status("RUNNING"), sr.suspend(), sr.wait_status("SUSPENDED"),
             sr.raise_event("go", "payload"), sr.observe_status(), sr.resume()),
      expected_output="resumed with payload",
      expected_observations=("RUNNING", "SUSPENDED", "SUSPENDED")),
    S("terminate", wait_for_go,
      steps=(sr.wait_status("RUNNING"), sr.terminate("stopped by client")),
      expected_status="TERMINATED", expected_output="stopped by client",
      expected_observations=("RUNNING",)),
    S("terminate_while_suspended", wait_for_go,
      steps=(sr.wait_status("RUNNING"), sr.suspend(), sr.wait_status("SUSPENDED"),
             sr.terminate("stopped")),
      expected_status="TERMINATED", expected_output="stopped",
      expected_observations=("RUNNING", "SUSPENDED")),
    S("terminate_recursive", parent_of_waiting,
      steps=(sr.wait_status("RUNNING", "-child"), sr.terminate("down"),
             sr.wait_terminal(), sr.wait_terminal("-child")),
      expected_status="TERMINATED", expected_output="down",
      expected_observations=("RUNNING", "TERMINATED"),
      exclusions={OFFICIAL_SIDECAR: OFFICIAL_SIDECAR_NO_RECURSION}),
    S("purge", echo, input={"keep": "me"},
      steps=(sr.wait_terminal(), sr.purge(), sr.observe_status()),
      expected_output={"keep": "me"}, expected_observations=(1, sr.MISSING)),
    S("purge_recursive", parent_of_greeter, input="Bob",
      steps=(sr.wait_terminal(), sr.wait_terminal("-child"), sr.purge(),
             sr.observe_status(), sr.observe_status("-child")),
      expected_output="parent got: child says Hello, Bob!",
      expected_observations=("COMPLETED", 2, sr.MISSING, sr.MISSING),
      exclusions={OFFICIAL_SIDECAR: OFFICIAL_SIDECAR_NO_RECURSION}),
    S("activity_failure_propagates", failing_activity_call, input="bad input",
      expected_status="FAILED", expected_output=None,
      expected_error_type="durabletask.task.TaskFailedError",
      expected_inner_error_type="builtins.ValueError", expected_message_part="bad input"),
    S("activity_failure_caught", caught_activity_failure, input="bad input",
      expected_output=["builtins.ValueError", "bad input"]),
    S("orchestrator_failure", raising_orchestrator, input="orchestrator boom",
      expected_status="FAILED", expected_error_type="builtins.RuntimeError",
      expected_message_part="orchestrator boom"),
    S("custom_status", custom_status, expected_output="ok",
      expected_custom_status={"stage": "done", "n": 4}),
    # 1.12.0 test_orchestration_e2e::test_continue_as_new: events raised before the first
    # episode are carried over with save_events=True, in order, none replayed or lost.
    S("continue_as_new_carries_events", collect_carried, input=[], start_in=1.0,
      steps=(sr.raise_event("item", 1), sr.raise_event("item", 2), sr.raise_event("item", 3)),
      expected_output=[[1, False], [2, False], [3, False]]),
    # 1.12.0 test_rewind_e2e::test_rewind_with_sub_orchestration: rewinding a parent whose
    # sub-orchestration failed brings the child back, and the parent completes.
    S("rewind_failed_sub_orchestration", parent_of_flaky_child, input=2,
      steps=(sr.wait_status("FAILED"), sr.rewind("fixed")),
      expected_output="parent got: succeeded on attempt 2", expected_observations=("FAILED",)),
)
SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def new_worker(host_address: str) -> Any:
    """Builds (does not start) a worker of this SDK with every kitchen-sink function."""
    w = worker.TaskHubGrpcWorker(host_address=host_address)
    for orchestrator in ORCHESTRATORS:
        w.add_orchestrator(orchestrator)
    for activity in ACTIVITIES:
        w.add_activity(activity)
    return w


def run_scenarios(
    host_address: str,
    *,
    with_worker: bool,
    target: str | None = None,
    names: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Runs the scenario table against a sidecar and returns one JSON-able outcome per row.

    Args:
        host_address: ``host:port`` of the sidecar.
        with_worker: Start a worker of this interpreter's SDK for the duration of the run;
            when False, a worker must already serve the sidecar.
        target: Where the scenarios run; rows excluded for it are reported, not run.
        names: Run only these scenarios (all when None).

    Returns:
        One dict per scenario, in table order, with ``name``, ``status``, ``output``,
        ``custom_status``, ``error_type``, ``inner_error_type``, ``observations`` and
        ``error`` (a runner error, None when the run itself went fine), or ``excluded``.
    """
    chosen = [s for s in SCENARIOS if names is None or s.name in names]
    runnable = [s for s in chosen if target not in s.exclusions]
    run_id = uuid.uuid4().hex[:8]
    w = new_worker(host_address) if with_worker else None
    c = client.TaskHubGrpcClient(host_address=host_address)
    try:
        if w is not None:
            w.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=MAX_PARALLEL_SCENARIOS) as pool:
            futures = {
                s.name: pool.submit(sr.ScenarioRun(c, s, f"{s.name}-{run_id}").run)
                for s in runnable}
            results = {name: future.result() for name, future in futures.items()}
    finally:
        c.close()
        if w is not None:
            w.stop()
    outcomes = [
        results.get(s.name) or {"name": s.name, "excluded": s.exclusions[target]}
        for s in chosen]
    # Round-trip so in-process and subprocess outcomes compare identically.
    normalised: list[dict[str, Any]] = json.loads(json.dumps(outcomes))
    return normalised


def check_outcomes(outcomes: list[dict[str, Any]]) -> list[str]:
    """Checks every outcome against its scenario; excluded rows are skipped.

    Args:
        outcomes: The list returned by :func:`run_scenarios`.

    Returns:
        One line per mismatch; empty when every scenario behaved as expected.
    """
    problems = []
    for outcome in outcomes:
        if "excluded" not in outcome:
            problems.extend(sr.check_outcome(SCENARIOS_BY_NAME[outcome["name"]], outcome))
    return problems
