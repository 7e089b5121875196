"""Scheduled tasks: an orchestration started every second, paused, updated and deleted.

Runs on the embedded sidecar: ``python -m examples.scheduled_tasks``. See docs/scheduled.md.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

from durabletask import client, task, worker
from durabletask.scheduled import (
    ScheduleCreationOptions,
    ScheduledTaskClient,
    ScheduleQuery,
    ScheduleStatus,
    ScheduleUpdateOptions,
)
from durabletask.testing import create_test_backend


def send_report(ctx: task.OrchestrationContext, team: str) -> str:
    return f"report for {team} at {ctx.current_utc_datetime:%H:%M:%S}"


def runs_of(c: client.TaskHubGrpcClient, schedule_id: str) -> list[client.OrchestrationState]:
    """The orchestrations a schedule started: their ids start with the schedule id."""
    return c.get_all_orchestration_states(client.OrchestrationQuery(
        instance_id_prefix=f"{schedule_id}-", fetch_inputs_and_outputs=True,
        runtime_status=[client.OrchestrationStatus.COMPLETED]))


def wait_for(condition, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def run(address: str) -> int:
    with worker.TaskHubGrpcWorker(host_address=address) as w:
        w.add_orchestrator(send_report)
        w.configure_scheduled_tasks()          # the schedule entity and its orchestrator
        w.start()
        with client.TaskHubGrpcClient(host_address=address) as c:
            schedules = ScheduledTaskClient(c)
            report = schedules.create_schedule(ScheduleCreationOptions(
                schedule_id="daily-report",
                orchestration_name=task.get_name(send_report),
                orchestration_input="platform",
                interval=timedelta(seconds=1),   # a day in real life
                start_at=datetime.now(timezone.utc),
                start_immediately_if_late=True,
            ))
            if not wait_for(lambda: len(runs_of(c, "daily-report")) >= 2):
                return 1
            for run_state in runs_of(c, "daily-report")[:2]:
                print(f"{run_state.instance_id}: {run_state.serialized_output}")

            report.pause()
            print(f"paused: {report.describe().status.value}")
            report.update(ScheduleUpdateOptions(orchestration_input="data",
                                                interval=timedelta(hours=1)))
            report.resume()
            described = report.describe()
            print(f"resumed: every {described.interval}, next run at {described.next_run_at}")
            listed = schedules.list_schedules(ScheduleQuery(status=ScheduleStatus.ACTIVE))
            print(f"active schedules: {[s.schedule_id for s in listed]}")

            report.delete()
            print(f"deleted: {schedules.get_schedule('daily-report') is None}")
            return 0 if described.orchestration_input == "data" else 1


def main(address: str | None = None) -> int:
    if address is not None:
        return run(address)
    backend = create_test_backend(port=0)
    try:
        return run(backend.address)
    finally:
        backend.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
