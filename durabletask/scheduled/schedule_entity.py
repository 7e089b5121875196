"""The schedule entity: one per schedule, keeping its state and starting its orchestration.

The entity drives itself with a chain of delayed ``run_schedule`` signals: each run starts
the orchestration when it is due and signals itself for the next run time. Every signal
carries the execution token it was sent under; re-creating, updating or pausing the
schedule changes the token, which turns the signals already in flight into no-ops. The
state and the pending signal live in the sidecar, so a schedule survives a restart of the
sidecar (with a durable store) and of the worker.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from durabletask.entities import DurableEntity, EntityInstanceId
from durabletask.scheduled import transitions
from durabletask.scheduled._formats import as_aware
from durabletask.scheduled.exceptions import ScheduleInvalidTransitionError
from durabletask.scheduled.models import (
    ScheduleConfiguration,
    ScheduleCreationOptions,
    ScheduleState,
    ScheduleUpdateOptions,
)
from durabletask.scheduled.schedule_status import ScheduleStatus

__all__ = ["DELETE_OPERATION", "ENTITY_NAME", "RUN_SCHEDULE_OPERATION", "Schedule"]

ENTITY_NAME = "schedule"
"""The (lower-case) entity name of schedules: a schedule's entity id is ``@schedule@{id}``."""

DELETE_OPERATION = "delete"
RUN_SCHEDULE_OPERATION = "run_schedule"

# Changing one of these moves the next run time, so it is computed again.
_TIMING_FIELDS = frozenset({"start_at", "interval", "start_immediately_if_late"})

