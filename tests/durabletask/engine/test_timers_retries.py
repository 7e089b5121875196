"""Durable timers (chunking, time zones, cancellation) and retry policies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from durabletask import task
from tests.durabletask.engine import histories as h


def _fire_at(action):
    return action.createTimer.fireAt.ToDatetime()


def test_timer_with_timedelta_fires_relative_to_orchestration_clock():
    def orch(ctx, _):
        yield ctx.create_timer(timedelta(minutes=5))
        return "woke"

    episodes = h.Episodes(h.new_executor([orch]))
    results = episodes.run(h.execution_started("orch"))
    assert h.kinds(results) == ["createTimer"]
    assert _fire_at(results.actions[0]) == h.after(300)
    assert h.output_of(episodes.run(h.timer_fired(1, h.after(300)), at=h.after(300))) == "woke"


def test_timer_with_aware_datetime_is_normalised_to_naive_utc():
    def orch(ctx, _):
        yield ctx.create_timer(datetime(2024, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))

    results = h.new_executor([orch]).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert _fire_at(results.actions[0]) == datetime(2024, 1, 1, 12, 0)


def test_long_timer_is_split_into_chunks_and_completes_on_the_final_one():
    def orch(ctx, _):
        yield ctx.create_timer(timedelta(days=7))
        return "done"

    executor = h.new_executor([orch], maximum_timer_interval=timedelta(days=3))
    episodes = h.Episodes(executor)
    first = episodes.run(h.execution_started("orch"))
    assert [(a.id, _fire_at(a)) for a in first.actions] == [(1, h.T0 + timedelta(days=3))]
    day3, day6, day7 = (h.T0 + timedelta(days=d) for d in (3, 6, 7))
    second = episodes.run(h.timer_fired(1, day3), at=day3)
    assert [(a.id, _fire_at(a)) for a in second.actions] == [(2, day6)]
    third = episodes.run(h.timer_fired(2, day6), at=day6)
    assert [(a.id, _fire_at(a)) for a in third.actions] == [(3, day7)]
    assert h.output_of(episodes.run(h.timer_fired(3, day7), at=day7)) == "done"


def test_long_timer_is_not_split_when_maximum_interval_is_none():
    def orch(ctx, _):
        yield ctx.create_timer(timedelta(days=30))

    results = h.new_executor([orch], maximum_timer_interval=None).execute(h.INSTANCE_ID, [], [
        h.orchestrator_started(), h.execution_started("orch"),
    ])
    assert _fire_at(results.actions[0]) == h.T0 + timedelta(days=30)


def test_cancelled_timer_firing_later_is_ignored():
    def orch(ctx, _):
        timer = ctx.create_timer(timedelta(hours=1))
        event = ctx.wait_for_external_event("approve")
        winner = yield task.when_any([timer, event])
        if winner is event:
            timer.cancel()
        yield ctx.call_activity("after")
        return timer.is_cancelled

    episodes = h.Episodes(h.new_executor([orch]))
    episodes.run(h.execution_started("orch"))
    results = episodes.run(h.event_raised("approve"))
    assert [(a.id, a.scheduleTask.name) for a in results.actions] == [(2, "after")]
    late = episodes.run(h.timer_fired(1, h.after(3600)))
    assert late.actions == []
    assert h.output_of(episodes.run(h.task_completed(2))) is True


def _retry_orch(policy):
    def retrying(ctx, _):
        return (yield ctx.call_activity("flaky", input=1, retry_policy=policy))

    return retrying


def test_retry_reemits_schedule_task_with_same_id_and_timer_takes_new_id():
    policy = task.RetryPolicy(
        first_retry_interval=timedelta(seconds=10), max_number_of_attempts=3,
        backoff_coefficient=2.0,
    )
    episodes = h.Episodes(h.new_executor([_retry_orch(policy)]))
    assert [a.id for a in episodes.run(h.execution_started("retrying")).actions] == [1]
    backoff = episodes.run(h.task_failed(1, "try 1"), at=h.after(1))
    assert [(a.id, _fire_at(a)) for a in backoff.actions] == [(2, h.after(11))]
    retry = episodes.run(h.timer_fired(2, h.after(11)), at=h.after(11))
    assert [(a.id, a.scheduleTask.name, a.scheduleTask.input.value) for a in retry.actions] == [
        (1, "flaky", "1")
    ]
    backoff2 = episodes.run(h.task_failed(1, "try 2"), at=h.after(12))
    assert [(a.id, _fire_at(a)) for a in backoff2.actions] == [(3, h.after(32))]
    episodes.run(h.timer_fired(3, h.after(32)), at=h.after(32))
    final = episodes.run(h.task_failed(1, "try 3"), at=h.after(33))
    details = h.failure_of(final)
    assert details.innerFailure.errorMessage == "try 3"


def test_retry_succeeds_on_a_later_attempt():
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=1), max_number_of_attempts=2)
    episodes = h.Episodes(h.new_executor([_retry_orch(policy)]))
    episodes.run(h.execution_started("retrying"))
    episodes.run(h.task_failed(1))
    episodes.run(h.timer_fired(2, h.after(1)), at=h.after(1))
    assert h.output_of(episodes.run(h.task_completed(1, "ok"), at=h.after(2))) == "ok"


def test_retry_timeout_is_measured_on_the_orchestration_clock():
    policy = task.RetryPolicy(
        first_retry_interval=timedelta(seconds=5), max_number_of_attempts=10,
        retry_timeout=timedelta(minutes=1),
    )
    episodes = h.Episodes(h.new_executor([_retry_orch(policy)]))
    episodes.run(h.execution_started("retrying"))
    assert h.kinds(episodes.run(h.task_failed(1), at=h.after(30))) == ["createTimer"]
    episodes.run(h.timer_fired(2, h.after(35)), at=h.after(35))
    final = episodes.run(h.task_failed(1, "too late"), at=h.after(61))
    assert h.failure_of(final).innerFailure.errorMessage == "too late"


def test_sub_orchestrator_retry_reuses_action_id_and_instance_id():
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=1), max_number_of_attempts=2)

    def parent(ctx, _):
        return (yield ctx.call_sub_orchestrator("child", retry_policy=policy))

    episodes = h.Episodes(h.new_executor([parent]))
    first = episodes.run(h.execution_started("parent"))
    episodes.run(h.sub_orchestration_failed(1))
    retry = episodes.run(h.timer_fired(2, h.after(1)), at=h.after(1))
    assert retry.actions[0].id == 1
    assert retry.actions[0].createSubOrchestration.instanceId == \
        first.actions[0].createSubOrchestration.instanceId
    assert h.output_of(episodes.run(h.sub_orchestration_completed(1, 9))) == 9
