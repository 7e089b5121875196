"""The export-job entity: one per job, owning its status, progress and failures.

Operations: ``create`` (start a job, or restart a finished one, and schedule its
orchestrator), ``get``, ``commit_checkpoint`` (progress of one page; fails the job when a
page failed for good), ``mark_completed``, ``mark_failed`` and ``delete``. Every status
change is checked against :mod:`~durabletask.extensions.history_export.transitions`.
The state is stored as the schema-versioned JSON of
:class:`~durabletask.extensions.history_export.models.ExportJobState`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from durabletask import entities
from durabletask import worker as worker_module
from durabletask.extensions.history_export._constants import (
    ENTITY_NAME,
    ORCHESTRATOR_INSTANCE_ID_PREFIX,
    ORCHESTRATOR_NAME,
    orchestrator_instance_id_for,
)
from durabletask.extensions.history_export._times import from_iso
from durabletask.extensions.history_export.models import (
    ExportFailure,
    ExportJobConfiguration,
    ExportJobState,
    ExportJobStatus,
)
from durabletask.extensions.history_export.transitions import assert_valid_transition

__all__ = [
    "ENTITY_NAME",
    "ORCHESTRATOR_INSTANCE_ID_PREFIX",
    "ExportJobEntity",
    "orchestrator_instance_id_for",
    "register",
]

logger = logging.getLogger("durabletask.extensions.history_export")

_SUMMARIZED_FAILURES = 10


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _summary(failures: list[ExportFailure]) -> str:
    text = "; ".join(f"{f.instance_id}: {f.reason}" for f in failures[:_SUMMARIZED_FAILURES])
    if len(failures) > _SUMMARIZED_FAILURES:
        text += f"; ... and {len(failures) - _SUMMARIZED_FAILURES} more failures"
    return text


class ExportJobEntity(entities.DurableEntity):
    """The state and lifecycle of one export job (the entity key is the job id)."""

    OP_CREATE = "create"
    OP_GET = "get"
    OP_COMMIT_CHECKPOINT = "commit_checkpoint"
    OP_MARK_COMPLETED = "mark_completed"
    OP_MARK_FAILED = "mark_failed"
    OP_DELETE = "delete"

    def _load(self) -> ExportJobState | None:
        raw = self.get_state()
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise TypeError(f"Unexpected entity state type {type(raw).__name__!r}; expected dict")
        return ExportJobState.from_dict(raw)

    def _save(self, state: ExportJobState) -> dict[str, Any]:
        state.last_modified_at = _now()
        persisted = state.to_dict()
        self.set_state(persisted)
        return persisted

    def _job_id(self) -> str:
        if self.entity_context is None:
            raise RuntimeError("ExportJobEntity operations run only inside an entity operation")
        return self.entity_context.entity_id.key

    def create(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Start the job (or restart a finished one from scratch) and its orchestrator.

        ``payload`` is ``{"config": ExportJobConfiguration.to_dict(), "created_at": iso}``.
        A failure to schedule the orchestrator fails the job (recorded, not raised).

        Raises:
            ExportJobInvalidTransitionError: The job is active.
            ValueError: The payload has no configuration.
        """
        job_id = self._job_id()
        current = self._load()
        assert_valid_transition(self.OP_CREATE, None if current is None else current.status,
                                ExportJobStatus.ACTIVE, job_id=job_id)
        config = payload.get("config")
        if config is None:
            raise ValueError("create payload requires 'config'")
        if not isinstance(config, Mapping) or not config:
            raise ValueError("create payload 'config' must be a non-empty mapping")
        created_at = from_iso(payload.get("created_at") or None) or _now()
        # A restarted job starts over: counters, checkpoint, errors and failures reset.
        state = ExportJobState.new(ExportJobConfiguration.from_dict(config), created_at=created_at)
        instance_id = orchestrator_instance_id_for(job_id)
        try:
            self.schedule_new_orchestration(
                ORCHESTRATOR_NAME, {"job_id": job_id, "config": state.config.to_dict()},
                instance_id=instance_id)
            state.orchestrator_instance_id = instance_id
            logger.info("Created export job %r; its orchestrator is %s", job_id, instance_id)
        except Exception as exc:  # recorded on the job: raising would drop the state change
            state.status = ExportJobStatus.FAILED
            state.last_error = f"Failed to schedule orchestrator: {type(exc).__name__}: {exc}"
            logger.exception("Export job %r cannot schedule its orchestrator", job_id)
        return self._save(state)

    def get(self, _: Any = None) -> dict[str, Any] | None:
        """Return the persisted state, or None when the job does not exist."""
        state = self._load()
        return None if state is None else state.to_dict()

    def commit_checkpoint(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Add one page's progress; fail the job when the page failed for good.

        ``payload`` holds ``scanned_delta``, ``exported_delta``, ``failed_delta``, and
        optionally ``last_instance_key``, ``checkpoint_time``, ``failures`` and
        ``mark_failed_on_batch``. A deleted job ignores it (returns None).

        Raises:
            ValueError: A negative delta.
            ExportJobInvalidTransitionError: The job is not active.
        """
        state = self._load()
        if state is None:
            return None  # deleted while its orchestrator was between two calls
        deltas = [int(payload.get(name, 0))
                  for name in ("scanned_delta", "exported_delta", "failed_delta")]
        if min(deltas) < 0:
            raise ValueError("checkpoint deltas must be non-negative")
        failures = [ExportFailure.from_dict(f) for f in payload.get("failures") or ()]
        fail = bool(payload.get("mark_failed_on_batch")) and bool(failures)
        target = ExportJobStatus.FAILED if fail else ExportJobStatus.ACTIVE
        assert_valid_transition(self.OP_COMMIT_CHECKPOINT, state.status, target,
                                job_id=self._job_id())
        state.scanned_instances += deltas[0]
        state.exported_instances += deltas[1]
        state.failed_instances += deltas[2]
        if "last_instance_key" in payload:
            state.checkpoint.last_instance_key = payload.get("last_instance_key")
        state.last_checkpoint_time = from_iso(payload.get("checkpoint_time") or None) or _now()
        state.failures.extend(failures)
        if fail:
            state.status = ExportJobStatus.FAILED
            state.last_error = f"Batch export failed after retries. Failures: {_summary(failures)}"
            logger.warning("Export job %r failed after its batch retries (%d failures)",
                           self._job_id(), len(failures))
        return self._save(state)

    def mark_completed(self, _: Any = None) -> dict[str, Any] | None:
        """Complete the job; a deleted job ignores it.

        Raises:
            ExportJobInvalidTransitionError: The job is not active.
        """
        state = self._load()
        if state is None:
            return None
        assert_valid_transition(self.OP_MARK_COMPLETED, state.status, ExportJobStatus.COMPLETED,
                                job_id=self._job_id())
        state.status = ExportJobStatus.COMPLETED
        state.last_error = None
        logger.info("Export job %r completed", self._job_id())
        return self._save(state)

    def mark_failed(self, payload: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Fail the job with ``payload["reason"]``; already failed or deleted: no change.

        Raises:
            ExportJobInvalidTransitionError: The job has completed.
        """
        state = self._load()
        if state is None:
            return None
        assert_valid_transition(self.OP_MARK_FAILED, state.status, ExportJobStatus.FAILED,
                                job_id=self._job_id())
        if state.status is ExportJobStatus.FAILED:
            return state.to_dict()  # the first reason stays
        reason = "" if payload is None else str(payload.get("reason", ""))
        state.status = ExportJobStatus.FAILED
        state.last_error = reason or None
        logger.info("Export job %r failed: %s", self._job_id(), reason or "(no reason)")
        return self._save(state)

    def delete(self, _: Any = None) -> None:  # noqa: D102 - documented on DurableEntity
        logger.info("Export job %r deleted", self._job_id())
        super().delete()


def register(worker_instance: worker_module.TaskHubGrpcWorker, *, name: str = ENTITY_NAME) -> None:
    """Register :class:`ExportJobEntity` on ``worker_instance`` under ``name``."""
    worker_instance.add_entity(ExportJobEntity, name=name)