logger = logging.getLogger("durabletask.scheduled")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Schedule(DurableEntity):
    """A recurring schedule: create, update, pause, resume, delete, and the run heartbeat."""

    def _load(self) -> ScheduleState:
        return self.get_state(ScheduleState, ScheduleState())

    def _signal_run(self, state: ScheduleState, when: datetime | None = None) -> None:
        assert state.schedule_configuration is not None
        self.signal_entity(
            EntityInstanceId(ENTITY_NAME, state.schedule_configuration.schedule_id),
            RUN_SCHEDULE_OPERATION, state.execution_token, signal_time=when)

    def _require_transition(
        self, state: ScheduleState, operation: str, target: ScheduleStatus, schedule_id: str
    ) -> None:
        if not transitions.is_valid_transition(operation, state.status, target):
            raise ScheduleInvalidTransitionError(schedule_id, state.status, target, operation)
        if operation != transitions.CREATE_SCHEDULE and state.schedule_configuration is None:
            raise ValueError("Schedule configuration is missing.")

    def create_schedule(self, options: ScheduleCreationOptions) -> None:
        """Create the schedule, or replace the configuration of an existing one.

        Raises:
            ValueError: ``start_at`` is later than ``end_at``.
        """
        state = self._load()
        self._require_transition(
            state, transitions.CREATE_SCHEDULE, ScheduleStatus.ACTIVE, options.schedule_id)
        config = ScheduleConfiguration.from_create_options(options)
        now = _now()
        if state.schedule_created_at is not None:
            # Re-creating replaces the configuration and plans the runs anew. It also
            # activates a paused schedule (the transition's target); 1.12.0 left it
            # paused with a run signal that then failed (docs/compatibility.md).
            state.refresh_execution_token()
            state.next_run_at = None
        else:
            state.schedule_created_at = now
        state.schedule_configuration = config
        state.status = ScheduleStatus.ACTIVE
        state.schedule_last_modified_at = now
        logger.info("Created schedule '%s'.", config.schedule_id)
        self.set_state(state)
        self._signal_run(state)

    def update_schedule(self, options: ScheduleUpdateOptions) -> None:
        """Change the fields set in ``options``; an active schedule re-plans its next run.

        Raises:
            ScheduleInvalidTransitionError: The schedule does not exist.
            ValueError: The update would make it start later than it ends.
        """
        state = self._load()
        config = state.schedule_configuration
        schedule_id = config.schedule_id if config is not None else ""
        self._require_transition(state, transitions.UPDATE_SCHEDULE, state.status, schedule_id)
        assert config is not None
        changed = config.update(options)
        if not changed:
            logger.debug("Schedule '%s' is already up to date.", schedule_id)
            self.set_state(state)
            return
        state.schedule_last_modified_at = _now()
        if changed & _TIMING_FIELDS:
            state.next_run_at = None
        state.refresh_execution_token()
        logger.info("Updated schedule '%s'.", schedule_id)
        self.set_state(state)
        if state.status == ScheduleStatus.ACTIVE:
            self._signal_run(state)

    def pause_schedule(self, _: Any = None) -> None:
        """Stop starting orchestrations until :meth:`resume_schedule`.

        Raises:
            ScheduleInvalidTransitionError: The schedule is not active.
        """
        state = self._load()
        schedule_id = self._id_of(state)
        self._require_transition(
            state, transitions.PAUSE_SCHEDULE, ScheduleStatus.PAUSED, schedule_id)
        state.status = ScheduleStatus.PAUSED
        state.next_run_at = None
        state.refresh_execution_token()
        logger.info("Paused schedule '%s'.", schedule_id)
        self.set_state(state)

    def resume_schedule(self, _: Any = None) -> None:
        """Make a paused schedule active again; its next run time is computed anew.

        Raises:
            ScheduleInvalidTransitionError: The schedule is not paused.
        """
        state = self._load()
        schedule_id = self._id_of(state)
        self._require_transition(
            state, transitions.RESUME_SCHEDULE, ScheduleStatus.ACTIVE, schedule_id)
        state.status = ScheduleStatus.ACTIVE
        state.next_run_at = None
        logger.info("Resumed schedule '%s'.", schedule_id)
        self.set_state(state)
        self._signal_run(state)

    def run_schedule(self, execution_token: str) -> None:
        """The heartbeat: start the orchestration when due, then signal the next run.

        Signals from an older token (before an update, pause or re-create) do nothing; a
        signal reaching a deleted schedule clears what is left of it.
        """
        state = self._load()
        if state.status == ScheduleStatus.UNINITIALIZED:
            self.set_state(None)
            return
        config = state.schedule_configuration
        if config is None:
            raise ValueError("Schedule configuration is missing.")
        if execution_token != state.execution_token:
            logger.debug("Ignoring a stale run signal of schedule '%s'.", config.schedule_id)
            return
        if state.status != ScheduleStatus.ACTIVE:
            raise ValueError("Schedule must be in Active status to run.")
        end_at = as_aware(config.end_at)
        if end_at is not None and _now() > end_at:
            logger.info("Schedule '%s' is past its end time; deleting it.", config.schedule_id)
            state.next_run_at = None
            self.set_state(state)
            self.signal_entity(EntityInstanceId(ENTITY_NAME, config.schedule_id), DELETE_OPERATION)
            return
        due = _next_run_time(state, config)
        if due <= _now():
            self._start_orchestration(config, due)
            state.last_run_at = due
            state.next_run_at = None
            due = _next_run_time(state, config)
        state.next_run_at = due
        self.set_state(state)
        self._signal_run(state, due)

    def _start_orchestration(self, config: ScheduleConfiguration, run_time: datetime) -> None:
        instance_id = config.orchestration_instance_id or (
            f"{config.schedule_id}-{run_time.isoformat()}")
        logger.info("Schedule '%s' starts '%s' as instance '%s'.",
                    config.schedule_id, config.orchestration_name, instance_id)
        self.schedule_new_orchestration(
            config.orchestration_name, config.orchestration_input, instance_id=instance_id)

    @staticmethod
    def _id_of(state: ScheduleState) -> str:
        config = state.schedule_configuration
        return config.schedule_id if config is not None else ""


def _next_run_time(state: ScheduleState, config: ScheduleConfiguration) -> datetime:
    """The next due time: the planned one, else the first interval boundary after now."""
    planned = as_aware(state.next_run_at)
    if planned is not None:
        return planned
    now = _now()
    start = as_aware(config.start_at) or as_aware(state.schedule_created_at) or now
    elapsed = now - start
    if elapsed.total_seconds() < 0:
        return start
    if state.last_run_at is None and config.start_immediately_if_late:
        return now
    intervals = int(elapsed.total_seconds() // config.interval.total_seconds())
    return start + config.interval * (intervals + 1)
