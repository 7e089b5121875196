"""One entity operation run outside a batch, with the official worker's private signature.

The official repository's entity tests (e.g. its scheduled-tasks tests) drive
``durabletask.worker._EntityExecutor(registry, logger, data_converter).execute(...)``
directly; this is that object, on top of our own operation dispatch. Unlike
:class:`~durabletask.internal.engine.EntityExecutor` it raises what the operation raises
and leaves commit and rollback of the state to the caller.
"""

from __future__ import annotations

import logging

from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.entities.state_shim import StateShim
from durabletask.internal.engine.entity_dispatch import run_operation
from durabletask.internal.engine.registry import EntityNotRegisteredError, Registry
from durabletask.serialization import DataConverter

__all__ = ["SingleOperationExecutor"]


class SingleOperationExecutor:
    """Runs single entity operations against a registry.

    Args:
        registry: Where the entity is looked up by its (lower-cased) name.
        logger: Where the operation is logged.
        data_converter: Decodes the input and encodes the result.
    """

    def __init__(
        self, registry: Registry, logger: logging.Logger, data_converter: DataConverter
    ) -> None:
        self._registry = registry
        self._logger = logger
        self._converter = data_converter

    def execute(
        self,
        orchestration_id: str,
        entity_id: EntityInstanceId,
        operation: str,
        state: StateShim,
        encoded_input: str | None,
    ) -> str | None:
        """Run ``operation`` on the entity with ``state`` and return the encoded result.

        Raises:
            EntityNotRegisteredError: No entity of that name is registered.
            Exception: Whatever the operation raises.
        """
        self._logger.debug("%s: executing entity '%s'", orchestration_id, entity_id)
        entity = self._registry.get_entity(entity_id.entity)
        if entity is None:
            raise EntityNotRegisteredError(
                f"Entity function named '{entity_id.entity}' was not registered!")
        context = EntityContext(orchestration_id, operation, state, entity_id, self._converter)
        return self._converter.serialize(
            run_operation(entity, context, encoded_input, self._converter))
