"""Names and ids the sidecar would refuse fail the orchestration at once, in the orchestrator.

Before, such an orchestration sent an answer the sidecar refused, and the instance sat
PENDING until six lease timeouts declared its workers lost. Now the orchestration API raises
``ValueError`` naming the problem, so the orchestration fails with that message right away
(and a sidecar that still gets such an answer fails the instance, see
tests/durabletask/sidecar/test_refused_answers.py).
"""

from __future__ import annotations

import pytest

from durabletask import client, task

Status = client.OrchestrationStatus


def child(ctx: task.OrchestrationContext, _):
    return "child"


def long_child_id(ctx: task.OrchestrationContext, _):
    yield ctx.call_sub_orchestrator(child, instance_id="c" * 300)


def multi_line_child_id(ctx: task.OrchestrationContext, _):
    yield ctx.call_sub_orchestrator(child, instance_id="a\nb")


def multi_line_event(ctx: task.OrchestrationContext, _):
    ctx.send_event("someone", "a\nb")
    yield ctx.create_timer(ctx.current_utc_datetime)


def control_character_activity(ctx: task.OrchestrationContext, _):
    yield ctx.call_activity("bad\x01name")


CASES = {
    long_child_id: "call_sub_orchestrator(): sub-orchestration instance id is 300 characters",
    multi_line_child_id: "call_sub_orchestrator(): sub-orchestration instance id 'a\\nb' "
                         "contains control characters",
    multi_line_event: "send_event(): event name 'a\\nb' contains control characters",
    control_character_activity: "call_activity(): activity name 'bad\\x01name' contains "
                                "control characters",
}


@pytest.mark.parametrize("orchestrator", list(CASES), ids=lambda f: f.__name__)
def test_a_name_the_sidecar_refuses_fails_the_orchestration_with_a_value_error(
    run_worker, dt_client, orchestrator
):
    run_worker([orchestrator, child])

    instance_id = dt_client.schedule_new_orchestration(orchestrator)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=15)

    assert state.runtime_status == Status.FAILED
    assert state.failure_details.error_type == "builtins.ValueError"
    assert state.failure_details.message.startswith(CASES[orchestrator])
