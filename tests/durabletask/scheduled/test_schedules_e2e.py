"""Schedules end to end on the embedded sidecar: runs, pause/resume, update, list, end time.

Run times are asserted through what a user sees: the orchestrations a schedule started
(their instance ids start with the schedule id) and ``describe()``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from durabletask import client
from durabletask.scheduled import (
    AsyncScheduledTaskClient,
    ScheduleCreationOptions,
    ScheduleNotFoundError,
    ScheduleOperationError,
    ScheduleQuery,
    ScheduleStatus,
    ScheduleUpdateOptions,
)
from tests.durabletask.helpers.wait import async_poll_until, poll_until
from tests.durabletask.scheduled.conftest import GREET

pytestmark = pytest.mark.slow

SECOND = timedelta(seconds=1)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _every_second(schedule_id: str, **kwargs) -> ScheduleCreationOptions:
    kwargs.setdefault("start_at", _now())
    kwargs.setdefault("start_immediately_if_late", True)
    return ScheduleCreationOptions(
        schedule_id=schedule_id, orchestration_name=GREET, interval=SECOND, **kwargs)


def _later(schedule_id: str, **kwargs) -> ScheduleCreationOptions:
    return ScheduleCreationOptions(
        schedule_id=schedule_id, orchestration_name=GREET, interval=timedelta(minutes=5),
        start_at=_now() + timedelta(hours=1), **kwargs)


def test_a_schedule_starts_its_orchestration_at_each_interval_with_its_input(schedules):
    schedule = schedules.scheduled.create_schedule(
        _every_second("tick", orchestration_input="world"))

    runs = poll_until(lambda: len(schedules.runs("tick")) >= 2 and schedules.runs("tick"),
                      timeout=15, message="two runs of the schedule")

    for run in runs:
        assert run.instance_id.startswith("tick-")
        assert run.serialized_output == f'"hello world from {run.instance_id}"'
    described = schedule.describe()
    assert (described.status, described.interval, described.orchestration_input) == (
        ScheduleStatus.ACTIVE, SECOND, "world")
    assert described.last_run_at is not None
    assert described.next_run_at > described.last_run_at


def test_a_paused_schedule_starts_nothing_until_resumed(schedules):
    paused = schedules.scheduled.create_schedule(_every_second("pausing"))
    poll_until(lambda: schedules.runs("pausing"), timeout=15, message="a first run")

    paused.pause()
    started = {s.instance_id for s in schedules.dt_client.get_all_orchestration_states(
        client.OrchestrationQuery(instance_id_prefix="pausing-"))}
    described = paused.describe()
    assert (described.status, described.next_run_at) == (ScheduleStatus.PAUSED, None)
    # A witness schedule on the same interval proves that run times went by.
    schedules.scheduled.create_schedule(_every_second("witness"))
    poll_until(lambda: len(schedules.runs("witness")) >= 3, timeout=15, message="witness runs")
    assert {s.instance_id for s in schedules.dt_client.get_all_orchestration_states(
        client.OrchestrationQuery(instance_id_prefix="pausing-"))} == started

    paused.resume()
    assert paused.describe().status is ScheduleStatus.ACTIVE
    poll_until(lambda: len(schedules.runs("pausing")) > len(started), timeout=15,
               message="a run after resume")


def test_an_update_moves_the_next_run_and_changes_the_input(schedules):
    start = _now() + timedelta(hours=1)
    schedule = schedules.scheduled.create_schedule(ScheduleCreationOptions(
        schedule_id="moving", orchestration_name=GREET, interval=timedelta(minutes=5),
        orchestration_input="before", start_at=start))
    # The first run is planned by the entity's own run signal, right after the create.
    poll_until(lambda: schedule.describe().next_run_at == start, timeout=10,
               message="the first run to be planned at start_at")

    schedule.update(ScheduleUpdateOptions(
        start_at=_now(), interval=SECOND, orchestration_input="after",
        start_immediately_if_late=True))

    run = poll_until(lambda: schedules.runs("moving"), timeout=15, message="a run")[0]
    assert run.serialized_output.startswith('"hello after from moving-')
    described = schedule.describe()
    assert (described.interval, described.orchestration_input) == (SECOND, "after")


def test_list_filters_by_prefix_status_and_creation_time(schedules):
    before = _now()
    for schedule_id in ("team-a-1", "team-a-2", "team-b-1"):
        schedules.scheduled.create_schedule(_later(schedule_id))
    schedules.scheduled.get_schedule_client("team-a-2").pause()

    def ids(**query) -> list[str]:
        return sorted(s.schedule_id for s in schedules.scheduled.list_schedules(
            ScheduleQuery(**query)))

    assert ids() == ["team-a-1", "team-a-2", "team-b-1"]
    assert ids(schedule_id_prefix="team-a-") == ["team-a-1", "team-a-2"]
    assert ids(status=ScheduleStatus.PAUSED) == ["team-a-2"]
    assert ids(created_from=before.replace(tzinfo=None)) == ["team-a-1", "team-a-2", "team-b-1"]
    assert ids(created_to=before) == []
    assert ids(page_size=1) == ["team-a-1", "team-a-2", "team-b-1"]


def test_a_schedule_deletes_itself_after_its_end_time(schedules):
    schedules.scheduled.create_schedule(
        _every_second("ending", end_at=_now() + timedelta(seconds=1.5)))

    poll_until(lambda: schedules.scheduled.get_schedule("ending") is None, timeout=15,
               message="the schedule to delete itself")

    assert schedules.runs("ending")


def test_recreating_a_paused_schedule_replaces_it_and_makes_it_active(schedules):
    schedule = schedules.scheduled.create_schedule(_later("again"))
    schedule.pause()

    schedule.create(_later("again", orchestration_input="new"))

    described = schedule.describe()
    assert (described.status, described.orchestration_input) == (ScheduleStatus.ACTIVE, "new")


def test_delete_removes_the_schedule_and_stops_its_runs(schedules):
    schedule = schedules.scheduled.create_schedule(_every_second("doomed"))
    poll_until(lambda: schedules.runs("doomed"), timeout=15, message="a first run")

    schedule.delete()

    assert schedules.scheduled.get_schedule("doomed") is None
    with pytest.raises(ScheduleNotFoundError):
        schedule.describe()
    started = len(schedules.dt_client.get_all_orchestration_states(
        client.OrchestrationQuery(instance_id_prefix="doomed-")))
    schedules.scheduled.create_schedule(_every_second("witness-2"))
    poll_until(lambda: len(schedules.runs("witness-2")) >= 3, timeout=15, message="witness runs")
    assert len(schedules.dt_client.get_all_orchestration_states(
        client.OrchestrationQuery(instance_id_prefix="doomed-"))) == started


# --- bad input ------------------------------------------------------------------------


def test_an_end_before_the_start_is_refused_before_anything_is_sent(schedules):
    start = _now() + timedelta(hours=2)
    with pytest.raises(ValueError, match="start_at cannot be later than end_at"):
        schedules.scheduled.create_schedule(ScheduleCreationOptions(
            schedule_id="upside-down", orchestration_name=GREET, interval=SECOND,
            start_at=start, end_at=start - timedelta(hours=1)))

    assert schedules.scheduled.get_schedule("upside-down") is None
    assert schedules.dt_client.get_all_orchestration_states(client.OrchestrationQuery()) == []


def test_an_update_that_ends_before_the_start_fails_and_changes_nothing(schedules):
    schedule = schedules.scheduled.create_schedule(_later("window"))
    start = schedule.describe().start_at

    with pytest.raises(ScheduleOperationError) as raised:
        schedule.update(ScheduleUpdateOptions(end_at=start - timedelta(minutes=1)))

    # 1.12.0 raises a RuntimeError with this message; ours is one too.
    assert isinstance(raised.value, RuntimeError)
    assert "Failed to 'update_schedule' schedule 'window'" in str(raised.value)
    assert "start_at cannot be later than end_at" in str(raised.value)
    assert schedule.describe().end_at is None


@pytest.mark.parametrize("operation", ["pause", "resume", "update"])
def test_operations_on_an_unknown_schedule_raise_not_found(schedules, operation):
    schedule = schedules.scheduled.get_schedule_client("nobody")
    args = [ScheduleUpdateOptions(interval=SECOND)] if operation == "update" else []

    with pytest.raises(ScheduleNotFoundError, match="Schedule with ID 'nobody' was not found"):
        getattr(schedule, operation)(*args)

    with pytest.raises(ScheduleNotFoundError) as raised:
        schedule.describe()
    assert raised.value.schedule_id == "nobody"
    assert schedules.scheduled.get_schedule("nobody") is None
    schedule.delete()  # deleting what is not there is not an error, as in 1.12.0


def test_invalid_transitions_are_refused_with_the_reason(schedules):
    schedule = schedules.scheduled.create_schedule(_later("twice"))

    with pytest.raises(ScheduleOperationError, match="Invalid state transition") as raised:
        schedule.resume()
    assert raised.value.operation_name == "resume_schedule"
    schedule.pause()
    with pytest.raises(RuntimeError, match="'pause_schedule' cannot transition"):
        schedule.pause()
    assert schedule.describe().status is ScheduleStatus.PAUSED


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=-5), SECOND / 2])
def test_an_interval_below_one_second_is_a_value_error(interval):
    with pytest.raises(ValueError, match="Interval must be"):
        ScheduleCreationOptions(schedule_id="s", orchestration_name=GREET, interval=interval)
    with pytest.raises(ValueError, match="Interval must be"):
        ScheduleUpdateOptions(interval=interval)


def test_an_empty_schedule_id_is_a_value_error(schedules):
    with pytest.raises(ValueError, match="schedule_id cannot be empty"):
        schedules.scheduled.get_schedule_client("")


# --- the async client -----------------------------------------------------------------


async def test_the_async_client_manages_schedules(schedules, sidecar):
    async with client.AsyncTaskHubGrpcClient(host_address=sidecar.address) as async_client:
        scheduled = AsyncScheduledTaskClient(async_client, operation_timeout=20)
        schedule = await scheduled.create_schedule(_every_second("async-tick"))
        await async_poll_until(lambda: schedules.runs("async-tick"), timeout=15,
                               message="a run")

        assert [s.schedule_id for s in await scheduled.list_schedules(
            ScheduleQuery(schedule_id_prefix="async-"))] == ["async-tick"]
        await schedule.pause()
        assert (await schedule.describe()).status is ScheduleStatus.PAUSED
        with pytest.raises(ScheduleOperationError):
            await schedule.pause()
        await schedule.resume()
        await schedule.delete()
        assert await scheduled.get_schedule("async-tick") is None
        with pytest.raises(ScheduleNotFoundError):
            await scheduled.get_schedule_client("async-nobody").resume()


def test_scheduled_tasks_are_configured_once_and_before_the_worker_starts(make_worker):
    configured = make_worker([])
    configured.configure_scheduled_tasks()
    with pytest.raises(ValueError, match="already registered"):
        configured.configure_scheduled_tasks()

    running = make_worker([])
    running.start()
    with pytest.raises(RuntimeError, match="cannot configure scheduled tasks while the worker"):
        running.configure_scheduled_tasks()
