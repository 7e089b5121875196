"""The time-skipping environment: durable time jumps, real work stays real."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from durabletask import client, task
from durabletask.entities import DurableEntity, EntityInstanceId
from durabletask.testing import TimeSkippingEnvironment
from tests.durabletask.helpers.wait import poll_until

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


ATTEMPTS: list[int] = []


def flaky_payment(ctx: task.ActivityContext, _: object) -> str:
    """Fails its first attempt."""
    ATTEMPTS.append(len(ATTEMPTS) + 1)
    if len(ATTEMPTS) == 1:
        raise RuntimeError("the first attempt fails")
    return "paid"


def monthly_billing(ctx: task.OrchestrationContext, _: object):
    began = ctx.current_utc_datetime
    yield ctx.create_timer(timedelta(days=30))
    after_timer = ctx.current_utc_datetime
    policy = task.RetryPolicy(first_retry_interval=timedelta(days=7), max_number_of_attempts=2)
    result = yield ctx.call_activity(flaky_payment, retry_policy=policy)
    return {
        "result": result,
        "timer_seconds": (after_timer - began).total_seconds(),
        "total_seconds": (ctx.current_utc_datetime - began).total_seconds(),
    }


THIRTY_DAYS = timedelta(days=30).total_seconds()
SEVEN_DAYS = timedelta(days=7).total_seconds()


@pytest.fixture(autouse=True)
def _fresh_attempts():
    ATTEMPTS.clear()


@pytest.mark.timeout(10)  # a real 30-day (or 7-day) wait would trip it
def test_a_30_day_timer_and_a_7_day_retry_backoff_complete_in_seconds(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[monthly_billing], activities=[flaky_payment],
                                    start=START)
    instance_id = env.client.schedule_new_orchestration(monthly_billing)
    state = env.client.wait_for_orchestration_completion(instance_id, timeout=8)

    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    output = state.get_output()
    assert output["result"] == "paid"
    assert len(ATTEMPTS) == 2  # the activity ran for real, twice
    # The orchestration's own clock: 30 days passed (plus the milliseconds real work took).
    assert THIRTY_DAYS <= output["timer_seconds"] < THIRTY_DAYS + 60
    assert THIRTY_DAYS + SEVEN_DAYS <= output["total_seconds"] < THIRTY_DAYS + SEVEN_DAYS + 60
    assert env.now() >= START + timedelta(days=37)


@pytest.mark.timeout(10)
async def test_the_async_client_drives_the_same_environment(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[monthly_billing], activities=[flaky_payment],
                                    start=START)
    async with env.async_client() as c:
        instance_id = await c.schedule_new_orchestration(monthly_billing)
        state = await c.wait_for_orchestration_completion(instance_id, timeout=8)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert THIRTY_DAYS <= state.get_output()["timer_seconds"] < THIRTY_DAYS + 60


def reminder(ctx: task.OrchestrationContext, _: object):
    yield ctx.create_timer(timedelta(hours=1))
    return "reminded"


def test_skip_moves_time_only_as_far_as_asked_without_auto_skip(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[reminder], auto_skip=False, start=START)
    instance_id = env.client.schedule_new_orchestration(reminder)

    env.skip(timedelta(minutes=30))  # waits for the first episode (the timer exists), then skips
    state = env.client.get_orchestration_state(instance_id)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.RUNNING

    env.skip(timedelta(minutes=31))
    state = env.client.wait_for_orchestration_completion(instance_id, timeout=10)
    assert state is not None
    assert state.get_output() == "reminded"
    assert START + timedelta(minutes=61) <= env.now() < START + timedelta(minutes=62)


async def test_skip_async_lets_timers_fire_in_order(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[reminder], auto_skip=False, start=START)
    async with env.async_client() as c:
        first = await c.schedule_new_orchestration(reminder)
        await env.skip_async(timedelta(minutes=45))
        second = await c.schedule_new_orchestration(reminder)
        await env.skip_async(timedelta(minutes=30))  # the first is due, the second is not
        assert (await c.get_orchestration_state(first)).runtime_status == (
            client.OrchestrationStatus.COMPLETED)
        assert (await c.get_orchestration_state(second)).runtime_status == (
            client.OrchestrationStatus.RUNNING)


def test_the_clock_never_jumps_while_an_activity_runs(durabletask_time_skipping):
    started, release = threading.Event(), threading.Event()

    def slow_lookup(ctx: task.ActivityContext, _: object) -> str:
        started.set()
        release.wait(10)
        return "looked up"

    def lookup_or_give_up(ctx: task.OrchestrationContext, _: object):
        lookup = ctx.call_activity(slow_lookup)
        deadline = ctx.create_timer(timedelta(hours=1))
        winner = yield task.when_any([lookup, deadline])
        return lookup.get_result() if winner is lookup else "gave up"

    env = durabletask_time_skipping(orchestrators=[lookup_or_give_up], activities=[slow_lookup])
    try:
        instance_id = env.client.schedule_new_orchestration(lookup_or_give_up)
        assert started.wait(10)
        # The hour-long timer is pending, but the activity's thread holds its lease: busy.
        with pytest.raises(TimeoutError, match="leased"):
            env.wait_until_idle(timeout=0.3)
        assert env.jumps == 0
    finally:
        release.set()
    state = env.client.wait_for_orchestration_completion(instance_id, timeout=10)
    assert state is not None
    assert state.get_output() == "looked up"


def scheduled_greeting(ctx: task.OrchestrationContext, name: str):
    return f"hello {name} at {ctx.current_utc_datetime.isoformat()}"


@pytest.mark.timeout(10)
def test_a_start_scheduled_two_days_ahead_runs_on_its_day(durabletask_time_skipping):
    env = durabletask_time_skipping(orchestrators=[scheduled_greeting], start=START)
    due = START + timedelta(days=2)
    instance_id = env.client.schedule_new_orchestration(scheduled_greeting, input="ada",
                                                        start_at=due)
    state = env.client.wait_for_orchestration_completion(instance_id, timeout=8)
    assert state is not None
    # current_utc_datetime is naive UTC, as in durabletask 1.12.0
    ran_at = datetime.fromisoformat(state.get_output().removeprefix("hello ada at "))
    ran_at = ran_at.replace(tzinfo=timezone.utc)
    assert due <= ran_at < due + timedelta(minutes=1)


def test_registration_after_start_is_refused():
    env = TimeSkippingEnvironment()
    with env:
        with pytest.raises(RuntimeError, match="before start"):
            env.add_orchestrator(reminder)
    with pytest.raises(RuntimeError, match="not started"):
        _ = env.client
    with pytest.raises(RuntimeError, match="cannot start again"):
        env.start()


class Reminders(DurableEntity):
    def remind(self, note: str) -> None:
        self.set_state(note)


@pytest.mark.timeout(10)
def test_an_entity_signal_sent_for_tomorrow_arrives_tomorrow(durabletask_time_skipping):
    env = durabletask_time_skipping(entities=[Reminders], start=START)
    entity_id = EntityInstanceId("Reminders", "ada")
    due = START + timedelta(days=1)
    env.client.signal_entity(entity_id, "remind", input="call bob", signal_time=due)
    metadata = poll_until(lambda: env.client.get_entity(entity_id), timeout=8,
                          message="the delayed signal")
    assert metadata.get_state() == '"call bob"'
    assert due <= metadata.last_modified < due + timedelta(minutes=1)
