"""Which status changes each export-job entity operation may make.

``None`` as the current status stands for a job that does not exist (yet).
"""

from __future__ import annotations

from collections.abc import Mapping

from durabletask.extensions.history_export.exceptions import ExportJobInvalidTransitionError
from durabletask.extensions.history_export.models import ExportJobStatus

__all__ = ["TRANSITIONS", "assert_valid_transition", "is_valid_transition"]

_ACTIVE = ExportJobStatus.ACTIVE
_COMPLETED = ExportJobStatus.COMPLETED
_FAILED = ExportJobStatus.FAILED

TRANSITIONS: Mapping[tuple[str, ExportJobStatus | None], frozenset[ExportJobStatus]] = {
    # create starts a new job, or restarts a finished one (never a running one).
    ("create", None): frozenset({_ACTIVE}),
    ("create", _FAILED): frozenset({_ACTIVE}),
    ("create", _COMPLETED): frozenset({_ACTIVE}),
    # A checkpoint records progress, or fails the job when a page failed for good.
    ("commit_checkpoint", _ACTIVE): frozenset({_ACTIVE, _FAILED}),
    ("mark_completed", _ACTIVE): frozenset({_COMPLETED}),
    ("mark_failed", _ACTIVE): frozenset({_FAILED}),
    ("mark_failed", _FAILED): frozenset({_FAILED}),
}
"""(operation, current status or None) -> the statuses the operation may lead to."""


def is_valid_transition(
    operation: str, from_status: ExportJobStatus | None, to_status: ExportJobStatus
) -> bool:
    """True when ``operation`` may move a job from ``from_status`` to ``to_status``."""
    return to_status in TRANSITIONS.get((operation, from_status), frozenset())


def assert_valid_transition(
    operation: str,
    from_status: ExportJobStatus | None,
    to_status: ExportJobStatus,
    *,
    job_id: str | None = None,
) -> None:
    """Raise unless ``operation`` may move the job from ``from_status`` to ``to_status``.

    Raises:
        ExportJobInvalidTransitionError: The transition is not allowed.
    """
    if not is_valid_transition(operation, from_status, to_status):
        raise ExportJobInvalidTransitionError(
            operation=operation,
            from_status=None if from_status is None else from_status.value,
            to_status=to_status.value,
            job_id=job_id,
        )
