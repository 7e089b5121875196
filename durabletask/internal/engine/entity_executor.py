"""The engine's entity entry point: one entity work item in, one ``EntityBatchResult`` out.

Operations run in order against one state holder. An operation that raises (or whose
result cannot be serialised) gets a failure result and is rolled back alone: its state
change and its signals or new orchestrations are dropped, the operations before and after
it keep theirs. This is the official runtime's contract, and it is what callers see as
``EntityOperationFailedException`` details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.entities.state_shim import StateShim
from durabletask.exception_properties import ExceptionPropertiesProvider
from durabletask.internal import failures
from durabletask.internal.engine.entity_dispatch import run_operation
from durabletask.internal.engine.entity_requests import EntityWorkItem, to_batch
from durabletask.internal.engine.registry import EntityNotRegisteredError, Registry
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["EntityBatchOutcome", "EntityExecutor"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class EntityBatchOutcome:
    """What one entity work item produced.

    Attributes:
        result: The ``EntityBatchResult`` to send with ``CompleteEntityTask``; ``None``
            when the work item must be abandoned instead.
        abandon_reason: Why the work item cannot be completed here (``result`` is None).
    """

    result: pb.EntityBatchResult | None
    abandon_reason: str | None = None


class EntityExecutor:
    """Executes entity batches against the registered entities; never raises.

    Args:
        registry: Where entities are looked up by (lower-cased) name.
        data_converter: Decodes inputs and state, encodes results and state.
        exception_properties_provider: Adds properties to failure details.
        logger: Where failures are logged (default ``durabletask.entity``).
        clock: The wall clock of the operation start and end times (UTC).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        data_converter: DataConverter = DEFAULT_DATA_CONVERTER,
        exception_properties_provider: ExceptionPropertiesProvider | None = None,
        logger: logging.Logger | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._registry = registry
        self._converter = data_converter
        self._properties_provider = exception_properties_provider
        self._logger = logger or logging.getLogger("durabletask.entity")
        self._clock = clock

    def execute(self, request: EntityWorkItem, completion_token: str = "") -> EntityBatchOutcome:
        """Run every operation of ``request`` (either wire form) and build the result.

        The result has one ``OperationResult`` per operation, in order; the actions of the
        operations that succeeded; the final state (absent when deleted); the completion
        token; and, for the V2 form, one ``OperationInfo`` per operation.

        Never raises: a work item the engine cannot run (e.g. an instance id that is not
        ``@name@key``) comes back with ``result=None`` and a reason, to be abandoned.
        """
        try:
            return EntityBatchOutcome(self._execute(request, completion_token))
        except Exception as exc:  # the contract is "never raises": report, don't propagate
            self._logger.exception("%s: the entity batch cannot run", request.instanceId)
            return EntityBatchOutcome(None, f"{type(exc).__name__}: {exc}")

    def _execute(self, request: EntityWorkItem, completion_token: str) -> pb.EntityBatchResult:
        batch, infos = to_batch(request, self._logger)
        try:
            entity_id = EntityInstanceId.parse(batch.instanceId)
        except ValueError as exc:
            raise ValueError(
                f"Invalid entity instance ID '{batch.instanceId}' in entity operation request."
            ) from exc
        encoded = batch.entityState.value if batch.HasField("entityState") else None
        state = StateShim(encoded, data_converter=self._converter)
        results = [self._run(entity_id, operation, state) for operation in batch.operations]
        result = pb.EntityBatchResult(
            results=results,
            actions=state.get_operation_actions(),
            completionToken=completion_token,
            operationInfos=infos,
        )
        if state.encoded_state is not None:
            result.entityState.value = state.encoded_state
        return result

    def _run(
        self, entity_id: EntityInstanceId, operation: pb.OperationRequest, state: StateShim
    ) -> pb.OperationResult:
        started = self._clock()
        try:
            entity = self._registry.get_entity(entity_id.entity)
            if entity is None:
                raise EntityNotRegisteredError(
                    f"Entity function named '{entity_id.entity}' was not registered!"
                )
            context = EntityContext(
                str(entity_id), operation.operation, state, entity_id, self._converter
            )
            encoded_input = operation.input.value if operation.HasField("input") else None
            output = run_operation(entity, context, encoded_input, self._converter)
            encoded_output = self._converter.serialize(output)
        except Exception as exc:  # the operation's failure is its result, never raised
            state.rollback()
            return self._failed(entity_id, operation.operation, exc, started)
        state.commit()
        success = pb.OperationResultSuccess()
        # The result is always present, empty for None, as the official worker sends it.
        success.result.value = encoded_output or ""
        success.startTimeUtc.FromDatetime(started)
        success.endTimeUtc.FromDatetime(self._clock())
        return pb.OperationResult(success=success)

    def _failed(
        self, entity_id: EntityInstanceId, operation: str, exc: Exception, started: datetime
    ) -> pb.OperationResult:
        self._logger.warning(
            "Operation '%s' on entity %s failed: %s: %s",
            operation, entity_id, type(exc).__name__, exc,
        )
        failure = pb.OperationResultFailure(
            failureDetails=failures.failure_details_from_exception(
                exc, properties_provider=self._properties_provider
            )
        )
        failure.startTimeUtc.FromDatetime(started)
        failure.endTimeUtc.FromDatetime(self._clock())
        return pb.OperationResult(failure=failure)
