"""Golden histories (JSON, protobuf field names) replayed to their recorded actions."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from durabletask import task
from durabletask.internal.engine import OrchestrationExecutor, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb

GOLDEN_DIR = Path(__file__).parent / "golden"


def hello_sequence(ctx: task.OrchestrationContext, _: Any):
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield ctx.call_activity("say_hello", input=city)))
    return results


def fan_out_fan_in(ctx: task.OrchestrationContext, count: int):
    parts = yield task.when_all([ctx.call_activity("square", input=i) for i in range(count)])
    return sum(parts)


def approval(ctx: task.OrchestrationContext, _: Any):
    timeout = ctx.create_timer(timedelta(hours=1))
    decision = ctx.wait_for_external_event("Approval")
    winner = yield task.when_any([decision, timeout])
    if winner is timeout:
        return "timed out"
    timeout.cancel()
    return (yield ctx.call_activity("apply", input=decision.get_result()))


def checkout(ctx: task.OrchestrationContext, order: dict):
    # History was recorded with "charge_card"; this version renamed the activity.
    receipt = yield ctx.call_activity("charge_card_v2", input=order)
    return receipt


def resilient(ctx: task.OrchestrationContext, _: Any):
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=30), max_number_of_attempts=3)
    return (yield ctx.call_activity("flaky", retry_policy=policy))


ORCHESTRATORS = [hello_sequence, fan_out_fan_in, approval, checkout, resilient]


def _events(items: list[dict[str, Any]]) -> list[pb.HistoryEvent]:
    return [json_format.ParseDict(item, pb.HistoryEvent()) for item in items]


def _without_stack_traces(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_stack_traces(v) for k, v in value.items() if k != "stackTrace"}
    if isinstance(value, list):
        return [_without_stack_traces(v) for v in value]
    return value


def replay(case: dict[str, Any]) -> list[dict[str, Any]]:
    registry = Registry()
    for fn in ORCHESTRATORS:
        registry.add_orchestrator(fn)
    results = OrchestrationExecutor(registry).execute(
        case["instanceId"], _events(case["pastEvents"]), _events(case["newEvents"])
    )
    return [_without_stack_traces(json_format.MessageToDict(a)) for a in results.actions]


GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.json"))


def test_golden_directory_has_a_nondeterministic_case():
    assert any("nondeterministic" in path.name for path in GOLDEN_FILES)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_golden_history_replays_to_recorded_actions(path: Path):
    case = json.loads(path.read_text())
    assert replay(case) == case["expectedActions"]


def test_nondeterministic_golden_names_expected_and_actual_actions():
    case = json.loads((GOLDEN_DIR / "nondeterministic_renamed_activity.json").read_text())
    failure = replay(case)[-1]["completeOrchestration"]["failureDetails"]
    assert failure["errorType"] == "durabletask.task.NonDeterminismError"
    assert "expects call_activity 'charge_card' (scheduleTask, id 1)" in failure["errorMessage"]
    assert "produced call_activity 'charge_card_v2' (scheduleTask, id 1)" in \
        failure["errorMessage"]
