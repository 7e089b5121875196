"""Errors of the history-export extension.

Each also derives from the closest built-in error, so ``except ValueError`` and ``except
LookupError`` keep catching them.
"""

from __future__ import annotations

__all__ = ["ExportJobError", "ExportJobInvalidTransitionError", "ExportJobNotFoundError"]


class ExportJobError(Exception):
    """Base of the export-job errors.

    Attributes:
        job_id: The job concerned, when known.
    """

    def __init__(self, message: str, *, job_id: str | None = None) -> None:  # noqa: B042
        super().__init__(message)
        self.job_id = job_id


class ExportJobInvalidTransitionError(ExportJobError, ValueError):
    """An operation is not allowed in the job's current status (e.g. completing a failed job).

    Attributes:
        operation: The refused entity operation.
        from_status: The job's status value (``None`` for a job that does not exist).
        to_status: The status the operation would have led to.
    """

    def __init__(  # noqa: B042 - keyword job_id is the official signature
        self,
        operation: str,
        from_status: str | None,
        to_status: str | None,
        *,
        job_id: str | None = None,
    ) -> None:
        super().__init__(
            f"Operation {operation!r} cannot transition export job {job_id!r} "
            f"from {from_status!r} to {to_status!r}",
            job_id=job_id,
        )
        self.operation = operation
        self.from_status = from_status
        self.to_status = to_status


class ExportJobNotFoundError(ExportJobError, LookupError):
    """No export job has the given id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Export job {job_id!r} was not found", job_id=job_id)
