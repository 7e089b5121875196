"""The errors of scheduled tasks; all derive from :class:`ScheduleError`."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ScheduleClientValidationError",
    "ScheduleError",
    "ScheduleInvalidTransitionError",
    "ScheduleNotFoundError",
    "ScheduleOperationError",
]


class ScheduleError(Exception):
    """Base class of the schedule errors."""


class ScheduleNotFoundError(ScheduleError):
    """No schedule has the requested id.

    Attributes:
        schedule_id: The id that was looked up.
    """

    def __init__(self, schedule_id: str) -> None:
        super().__init__(schedule_id)
        self.schedule_id = schedule_id

    def __str__(self) -> str:
        return f"Schedule with ID '{self.schedule_id}' was not found."


class ScheduleClientValidationError(ScheduleError):
    """A schedule operation failed validation on the client.

    Attributes:
        schedule_id: The schedule concerned.
    """

    def __init__(self, schedule_id: str, message: str) -> None:
        super().__init__(schedule_id, message)  # all arguments, so that it pickles
        self.schedule_id = schedule_id
        self._text = f"Validation failed for schedule '{schedule_id}': {message}"

    def __str__(self) -> str:
        return self._text


class ScheduleInvalidTransitionError(ScheduleError):
    """The operation is not allowed in the schedule's current status (e.g. pausing twice).

    Attributes:
        schedule_id: The schedule concerned.
        from_status: Its current status.
        to_status: The status the operation would have led to.
        operation_name: The refused operation.
    """

    def __init__(
        self, schedule_id: str, from_status: object, to_status: object, operation_name: str
    ) -> None:
        self.schedule_id = schedule_id
        self.from_status = from_status
        self.to_status = to_status
        self.operation_name = operation_name
        super().__init__(schedule_id, from_status, to_status, operation_name)
        self._text = (
            f"Invalid state transition for schedule '{schedule_id}': operation "
            f"'{operation_name}' cannot transition from '{from_status}' to '{to_status}'."
        )

    def __str__(self) -> str:
        return self._text


class ScheduleOperationError(ScheduleError, RuntimeError):
    """A schedule operation was refused or failed (an addition: 1.12.0 raises RuntimeError).

    It is a ``RuntimeError`` with the official message, so code written for 1.12.0 that
    catches ``RuntimeError`` keeps working.

    Attributes:
        schedule_id: The schedule concerned.
        operation_name: The entity operation that failed (e.g. ``pause_schedule``).
        failure_details: The failure of the operation orchestration, when there is one;
            its ``message`` says why (e.g. the invalid transition).
    """

    def __init__(self, schedule_id: str, operation_name: str, failure_details: Any = None) -> None:
        self.schedule_id = schedule_id
        self.operation_name = operation_name
        self.failure_details = failure_details
        super().__init__(schedule_id, operation_name, failure_details)
        message = getattr(failure_details, "message", None) or "unknown error"
        self._text = f"Failed to '{operation_name}' schedule '{schedule_id}': {message}"

    def __str__(self) -> str:
        return self._text
