"""The public data models of history export: job options, configuration, state, views.

Each model converts to and from plain JSON values (``to_dict``/``from_dict``), the form
in which it travels through entity state and orchestration and activity inputs.
"""

from __future__ import annotations

from durabletask.extensions.history_export._config import (
    ExportCheckpoint,
    ExportDestination,
    ExportFailure,
    ExportFilter,
    ExportFormat,
    ExportFormatKind,
    ExportJobConfiguration,
    ExportJobCreationOptions,
    ExportJobQuery,
    ExportJobStatus,
    ExportMode,
)
from durabletask.extensions.history_export._state import (
    STATE_SCHEMA_VERSION,
    ExportJobDescription,
    ExportJobState,
)

__all__ = [
    "STATE_SCHEMA_VERSION",
    "ExportCheckpoint",
    "ExportDestination",
    "ExportFailure",
    "ExportFilter",
    "ExportFormat",
    "ExportFormatKind",
    "ExportJobConfiguration",
    "ExportJobCreationOptions",
    "ExportJobDescription",
    "ExportJobQuery",
    "ExportJobState",
    "ExportJobStatus",
    "ExportMode",
]
