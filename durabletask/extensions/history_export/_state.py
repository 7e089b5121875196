"""The export-job entity's persisted state, and the read-only view the clients return.

The state is stored as plain JSON with literal field names and an explicit
``schema_version``, never with Python type names: loading dispatches on the version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from durabletask.extensions.history_export._config import (
    ExportCheckpoint,
    ExportFailure,
    ExportJobConfiguration,
    ExportJobStatus,
)
from durabletask.extensions.history_export._times import from_iso, to_iso

__all__ = ["STATE_SCHEMA_VERSION", "ExportJobDescription", "ExportJobState"]

STATE_SCHEMA_VERSION = "1.0"
"""The schema version :meth:`ExportJobState.to_dict` writes (and the only one it reads)."""


@dataclass
class ExportJobState:
    """The state of one export job: status, configuration, progress and failures."""

    status: ExportJobStatus
    config: ExportJobConfiguration
    created_at: datetime
    last_modified_at: datetime
    orchestrator_instance_id: str | None = None
    checkpoint: ExportCheckpoint = field(default_factory=ExportCheckpoint)
    last_checkpoint_time: datetime | None = None
    last_error: str | None = None
    scanned_instances: int = 0
    exported_instances: int = 0
    failed_instances: int = 0
    failures: list[ExportFailure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the persisted JSON form (with ``schema_version``)."""
        return {
            "schema_version": STATE_SCHEMA_VERSION,
            "status": self.status.value,
            "config": self.config.to_dict(),
            "checkpoint": self.checkpoint.to_dict(),
            "created_at": to_iso(self.created_at),
            "last_modified_at": to_iso(self.last_modified_at),
            "last_checkpoint_time": to_iso(self.last_checkpoint_time),
            "last_error": self.last_error,
            "scanned_instances": self.scanned_instances,
            "exported_instances": self.exported_instances,
            "failed_instances": self.failed_instances,
            "orchestrator_instance_id": self.orchestrator_instance_id,
            "failures": [failure.to_dict() for failure in self.failures],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportJobState:
        """Load a persisted state.

        Raises:
            ValueError: Another schema version, or a state without its configuration or
                timestamps.
        """
        version = data.get("schema_version", STATE_SCHEMA_VERSION)
        if version != STATE_SCHEMA_VERSION:
            raise ValueError(f"Unsupported export job state schema_version={version!r}; "
                             f"expected {STATE_SCHEMA_VERSION!r}")
        config = data.get("config")
        if not config:
            raise ValueError("persisted state is missing 'config'")
        created_at = from_iso(data.get("created_at"))
        last_modified_at = from_iso(data.get("last_modified_at"))
        if created_at is None or last_modified_at is None:
            raise ValueError("persisted state must include 'created_at' and 'last_modified_at'")
        checkpoint = data.get("checkpoint")
        return cls(
            status=ExportJobStatus(data["status"]),
            config=ExportJobConfiguration.from_dict(config),
            created_at=created_at,
            last_modified_at=last_modified_at,
            orchestrator_instance_id=data.get("orchestrator_instance_id"),
            checkpoint=ExportCheckpoint() if checkpoint is None
            else ExportCheckpoint.from_dict(checkpoint),
            last_checkpoint_time=from_iso(data.get("last_checkpoint_time")),
            last_error=data.get("last_error"),
            scanned_instances=int(data.get("scanned_instances", 0)),
            exported_instances=int(data.get("exported_instances", 0)),
            failed_instances=int(data.get("failed_instances", 0)),
            failures=[ExportFailure.from_dict(f) for f in data.get("failures") or ()],
        )

    @classmethod
    def new(
        cls,
        config: ExportJobConfiguration,
        *,
        created_at: datetime,
        orchestrator_instance_id: str | None = None,
    ) -> ExportJobState:
        """Return the state of a job just created (active, no progress)."""
        return cls(status=ExportJobStatus.ACTIVE, config=config, created_at=created_at,
                   last_modified_at=created_at,
                   orchestrator_instance_id=orchestrator_instance_id)


@dataclass
class ExportJobDescription:
    """What a client shows of a job: status, configuration, progress and failures."""

    job_id: str
    status: ExportJobStatus
    created_at: datetime | None
    last_modified_at: datetime | None
    config: ExportJobConfiguration | None
    orchestrator_instance_id: str | None
    scanned_instances: int
    exported_instances: int
    failed_instances: int
    last_error: str | None
    checkpoint: ExportCheckpoint | None
    last_checkpoint_time: datetime | None
    failures: list[ExportFailure] = field(default_factory=list)

    @classmethod
    def from_state(cls, job_id: str, state: ExportJobState) -> ExportJobDescription:
        """Describe the job ``job_id`` whose state is ``state``."""
        return cls(
            job_id=job_id,
            status=state.status,
            created_at=state.created_at,
            last_modified_at=state.last_modified_at,
            config=state.config,
            orchestrator_instance_id=state.orchestrator_instance_id,
            scanned_instances=state.scanned_instances,
            exported_instances=state.exported_instances,
            failed_instances=state.failed_instances,
            last_error=state.last_error,
            checkpoint=state.checkpoint,
            last_checkpoint_time=state.last_checkpoint_time,
            failures=list(state.failures),
        )

    @classmethod
    def from_state_dict(cls, job_id: str, state: Mapping[str, Any]) -> ExportJobDescription:
        """Describe the job ``job_id`` from its persisted state."""
        return cls.from_state(job_id, ExportJobState.from_dict(state))
