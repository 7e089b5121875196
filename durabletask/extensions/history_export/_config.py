"""What an export job does: mode, filter, destination, format, and the options users pass.

Every model converts to and from plain JSON values (``to_dict``/``from_dict``): that is
how the configuration travels in entity state and orchestrator and activity inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from durabletask.client import OrchestrationStatus
from durabletask.extensions.history_export._times import from_iso, to_iso

__all__ = [
    "ExportCheckpoint",
    "ExportDestination",
    "ExportFailure",
    "ExportFilter",
    "ExportFormat",
    "ExportFormatKind",
    "ExportJobConfiguration",
    "ExportJobCreationOptions",
    "ExportJobQuery",
    "ExportJobStatus",
    "ExportMode",
    "TERMINAL_STATUSES",
]


class ExportMode(Enum):
    """How a job selects instances."""

    BATCH = "Batch"
    """Export the instances that completed within a time window, then complete."""

    CONTINUOUS = "Continuous"
    """Keep exporting instances as they complete, until the job is deleted."""


class ExportFormatKind(Enum):
    """How an instance's history is written."""

    JSON = "Json"
    """One JSON document per instance."""

    JSONL_GZIP = "JsonlGzip"
    """Gzipped JSON lines: a metadata line, then one line per event."""


class ExportJobStatus(Enum):
    """Where a job is: running, or finished one way or the other."""

    ACTIVE = "Active"
    """Created; its orchestrator is exporting."""

    COMPLETED = "Completed"
    """A batch job exported its whole window."""

    FAILED = "Failed"
    """The job failed (see its ``last_error`` and ``failures``)."""


TERMINAL_STATUSES: tuple[OrchestrationStatus, ...] = (
    OrchestrationStatus.COMPLETED,
    OrchestrationStatus.FAILED,
    OrchestrationStatus.TERMINATED,
)
"""The instance statuses a job may export (and exports by default)."""


def _status_of(value: Any) -> OrchestrationStatus:
    """Read a persisted status: its number (current form) or its name (defensively)."""
    if isinstance(value, OrchestrationStatus):
        return value
    if isinstance(value, int):
        return OrchestrationStatus(value)
    if isinstance(value, str):
        return OrchestrationStatus(int(value)) if value.isdigit() else OrchestrationStatus[value]
    raise TypeError(f"Cannot parse runtime status from value of type {type(value).__name__!r}")


@dataclass
class ExportFormat:
    """The output format: its kind and the schema version written into every file."""

    kind: ExportFormatKind = ExportFormatKind.JSONL_GZIP
    schema_version: str = "1.0"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"kind": self.kind.value, "schema_version": self.schema_version}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportFormat:
        """Rebuild from :meth:`to_dict` output."""
        return cls(kind=ExportFormatKind(data["kind"]),
                   schema_version=data.get("schema_version", "1.0"))


@dataclass
class ExportDestination:
    """Where files go: a container (bucket, folder) and an optional name prefix.

    Raises:
        ValueError: ``container`` is empty.
    """

    container: str
    prefix: str | None = None

    def __post_init__(self) -> None:
        if not self.container:
            raise ValueError("destination.container must be a non-empty string")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"container": self.container, "prefix": self.prefix}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportDestination:
        """Rebuild from :meth:`to_dict` output."""
        return cls(container=data["container"], prefix=data.get("prefix"))


@dataclass
class ExportFilter:
    """Which instances to export: completed in ``[from, to)`` with one of the statuses."""

    completed_time_from: datetime
    completed_time_to: datetime | None = None
    runtime_status: list[OrchestrationStatus] | None = None

    def effective_runtime_status(self) -> list[OrchestrationStatus]:
        """The statuses to export: the given ones, else completed, failed and terminated."""
        return list(TERMINAL_STATUSES if self.runtime_status is None else self.runtime_status)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form; statuses are stored as their (wire-stable) numbers."""
        statuses = self.runtime_status
        return {
            "completed_time_from": to_iso(self.completed_time_from),
            "completed_time_to": to_iso(self.completed_time_to),
            "runtime_status": None if statuses is None else [s.value for s in statuses],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportFilter:
        """Rebuild from :meth:`to_dict` output.

        Raises:
            ValueError: ``completed_time_from`` is missing.
        """
        start = from_iso(data.get("completed_time_from"))
        if start is None:
            raise ValueError("completed_time_from is required")
        statuses = data.get("runtime_status")
        return cls(
            completed_time_from=start,
            completed_time_to=from_iso(data.get("completed_time_to")),
            runtime_status=None if statuses is None else [_status_of(s) for s in statuses],
        )


@dataclass
class ExportCheckpoint:
    """Where a job resumes: the listing's continuation token (None: from the start)."""

    last_instance_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"last_instance_key": self.last_instance_key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportCheckpoint:
        """Rebuild from :meth:`to_dict` output."""
        return cls(last_instance_key=data.get("last_instance_key"))


