"""Base class for class-based entities."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from durabletask.entities.entity_context import EntityContext
from durabletask.entities.entity_instance_id import EntityInstanceId

__all__ = ["DurableEntity"]

TState = TypeVar("TState")


class DurableEntity:
    """Base class for class-based entities: each public method is an operation.

    An operation named ``"add"`` calls ``self.add(input)`` on a new instance (names are
    matched exactly; names starting with ``_`` are never operations). The runtime sets
    :attr:`entity_context` before each operation, so the helpers below read and write the
    state of the entity being executed. ``delete`` is built in and clears the state.

    Attributes:
        entity_context: The context of the operation being executed; ``None`` outside one.
    """

    entity_context: EntityContext | None = None

    def _initialize_entity_context(self, context: EntityContext) -> None:
        """Bind the instance to the operation about to run (called by the runtime)."""
        self.entity_context = context

    def _context(self) -> EntityContext:
        if self.entity_context is None:
            raise RuntimeError(
                f"{type(self).__name__}.entity_context is only set while an entity operation "
                "runs; call this from inside an operation method"
            )
        return self.entity_context

    def get_state(
        self, intended_type: type[TState] | None = None, default: TState | None = None
    ) -> TState | Any:
        """Return the entity's state, or ``default`` when it has none.

        Args:
            intended_type: Convert the state to this type (e.g. a dataclass).
            default: Returned when the entity has no state.

        Raises:
            RuntimeError: Called outside an operation.
        """
        return self._context().get_state(intended_type, default)

    def set_state(self, state: Any) -> None:
        """Replace the entity's state; ``None`` deletes it.

        Args:
            state: Any value the data converter can serialise.

        Raises:
            RuntimeError: Called outside an operation.
        """
        self._context().set_state(state)

    def signal_entity(
        self,
        entity_instance_id: EntityInstanceId,
        operation: str,
        input: Any = None,
        signal_time: datetime | None = None,
    ) -> None:
        """Send a one-way operation to an entity once this operation succeeds.

        Args:
            entity_instance_id: The entity to signal.
            operation: The operation name to run on it.
            input: The operation input.
            signal_time: Deliver no earlier than this time (naive values are UTC).
        """
        self._context().signal_entity(entity_instance_id, operation, input, signal_time)

    def schedule_new_orchestration(
        self, orchestration_name: str, input: Any = None, instance_id: str | None = None
    ) -> str:
        """Start a new orchestration once this operation succeeds.

        Args:
            orchestration_name: The registered name of the orchestrator.
            input: The orchestration input.
            instance_id: The new instance id; random by default.

        Returns:
            The instance id the orchestration will have.
        """
        return self._context().schedule_new_orchestration(
            orchestration_name, input, instance_id=instance_id
        )

    def delete(self, input: Any = None) -> None:
        """The built-in ``delete`` operation: clears the state (the input is ignored).

        Args:
            input: Ignored; accepted so that ``delete`` can be signalled with an input.
        """
        self.set_state(None)
