"""Fixtures for scheduled tasks: a worker with schedules enabled on a real sidecar."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from durabletask import client, task, worker
from durabletask.scheduled import ScheduledTaskClient


def greet(ctx: task.OrchestrationContext, name: str | None) -> str:
    """The orchestration the schedules start: returns its input and its instance id."""
    return f"hello {name} from {ctx.instance_id}"


GREET = task.get_name(greet)


@dataclass
class Schedules:
    """A running worker with schedules enabled, a client, and the schedule client on it."""

    dt_client: client.TaskHubGrpcClient
    scheduled: ScheduledTaskClient

    def runs(self, schedule_id: str) -> list[client.OrchestrationState]:
        """The completed orchestrations a schedule started (its instance ids start with it)."""
        return self.dt_client.get_all_orchestration_states(client.OrchestrationQuery(
            instance_id_prefix=f"{schedule_id}-",
            runtime_status=[client.OrchestrationStatus.COMPLETED],
            fetch_inputs_and_outputs=True,
        ))


def start_schedule_worker(make_worker, **kwargs) -> worker.TaskHubGrpcWorker:
    """Start a worker running ``greet`` with scheduled tasks configured."""
    w = make_worker([greet], **kwargs)
    w.configure_scheduled_tasks()
    w.start()
    return w


@pytest.fixture
def schedules(make_worker, dt_client) -> Schedules:
    """Schedules on the test's sidecar; the operations time out after 20 s, not 60."""
    start_schedule_worker(make_worker)
    return Schedules(dt_client, ScheduledTaskClient(dt_client, operation_timeout=20))
