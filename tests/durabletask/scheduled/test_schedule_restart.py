"""A schedule lives in the sidecar's store: it survives a crash of a sidecar over SQLite.

The sidecar runs in its own process (``create_process_backend``) and is SIGKILLed; the
same worker reconnects to the restarted sidecar and the schedule goes on starting its
orchestration, with its configuration and creation time unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from durabletask import client, worker
from durabletask.scheduled import ScheduleCreationOptions, ScheduledTaskClient, ScheduleStatus
from durabletask.testing.process import create_process_backend
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.scheduled.conftest import GREET, Schedules, greet

pytestmark = pytest.mark.slow


def test_a_schedule_keeps_running_after_the_sqlite_sidecar_is_killed_and_restarted(tmp_path):
    with create_process_backend(db_path=tmp_path / "state.db") as sidecar, \
            worker.TaskHubGrpcWorker(host_address=sidecar.address,
                                     resiliency_options=FAST_WORKER_RESILIENCY) as w, \
            client.TaskHubGrpcClient(host_address=sidecar.address) as dt_client:
        w.add_orchestrator(greet)
        w.configure_scheduled_tasks()
        w.start()
        schedules = Schedules(dt_client, ScheduledTaskClient(dt_client, operation_timeout=20))
        schedules.scheduled.create_schedule(ScheduleCreationOptions(
            schedule_id="durable", orchestration_name=GREET, interval=timedelta(seconds=1),
            orchestration_input="again", start_at=datetime.now(timezone.utc),
            start_immediately_if_late=True))
        poll_until(lambda: schedules.runs("durable"), timeout=15, message="a first run")
        before = schedules.scheduled.get_schedule("durable")

        sidecar.kill()
        sidecar.restart()

        after_restart = {run.instance_id for run in schedules.runs("durable")}
        runs = poll_until(
            lambda: len(schedules.runs("durable")) >= len(after_restart) + 2
            and schedules.runs("durable"),
            timeout=20, message="two runs after the restart")
        described = schedules.scheduled.get_schedule("durable")

    new_runs = [run for run in runs if run.instance_id not in after_restart]
    assert all(run.serialized_output == f'"hello again from {run.instance_id}"'
               for run in new_runs)
    assert described.status is ScheduleStatus.ACTIVE
    assert (described.orchestration_input, described.interval) == (
        before.orchestration_input, before.interval)
    assert described.last_run_at > before.last_run_at
