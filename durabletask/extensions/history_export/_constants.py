"""Names and ids shared by the export-job entity, orchestrator and clients."""

from __future__ import annotations

__all__ = [
    "ENTITY_NAME",
    "ORCHESTRATOR_INSTANCE_ID_PREFIX",
    "ORCHESTRATOR_NAME",
    "orchestrator_instance_id_for",
]

ENTITY_NAME = "ExportJobEntity"
"""The export-job entity's name (entity ids are ``@exportjobentity@{job_id}``)."""

ORCHESTRATOR_NAME = "export_job_orchestrator"
"""The registered name of the orchestrator that drives a job."""

ORCHESTRATOR_INSTANCE_ID_PREFIX = "export-job-"
"""Every job's orchestrator runs as ``export-job-{job_id}``."""


def orchestrator_instance_id_for(job_id: str) -> str:
    """Return the instance id of the orchestrator driving ``job_id`` (``export-job-{job_id}``).

    Raises:
        ValueError: ``job_id`` is empty.
    """
    if not job_id:
        raise ValueError("job_id must be a non-empty string")
    return f"{ORCHESTRATOR_INSTANCE_ID_PREFIX}{job_id}"
