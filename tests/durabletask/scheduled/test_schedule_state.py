"""The persisted schedule state: the .NET shape the Durable Task Scheduler dashboard reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from durabletask.scheduled import ScheduleCreationOptions, ScheduleStatus, ScheduleUpdateOptions
from durabletask.scheduled.models import ScheduleConfiguration, ScheduleState
from durabletask.serialization import JsonDataConverter

CONVERTER = JsonDataConverter()
START = datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)


def _state(**options) -> ScheduleState:
    state = ScheduleState()
    state.status = ScheduleStatus.PAUSED
    state.schedule_created_at = START
    state.schedule_configuration = ScheduleConfiguration.from_create_options(
        ScheduleCreationOptions(schedule_id="nightly", orchestration_name="report", **options))
    return state


# The .NET TimeSpan text ("[-][d.]hh:mm:ss[.fffffff]"), as 1.12.0 writes it.
@pytest.mark.parametrize(("interval", "text"), [
    (timedelta(seconds=90), "00:01:30"),
    (timedelta(days=2, hours=3), "2.03:00:00"),
    (timedelta(seconds=1, microseconds=250), "00:00:01.0002500"),
    (timedelta(days=1, seconds=1, microseconds=500000), "1.00:00:01.5000000"),
])
def test_the_interval_is_stored_as_a_dotnet_timespan_and_read_back(interval, text):
    stored = json.loads(CONVERTER.serialize(_state(interval=interval)))

    assert stored["ScheduleConfiguration"]["Interval"] == text
    assert CONVERTER.deserialize(json.dumps(stored), ScheduleState) \
        .schedule_configuration.interval == interval


def test_the_state_is_pascal_case_with_the_status_ordinal_and_the_input_as_json_text():
    stored = json.loads(CONVERTER.serialize(_state(
        interval=timedelta(hours=1), orchestration_input={"day": 1}, start_at=START)))

    assert stored["Status"] == 2
    assert stored["ScheduleCreatedAt"] == START.isoformat()
    assert stored["ScheduleConfiguration"] == {
        "ScheduleId": "nightly", "OrchestrationName": "report", "Interval": "01:00:00",
        "OrchestrationInput": '{"day": 1}', "OrchestrationInstanceId": None,
        "StartAt": START.isoformat(), "EndAt": None, "StartImmediatelyIfLate": False,
    }
    restored = CONVERTER.deserialize(json.dumps(stored), ScheduleState)
    described = restored.to_description()
    assert (described.schedule_id, described.status, described.orchestration_input) == (
        "nightly", ScheduleStatus.PAUSED, {"day": 1})


@pytest.mark.parametrize(("stored", "status"), [
    (0, ScheduleStatus.UNINITIALIZED), (1, ScheduleStatus.ACTIVE), ("2", ScheduleStatus.PAUSED),
    ("paused", ScheduleStatus.PAUSED), ("Unknown", ScheduleStatus.UNINITIALIZED),
    (True, ScheduleStatus.UNINITIALIZED), (7, ScheduleStatus.UNINITIALIZED),
])
def test_stored_statuses_are_read_as_ordinals_or_names(stored, status):
    assert ScheduleStatus.from_dotnet(stored) is status


def test_an_update_reports_only_the_fields_it_changed_and_checks_the_window():
    config = _state(interval=timedelta(minutes=5), start_at=START).schedule_configuration

    assert config.update(ScheduleUpdateOptions(
        orchestration_name="", interval=timedelta(minutes=5), orchestration_input=0,
    )) == {"orchestration_input"}
    with pytest.raises(ValueError, match="start_at cannot be later than end_at"):
        config.update(ScheduleUpdateOptions(end_at=START - timedelta(days=1)))
