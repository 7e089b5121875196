"""History export: write the histories of finished orchestrations to a destination.

An export job selects terminal instances (completed, failed, terminated) by completion
time and writes one blob per instance, as JSON or gzipped JSON lines, through a
:class:`HistoryWriter`: :class:`LocalFolderHistoryWriter` (files under a folder, ours)
or ``azure_blob.AzureBlobHistoryExportWriter`` (extra ``durabletask[azure-blob]``). A
job is a durable entity driven by an orchestrator, so it survives restarts like any
orchestration; it runs once (``BATCH``) or keeps following new completions
(``CONTINUOUS``). See docs/history-export.md.
"""

from durabletask.extensions.history_export._constants import (
    ENTITY_NAME,
    ORCHESTRATOR_NAME,
    orchestrator_instance_id_for,
)
from durabletask.extensions.history_export.activities import (
    HistoryExportContext,
    HistoryExportContextResolver,
    build_activities,
    run_export_instance_history,
    run_list_terminal_instances,
)
from durabletask.extensions.history_export.client import (
    AsyncExportHistoryClient,
    AsyncExportHistoryJobClient,
    ExportHistoryClient,
    ExportHistoryJobClient,
)
from durabletask.extensions.history_export.entity import ExportJobEntity
from durabletask.extensions.history_export.exceptions import (
    ExportJobError,
    ExportJobInvalidTransitionError,
    ExportJobNotFoundError,
)
from durabletask.extensions.history_export.local_folder import LocalFolderHistoryWriter
from durabletask.extensions.history_export.models import (
    STATE_SCHEMA_VERSION,
    ExportCheckpoint,
    ExportDestination,
    ExportFailure,
    ExportFilter,
    ExportFormat,
    ExportFormatKind,
    ExportJobConfiguration,
    ExportJobCreationOptions,
    ExportJobDescription,
    ExportJobQuery,
    ExportJobState,
    ExportJobStatus,
    ExportMode,
)
from durabletask.extensions.history_export.writer import HistoryWriter

__all__ = [
    "ENTITY_NAME",
    "ORCHESTRATOR_NAME",
    "STATE_SCHEMA_VERSION",
    "AsyncExportHistoryClient",
    "AsyncExportHistoryJobClient",
    "ExportCheckpoint",
    "ExportDestination",
    "ExportFailure",
    "ExportFilter",
    "ExportFormat",
    "ExportFormatKind",
    "ExportHistoryClient",
    "ExportHistoryJobClient",
    "ExportJobConfiguration",
    "ExportJobCreationOptions",
    "ExportJobDescription",
    "ExportJobEntity",
    "ExportJobError",
    "ExportJobInvalidTransitionError",
    "ExportJobNotFoundError",
    "ExportJobQuery",
    "ExportJobState",
    "ExportJobStatus",
    "ExportMode",
    "HistoryExportContext",
    "HistoryExportContextResolver",
    "HistoryWriter",
    "LocalFolderHistoryWriter",
    "build_activities",
    "orchestrator_instance_id_for",
    "run_export_instance_history",
    "run_list_terminal_instances",
]
