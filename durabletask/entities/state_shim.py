"""An entity's state and requested actions during one batch, with commit and rollback."""

from __future__ import annotations

import typing
from typing import Any, TypeVar

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["StateShim"]

TState = TypeVar("TState")

# Plain scalar types a JSON value may need converting into (e.g. "5" read as an int).
_SCALAR_TYPES = (int, float, str, bool)


class StateShim:
    """Holds an entity's state and the actions its operations request, for one batch.

    The state is kept in its serialized (wire) form, as the official runtime keeps it:

    * :meth:`get_state` decodes a fresh value on every call, so mutating a value read from
      it changes nothing until it is written back with :meth:`set_state`;
    * :meth:`set_state` serializes at once, so a value the data converter cannot encode
      fails the operation that wrote it (and only that one);
    * a state nobody wrote is handed back byte for byte, never re-encoded.

    The runtime calls :meth:`commit` after each operation that succeeds and
    :meth:`rollback` after one that fails, then reads :attr:`encoded_state` and
    :meth:`get_operation_actions`. A failed operation therefore leaves neither state
    changes nor actions behind.

    Args:
        serialized_state: The stored state as the data converter wrote it, or ``None``
            (or an empty string) when the entity has no state.
        data_converter: Decodes and encodes the state; the JSON converter by default.
    """

    def __init__(
        self,
        serialized_state: str | None = None,
        *,
        data_converter: DataConverter | None = None,
    ) -> None:
        self._converter = data_converter or DEFAULT_DATA_CONVERTER
        self._current: str | None = serialized_state or None
        self._checkpoint: str | None = self._current
        self._actions: list[pb.OperationAction] = []
        self._checkpoint_action_count = 0

    @property
    def data_converter(self) -> DataConverter:
        """The converter that encodes and decodes the state."""
        return self._converter

    @property
    def encoded_state(self) -> str | None:
        """The current state in wire form; ``None`` means the entity has no state."""
        return self._current

    def encode_state(self) -> str | None:
        """Return :attr:`encoded_state` (the official runtime's name for it)."""
        return self._current

    def get_state(
        self, intended_type: type[TState] | None = None, default: TState | None = None
    ) -> TState | Any:
        """Return a freshly decoded copy of the state, as ``intended_type`` when given.

        Args:
            intended_type: The type to convert the state to (dataclasses, ``from_json``
                types and plain scalars are supported).
            default: Returned when the entity has no state.

        Raises:
            TypeError: The state cannot be converted to ``intended_type``.
        """
        if self._current is None:
            return default
        value = self._converter.deserialize(self._current, intended_type)
        if intended_type is None or not isinstance(intended_type, type):
            return value
        if isinstance(value, intended_type):
            return value
        if intended_type in _SCALAR_TYPES and not isinstance(value, (dict, list)):
            try:
                return typing.cast(Any, intended_type)(value)
            except (TypeError, ValueError) as exc:
                raise _conversion_error(value, intended_type) from exc
        raise _conversion_error(value, intended_type)

    def set_state(self, state: Any) -> None:
        """Replace the state; ``None`` deletes it (the sidecar may then remove the entity).

        Args:
            state: Any value the data converter can serialise.

        Raises:
            TypeError: The data converter cannot serialise ``state``; the state is
                unchanged.
        """
        self._current = None if state is None else self._converter.serialize(state)

    def add_operation_action(self, action: pb.OperationAction) -> None:
        """Record an action (signal or new orchestration) to send if the operation succeeds.

        Args:
            action: The action. Its ``id`` is left as given (0), as the official runtime
                sends it; the sidecar runs the actions in list order.
        """
        self._actions.append(action)

    def get_operation_actions(self) -> list[pb.OperationAction]:
        """Return the actions recorded so far (after :meth:`commit`, the committed ones)."""
        return list(self._actions)

    def commit(self) -> None:
        """Keep the current state and actions: a later :meth:`rollback` returns here."""
        self._checkpoint = self._current
        self._checkpoint_action_count = len(self._actions)

    def rollback(self) -> None:
        """Drop the state changes and actions made since the last :meth:`commit`."""
        self._current = self._checkpoint
        del self._actions[self._checkpoint_action_count:]


def _conversion_error(value: Any, intended_type: type) -> TypeError:
    return TypeError(
        f"Entity state of type {type(value).__name__} cannot be converted to "
        f"{intended_type.__name__}; pass the type the state was stored as, or none"
    )
