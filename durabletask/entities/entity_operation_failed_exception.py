"""The error an orchestration sees when an entity operation it called failed."""

from __future__ import annotations

from typing import Any

from durabletask.entities.entity_instance_id import EntityInstanceId
from durabletask.errors import DurableTaskError
from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["EntityOperationFailedException"]


class EntityOperationFailedException(DurableTaskError):
    """An entity operation called from an orchestration (``ctx.call_entity``) failed.

    Unlike ``TaskFailedError`` (activities, sub-orchestrations), it names the entity and
    the operation. The entity's own error is in ``failure_details``.

    Attributes:
        entity_instance_id: The entity the operation ran on.
        operation_name: The operation that failed.
        failure_details: The failure reported by the entity (``errorType``,
            ``errorMessage``, ``stackTrace``...).
    """

    # The message is built from the arguments; __reduce__ keeps pickling and copying exact.
    def __init__(  # noqa: B042
        self,
        entity_instance_id: EntityInstanceId,
        operation_name: str,
        failure_details: pb.TaskFailureDetails,
    ) -> None:
        super().__init__(
            f"Operation {operation_name!r} on entity {entity_instance_id} failed: "
            f"{failure_details.errorType}: {failure_details.errorMessage}"
        )
        self.entity_instance_id = entity_instance_id
        self.operation_name = operation_name
        self.failure_details = failure_details

    # The generated message classes cannot be pickled by reference, so pickle their bytes.
    def __reduce__(self) -> tuple[Any, tuple[EntityInstanceId, str, bytes]]:
        return (
            _rebuild,
            (self.entity_instance_id, self.operation_name,
             self.failure_details.SerializeToString()),
        )


def _rebuild(
    entity_instance_id: EntityInstanceId, operation_name: str, failure_details: bytes
) -> EntityOperationFailedException:
    return EntityOperationFailedException(
        entity_instance_id, operation_name, pb.TaskFailureDetails.FromString(failure_details)
    )
