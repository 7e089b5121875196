"""Base class for class-based entities and the dispatch of an operation to an entity."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, Union

from durabletask.entities.entity_context import EntityContext
from durabletask.entities.entity_instance_id import EntityInstanceId
from durabletask.errors import DurableTaskError

__all__ = ["DurableEntity", "EntityOperationNotFoundError", "execute_entity_operation"]

TState = TypeVar("TState")

EntityTarget = Union[Callable[..., Any], type["DurableEntity"], "DurableEntity"]
"""What a runtime can dispatch to: an entity function, a DurableEntity subclass or instance."""


class EntityOperationNotFoundError(DurableTaskError, AttributeError):
    """A class-based entity has no public method named after the requested operation.

    Raised by :func:`execute_entity_operation`; the operation fails with this error type.
    Define a method with the operation's name on the ``DurableEntity`` subclass.
    """


class DurableEntity:
    """Base class for class-based entities: each public method is an operation.

    An operation named ``"add"`` calls ``self.add(input)``. The runtime sets
    :attr:`entity_context` before each operation, so the helpers below read and write the
    state of the entity being executed. ``delete`` is built in and clears the state.

    Attributes:
        entity_context: The context of the operation being executed; ``None`` outside one.
    """

    entity_context: EntityContext | None = None

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


def execute_entity_operation(
    entity: EntityTarget, context: EntityContext, encoded_input: str | None
) -> Any:
    """Run the operation named by ``context.operation`` on ``entity``.

    A function entity is called as ``fn(context, input)`` (or ``fn(context)`` when it takes
    one parameter). A class entity is instantiated if needed, gets ``entity_context`` set,
    and its method named after the operation is called; the input is passed only if the
    method has a required parameter or the input is not ``None``. The input is decoded
    with the context's data converter into the parameter's annotated type.

    Args:
        entity: The registered entity function, DurableEntity subclass or instance.
        context: The operation's context.
        encoded_input: The operation input in wire form, or ``None``.

    Returns:
        The operation's return value, not yet serialised.

    Raises:
        EntityOperationNotFoundError: A class entity has no method for the operation.
        Exception: Whatever the operation raises.
    """
    if isinstance(entity, type) and issubclass(entity, DurableEntity):
        entity = entity()
    if isinstance(entity, DurableEntity):
        entity.entity_context = context
        method = _find_operation(entity, context.operation)
        parameter = _first_parameter(method)
    else:
        function = typing.cast(Callable[..., Any], entity)
        parameters = list(_signature(function).parameters.values())
        if len(parameters) < 2:
            return function(context)
        return function(context, _decode(context, encoded_input, function, parameters[1]))
    value = _decode(context, encoded_input, method, parameter)
    required = (
        parameter is not None
        and parameter.kind is not parameter.VAR_POSITIONAL
        and parameter.default is parameter.empty
    )
    if value is None and not required:
        return method()
    return method(value)


def _find_operation(entity: DurableEntity, operation: str) -> Callable[..., Any]:
    candidates = [operation] if not operation.startswith("_") else []
    folded = operation.casefold()
    candidates += [
        name for name in dir(type(entity))
        if not name.startswith("_") and name.casefold() == folded and name != operation
    ]
    for name in candidates:
        method = getattr(entity, name, None)
        if callable(method):
            return typing.cast(Callable[..., Any], method)
    raise EntityOperationNotFoundError(
        f"Entity {type(entity).__name__} has no operation {operation!r}: define a public "
        f"method named {operation!r} on the DurableEntity subclass"
    )


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return inspect.Signature()


def _first_parameter(method: Callable[..., Any]) -> inspect.Parameter | None:
    for parameter in _signature(method).parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD,
                              parameter.VAR_POSITIONAL):
            return parameter
    return None


def _decode(
    context: EntityContext,
    encoded_input: str | None,
    fn: Callable[..., Any],
    parameter: inspect.Parameter | None,
) -> Any:
    target: Any = None
    if parameter is not None and parameter.kind is not parameter.VAR_POSITIONAL:
        try:
            target = typing.get_type_hints(fn).get(parameter.name)
        except Exception:  # unresolvable forward references: decode without a target type
            target = None
    return context.data_converter.deserialize(encoded_input, target)
