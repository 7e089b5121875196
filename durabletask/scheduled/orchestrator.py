"""The orchestrator through which the schedule clients run an entity operation and wait.

A client cannot wait for a signal, but it can wait for an orchestration: each write
(create, update, pause, resume, delete) starts ``execute_schedule_operation_orchestrator``,
which calls the schedule entity and completes (or fails) with the operation.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from durabletask import task
from durabletask.entities import EntityInstanceId
from durabletask.scheduled import transitions
from durabletask.scheduled.models import ScheduleCreationOptions, ScheduleUpdateOptions

__all__ = ["ScheduleOperationRequest", "execute_schedule_operation_orchestrator"]

# Operations whose input is an options object; the others carry a plain value or nothing.
_OPTIONS_TYPES: dict[str, Any] = {
    transitions.CREATE_SCHEDULE: ScheduleCreationOptions,
    transitions.UPDATE_SCHEDULE: ScheduleUpdateOptions,
}


@dataclass
class ScheduleOperationRequest:
    """One operation for one schedule entity: the orchestrator's input.

    Attributes:
        entity_id: The entity's id, ``@schedule@{schedule_id}``.
        operation_name: The entity operation to call.
        input: The operation's input: options for create and update, else a plain value.
    """

    entity_id: str
    operation_name: str
    input: Any | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the request as plain JSON values (options through their own hook)."""
        value: Any = self.input
        if isinstance(value, (ScheduleCreationOptions, ScheduleUpdateOptions)):
            value = value.to_json()
        return {"entity_id": self.entity_id, "operation_name": self.operation_name,
                "input": value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleOperationRequest:
        """Rebuild a request, turning the input back into options where it has that type."""
        operation_name = data["operation_name"]
        value = data.get("input")
        options_type = _OPTIONS_TYPES.get(operation_name)
        if options_type is not None and isinstance(value, dict):
            value = options_type.from_json(value)
        return cls(entity_id=data["entity_id"], operation_name=operation_name, input=value)


def execute_schedule_operation_orchestrator(
    ctx: task.OrchestrationContext, request: ScheduleOperationRequest
) -> Generator[task.Task[Any], Any, Any]:
    """Call ``request.operation_name`` on the schedule entity and return its result.

    The orchestration fails when the operation fails, which is how a client learns that
    e.g. pausing a paused schedule was refused.
    """
    entity_id = EntityInstanceId.parse(request.entity_id)
    result = yield ctx.call_entity(entity_id, request.operation_name, request.input)
    return result
