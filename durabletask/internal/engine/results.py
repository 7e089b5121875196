"""The outcome of one orchestration episode, handed back to the worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["ExecutionResults"]


@dataclass
class ExecutionResults:
    """What an orchestration episode produced.

    Attributes:
        actions: The actions to send in ``OrchestratorResponse.actions``.
        encoded_custom_status: The serialised custom status, or None if never set.
        orchestration_trace_context: Tracing state to echo to the backend, if any.
        abandon: True when the worker must abandon the work item instead of completing
            it (versioning ``REJECT``); ``actions`` is then empty.
        trace: The episode's trace facts (``trace_journal.TraceRecord``) when the
            executor records them, else None.
        awaited_events: Names of the external events the orchestration waits for.
        unclaimed_events: Events it received that nothing waited for, by name, with counts.
    """

    actions: list[pb.OrchestratorAction]
    encoded_custom_status: str | None
    orchestration_trace_context: Any = None
    abandon: bool = False
    trace: Any = None
    awaited_events: tuple[str, ...] = ()
    unclaimed_events: dict[str, int] = field(default_factory=dict)
