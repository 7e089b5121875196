"""What the sync and async export clients share: requests, views, listing, waiting, errors.

The clients do the I/O; the decisions are made here, once.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import grpc

from durabletask.client import EntityQuery
from durabletask.entities import EntityInstanceId, EntityMetadata
from durabletask.extensions.history_export._constants import (
    ENTITY_NAME,
    orchestrator_instance_id_for,
)
from durabletask.extensions.history_export.exceptions import ExportJobNotFoundError
from durabletask.extensions.history_export.models import (
    ExportJobCreationOptions,
    ExportJobDescription,
    ExportJobQuery,
    ExportJobStatus,
)
from durabletask.internal.transport.status import status_code

logger = logging.getLogger("durabletask.extensions.history_export")

_FINISHED = frozenset({ExportJobStatus.COMPLETED, ExportJobStatus.FAILED})
_ENTITY_ID_PREFIX = f"@{ENTITY_NAME.lower()}@"

DELETE_WAIT_SECONDS = 30.0
"""How long ``delete_job`` waits for the job's orchestrator to stop before purging it."""


def entity_id_of(job_id: str) -> EntityInstanceId:
    """The entity id of a job."""
    return EntityInstanceId(ENTITY_NAME, job_id)


def new_job(
    options: ExportJobCreationOptions, job_id: str | None
) -> tuple[EntityInstanceId, dict[str, Any], ExportJobDescription]:
    """Validate ``options``; return the entity, the ``create`` input and the new job's view.

    Raises:
        ValueError: The options are not a valid configuration.
    """
    config = options.to_configuration()
    job_id = job_id or uuid.uuid4().hex
    created_at = datetime.now(timezone.utc)
    description = ExportJobDescription(
        job_id=job_id, status=ExportJobStatus.ACTIVE, created_at=created_at,
        last_modified_at=created_at, config=config,
        orchestrator_instance_id=orchestrator_instance_id_for(job_id),
        scanned_instances=0, exported_instances=0, failed_instances=0, last_error=None,
        checkpoint=None, last_checkpoint_time=None)
    payload = {"config": config.to_dict(), "created_at": created_at.isoformat()}
    logger.info("Submitted export job %r; its orchestrator will be %s",
                job_id, description.orchestrator_instance_id)
    return entity_id_of(job_id), payload, description


def description_of(job_id: str, metadata: EntityMetadata | None) -> ExportJobDescription | None:
    """The view of a job from its entity, or None when it has no (or an empty) state."""
    if metadata is None:
        return None
    state = metadata.get_typed_state()
    if not isinstance(state, dict) or not state:
        return None
    return ExportJobDescription.from_state_dict(job_id, state)


def entity_query_for(query: ExportJobQuery) -> EntityQuery:
    """The entity query that lists the jobs ``query`` may match."""
    return EntityQuery(
        instance_id_starts_with=_ENTITY_ID_PREFIX,
        last_modified_from=query.last_modified_from,
        last_modified_to=query.last_modified_to,
        include_state=True,
        page_size=query.page_size,
    )


def listed(metadata: EntityMetadata, query: ExportJobQuery) -> ExportJobDescription | None:
    """The view of a listed entity when it is a job that passes ``query``'s statuses."""
    if metadata.id.entity != ENTITY_NAME.lower():
        return None
    state = metadata.get_typed_state()
    if not isinstance(state, dict) or not state:
        logger.warning("list_jobs: skipping export-job entity %r without a JSON object state",
                       metadata.id.key)
        return None
    try:
        description = ExportJobDescription.from_state_dict(metadata.id.key, state)
    except (KeyError, ValueError) as exc:
        logger.warning("list_jobs: skipping export-job entity %r; state did not match the "
                       "current schema (%s)", metadata.id.key, exc)
        return None
    if query.status and description.status not in query.status:
        return None
    return description


class JobWait:
    """The deadline of ``wait_for_job``: says when to stop and what to raise.

    Raises:
        ValueError: ``timeout`` or ``poll_interval`` is not positive.
    """

    def __init__(self, job_id: str, timeout: float, poll_interval: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self._job_id = job_id
        self._timeout = timeout
        self.poll_interval = poll_interval
        self._deadline = time.monotonic() + timeout
        self._last: ExportJobDescription | None = None

    def finished(self, description: ExportJobDescription | None) -> ExportJobDescription | None:
        """Return the description once the job is finished, None to poll again.

        Raises:
            ExportJobNotFoundError: The deadline passed and the job was never seen.
            TimeoutError: The deadline passed while the job was still active.
        """
        if description is not None:
            self._last = description
            if description.status in _FINISHED:
                return description
        if time.monotonic() < self._deadline:
            return None
        if self._last is None:
            raise ExportJobNotFoundError(self._job_id)
        raise TimeoutError(
            f"Export job '{self._job_id}' did not reach a terminal status within "
            f"{self._timeout}s (last status: {self._last.status.value})")


def raise_unless_not_found(exc: grpc.RpcError) -> None:
    """Re-raise ``exc`` unless its status is NOT_FOUND (a missing orchestrator is fine)."""
    # A bare RpcError may have no status: "not NOT_FOUND", so it is raised.
    if status_code(exc) != grpc.StatusCode.NOT_FOUND:
        raise exc


def log_slow_termination(job_id: str) -> None:
    """Log that a deleted job's orchestrator is still running; the purge goes ahead."""
    logger.warning("Export job %r orchestrator %r did not terminate within %ss; purging anyway",
                   job_id, orchestrator_instance_id_for(job_id), DELETE_WAIT_SECONDS)
