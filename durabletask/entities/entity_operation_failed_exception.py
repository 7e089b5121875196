"""The error an orchestration sees when an entity operation it called failed."""

from __future__ import annotations

from typing import Any

from durabletask.entities.entity_instance_id import EntityInstanceId
from durabletask.errors import DurableTaskError
from durabletask.internal.proto import orchestrator_service_pb2 as pb

__all__ = ["EntityOperationFailedException"]


class EntityOperationFailedException(DurableTaskError):
    """An entity operation called from an orchestration (``ctx.call_entity``) failed.

    It names the entity and the operation; the entity's own error is in
    ``failure_details``. As in the official SDK, ``yield ctx.call_entity(...)`` raises a
    ``TaskFailedError`` whose ``details`` describe this exception (``error_type``
    ``durabletask.entities.entity_operation_failed_exception.EntityOperationFailedException``,
    the same message) with the entity's failure as ``details.inner_failure``.

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
        # The official SDK's message, word for word: callers and other SDKs match on it.
        super().__init__(
            f"Operation '{operation_name}' on entity '{entity_instance_id}' failed with "
            f"error: {failure_details.errorMessage}"
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
