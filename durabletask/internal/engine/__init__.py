"""The pure replay engine: orchestration history in, actions out; no I/O, no threads."""

from __future__ import annotations

from durabletask.internal.engine.activity import ActivityExecutor, ActivityOutcome
from durabletask.internal.engine.context import (
    DATETIME_STRING_FORMAT,
    RuntimeOrchestrationContext,
)
from durabletask.internal.engine.entity_executor import EntityBatchOutcome, EntityExecutor
from durabletask.internal.engine.executor import (
    DEFAULT_MAXIMUM_TIMER_INTERVAL,
    OrchestrationExecutor,
)
from durabletask.internal.engine.registry import (
    ActivityNotRegisteredError,
    EntityNotRegisteredError,
    OrchestratorNotRegisteredError,
    Registry,
)
from durabletask.internal.engine.results import ExecutionResults
from durabletask.internal.engine.runner import JsonEncodeOutputException
from durabletask.internal.engine.versioning import (
    VersionFailureStrategy,
    VersioningOptions,
    VersionMatchStrategy,
)

__all__ = [
    "DATETIME_STRING_FORMAT",
    "DEFAULT_MAXIMUM_TIMER_INTERVAL",
    "ActivityExecutor",
    "ActivityNotRegisteredError",
    "ActivityOutcome",
    "EntityBatchOutcome",
    "EntityExecutor",
    "EntityNotRegisteredError",
    "ExecutionResults",
    "JsonEncodeOutputException",
    "OrchestrationExecutor",
    "OrchestratorNotRegisteredError",
    "Registry",
    "RuntimeOrchestrationContext",
    "VersionFailureStrategy",
    "VersionMatchStrategy",
    "VersioningOptions",
]
