"""Which status changes each schedule operation may make."""

from __future__ import annotations

from durabletask.scheduled.schedule_status import ScheduleStatus

__all__ = [
    "CREATE_SCHEDULE",
    "PAUSE_SCHEDULE",
    "RESUME_SCHEDULE",
    "UPDATE_SCHEDULE",
    "is_valid_transition",
]

# The schedule entity's operation names (its method names).
CREATE_SCHEDULE = "create_schedule"
UPDATE_SCHEDULE = "update_schedule"
PAUSE_SCHEDULE = "pause_schedule"
RESUME_SCHEDULE = "resume_schedule"

_ACTIVE = ScheduleStatus.ACTIVE
_PAUSED = ScheduleStatus.PAUSED

_ALLOWED: dict[str, frozenset[tuple[ScheduleStatus, ScheduleStatus]]] = {
    # Creating again replaces the configuration (and resumes a paused schedule).
    CREATE_SCHEDULE: frozenset(
        {(ScheduleStatus.UNINITIALIZED, _ACTIVE), (_ACTIVE, _ACTIVE), (_PAUSED, _ACTIVE)}
    ),
    UPDATE_SCHEDULE: frozenset({(_ACTIVE, _ACTIVE), (_PAUSED, _PAUSED)}),
    PAUSE_SCHEDULE: frozenset({(_ACTIVE, _PAUSED)}),
    RESUME_SCHEDULE: frozenset({(_PAUSED, _ACTIVE)}),
}


def is_valid_transition(
    operation_name: str, from_status: ScheduleStatus, target_status: ScheduleStatus
) -> bool:
    """Return True when ``operation_name`` may move a schedule between these statuses.

    Args:
        operation_name: One of the operation names above; any other name is refused.
        from_status: The schedule's current status.
        target_status: The status the operation would lead to.
    """
    return (from_status, target_status) in _ALLOWED.get(operation_name, frozenset())
