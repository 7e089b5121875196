"""Runs one operation on a registered entity: a function or a ``DurableEntity`` class.

The rules are the official worker's, so that the same entity code behaves the same:

* a function entity is called as ``fn(ctx, input)`` (``fn(ctx)`` when it takes only the
  context, an addition of ours);
* a class entity is instantiated for each operation, gets its ``entity_context`` set, and
  the method named exactly like the operation is called: with the input when the method
  has a required parameter or the input is not ``None``, else without arguments;
* an unknown operation fails with ``AttributeError("Entity '@name@key' does not have
  operation 'op'")``, a non-callable attribute with ``TypeError``. Names starting with
  ``_`` are never operations (the official worker would call them).
"""

from __future__ import annotations

import inspect
from typing import Any

from durabletask.entities import DurableEntity, EntityContext
from durabletask.internal.engine.signatures import reconstructable, shape_of
from durabletask.serialization import DataConverter

__all__ = ["run_operation"]


def run_operation(
    entity: Any, context: EntityContext, encoded_input: str | None, converter: DataConverter
) -> Any:
    """Run ``context.operation`` on ``entity`` and return its (unserialised) result.

    Args:
        entity: The registered function, ``DurableEntity`` subclass or instance.
        context: The operation's context (identity, state, recorded actions).
        encoded_input: The operation input in wire form; ``None`` or empty means none.
        converter: Decodes the input, into the parameter's annotated type if any.

    Raises:
        AttributeError: A class entity has no such operation.
        TypeError: The attribute named by the operation is not callable.
        Exception: Whatever the operation raises.
    """
    if isinstance(entity, type) and issubclass(entity, DurableEntity):
        return _run_method(entity(), context, encoded_input, converter)
    if isinstance(entity, DurableEntity):
        return _run_method(entity, context, encoded_input, converter)
    shape = shape_of(entity)
    if not shape.takes_input:
        return entity(context)
    input_type = reconstructable(shape.input_type, converter)
    return entity(context, converter.deserialize(encoded_input or None, input_type))


def _run_method(
    instance: DurableEntity,
    context: EntityContext,
    encoded_input: str | None,
    converter: DataConverter,
) -> Any:
    operation = context.operation
    if operation.startswith("_") or not hasattr(instance, operation):
        raise AttributeError(
            f"Entity '{context.entity_id}' does not have operation '{operation}'"
        )
    method = getattr(instance, operation)
    if not callable(method):
        raise TypeError(f"Entity operation '{operation}' is not callable")
    instance._initialize_entity_context(context)
    unbound = getattr(type(instance), operation, None)
    annotation = shape_of(unbound).input_type if callable(unbound) else None
    # As in 1.12.0, only types the converter can rebuild shape the input; others (str,
    # int, ...) get the decoded payload as sent.
    value = converter.deserialize(encoded_input or None, reconstructable(annotation, converter))
    if value is not None or _has_required_parameter(method):
        return method(value)
    return method()


def _has_required_parameter(method: Any) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.default is inspect.Parameter.empty
        for p in parameters
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    )