@dataclass
class ExportFailure:
    """An instance whose export failed after its retries, and why."""

    instance_id: str
    reason: str
    attempt_count: int
    last_attempt: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"instance_id": self.instance_id, "reason": self.reason,
                "attempt_count": self.attempt_count, "last_attempt": to_iso(self.last_attempt)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportFailure:
        """Rebuild from :meth:`to_dict` output."""
        last_attempt = from_iso(data["last_attempt"])
        if last_attempt is None:
            raise ValueError("last_attempt is required")
        return cls(instance_id=data["instance_id"], reason=data["reason"],
                   attempt_count=int(data["attempt_count"]), last_attempt=last_attempt)


@dataclass
class ExportJobConfiguration:
    """A job's complete, validated configuration.

    Raises:
        ValueError: A batch size outside [1, 1000], a non-positive parallelism, a batch
            job without an end (or a continuous one with an end), an empty or upside-down
            window, or a status that is not terminal.
    """

    mode: ExportMode
    filter: ExportFilter
    destination: ExportDestination
    format: ExportFormat = field(default_factory=ExportFormat)
    max_instances_per_batch: int = 100
    max_parallel_exports: int = 32

    def __post_init__(self) -> None:
        if not 1 <= self.max_instances_per_batch <= 1000:
            raise ValueError("max_instances_per_batch must be in [1, 1000]; got "
                             f"{self.max_instances_per_batch}")
        if self.max_parallel_exports <= 0:
            raise ValueError("max_parallel_exports must be positive")
        window_end = self.filter.completed_time_to
        if self.mode is ExportMode.BATCH and window_end is None:
            raise ValueError("completed_time_to is required for batch mode exports")
        if self.mode is ExportMode.CONTINUOUS and window_end is not None:
            raise ValueError("completed_time_to is not allowed for continuous mode exports; "
                             "the tail has no upper bound")
        if window_end is not None and window_end <= self.filter.completed_time_from:
            raise ValueError("completed_time_to must be strictly greater than "
                             "completed_time_from")
        others = [s for s in self.filter.runtime_status or () if s not in TERMINAL_STATUSES]
        if others:
            names = ", ".join(sorted(s.name for s in others))
            raise ValueError("runtime_status may only contain terminal statuses "
                             f"({{COMPLETED, FAILED, TERMINATED}}); got {names}")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "mode": self.mode.value,
            "filter": self.filter.to_dict(),
            "destination": self.destination.to_dict(),
            "format": self.format.to_dict(),
            "max_instances_per_batch": self.max_instances_per_batch,
            "max_parallel_exports": self.max_parallel_exports,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportJobConfiguration:
        """Rebuild (and validate) from :meth:`to_dict` output."""
        format_data = data.get("format")
        if format_data is None:  # only an absent format defaults; an empty one is an error
            format_data = {"kind": ExportFormatKind.JSONL_GZIP.value}
        return cls(
            mode=ExportMode(data["mode"]),
            filter=ExportFilter.from_dict(data["filter"]),
            destination=ExportDestination.from_dict(data["destination"]),
            format=ExportFormat.from_dict(format_data),
            max_instances_per_batch=int(data.get("max_instances_per_batch", 100)),
            max_parallel_exports=int(data.get("max_parallel_exports", 32)),
        )


@dataclass
class ExportJobQuery:
    """Filters for ``list_jobs``: statuses, and a last-modified window; None means any."""

    status: list[ExportJobStatus] | None = None
    last_modified_from: datetime | None = None
    last_modified_to: datetime | None = None
    page_size: int | None = None


@dataclass
class ExportJobCreationOptions:
    """What to export, where and how: the argument of ``create_job``.

    The job id is not part of the options: pass it to ``create_job(options, job_id=...)``
    or let the client generate one.
    """

    mode: ExportMode
    completed_time_from: datetime
    destination: ExportDestination
    completed_time_to: datetime | None = None
    runtime_status: list[OrchestrationStatus] | None = None
    format: ExportFormat = field(default_factory=ExportFormat)
    max_instances_per_batch: int = 100
    max_parallel_exports: int = 32

    def to_configuration(self) -> ExportJobConfiguration:
        """Return the validated configuration (raises ``ValueError`` as it does)."""
        return ExportJobConfiguration(
            mode=self.mode,
            filter=ExportFilter(self.completed_time_from, self.completed_time_to,
                                self.runtime_status),
            destination=self.destination,
            format=self.format,
            max_instances_per_batch=self.max_instances_per_batch,
            max_parallel_exports=self.max_parallel_exports,
        )
