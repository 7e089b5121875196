"""Testing timers with the ``durabletask_time_skipping`` fixture (no conftest.py needed).

Each call of the fixture starts its own sidecar, worker and client on a virtual clock: a
reminder due in a week fires at once, while the orchestration sees the week pass.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from durabletask import client, task


def send_email(ctx: task.ActivityContext, to: str) -> str:
    return f"reminder sent to {to}"


def remind_in_a_week(ctx: task.OrchestrationContext, to: str):
    yield ctx.create_timer(timedelta(days=7))
    return (yield ctx.call_activity(send_email, input=to))


@pytest.mark.timeout(20)  # a real week would trip it
def test_a_weekly_reminder_fires_without_waiting_a_week(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[remind_in_a_week], activities=[send_email])
    started = env.now()
    instance_id = env.client.schedule_new_orchestration(remind_in_a_week, input="ada")
    state = env.client.wait_for_orchestration_completion(instance_id, timeout=15)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.get_output() == "reminder sent to ada"
    assert env.now() - started >= timedelta(days=7)


def test_time_moves_only_when_the_test_skips_it(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[remind_in_a_week], activities=[send_email],
                                    auto_skip=False)
    instance_id = env.client.schedule_new_orchestration(remind_in_a_week, input="bob")
    env.skip(timedelta(days=6))
    state = env.client.get_orchestration_state(instance_id)
    assert state.runtime_status == client.OrchestrationStatus.RUNNING
    env.skip(timedelta(days=1))
    state = env.client.wait_for_orchestration_completion(instance_id, timeout=15)
    assert state.get_output() == "reminder sent to bob"
