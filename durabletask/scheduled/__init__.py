"""Scheduled tasks: start an orchestration at a fixed interval, durably.

A schedule is a durable entity (``@schedule@{schedule_id}``) driven by delayed signals to
itself, so it lives in the sidecar's store and survives restarts. Enable it on a worker
with :meth:`durabletask.worker.TaskHubGrpcWorker.configure_scheduled_tasks`, then manage
schedules with :class:`ScheduledTaskClient` (or :class:`AsyncScheduledTaskClient`).
See docs/scheduled.md.
"""

from durabletask.scheduled.client import (
    AsyncScheduleClient,
    AsyncScheduledTaskClient,
    ScheduleClient,
    ScheduledTaskClient,
)
from durabletask.scheduled.exceptions import (
    ScheduleClientValidationError,
    ScheduleError,
    ScheduleInvalidTransitionError,
    ScheduleNotFoundError,
    ScheduleOperationError,
)
from durabletask.scheduled.models import (
    ScheduleCreationOptions,
    ScheduleDescription,
    ScheduleQuery,
    ScheduleUpdateOptions,
)
from durabletask.scheduled.schedule_status import ScheduleStatus

__all__ = [
    "ScheduledTaskClient",
    "AsyncScheduledTaskClient",
    "ScheduleClient",
    "AsyncScheduleClient",
    "ScheduleCreationOptions",
    "ScheduleUpdateOptions",
    "ScheduleDescription",
    "ScheduleQuery",
    "ScheduleStatus",
    "ScheduleError",
    "ScheduleNotFoundError",
    "ScheduleClientValidationError",
    "ScheduleInvalidTransitionError",
    "ScheduleOperationError",
]

PACKAGE_NAME = "durabletask.scheduled"
