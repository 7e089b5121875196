"""What a client learns about a stored entity: id, last change, backlog, lock and state."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

from durabletask.entities.entity_instance_id import EntityInstanceId
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["EntityMetadata"]

TState = TypeVar("TState")


class EntityMetadata:
    """A stored entity as returned by ``get_entity`` and ``get_all_entities``.

    Args:
        id: The entity's id.
        last_modified: When the entity last changed (timezone-aware UTC when read from
            the sidecar).
        backlog_queue_size: Operations waiting to run on the entity.
        locked_by: The instance id of the orchestration holding the entity's lock, if any.
        includes_state: Whether the state was requested (``include_state``) and is present
            in ``state``.
        state: The serialized state as stored, or ``None``.
        data_converter: Decodes ``state`` in :meth:`get_typed_state`.

    Attributes:
        id: The entity's id.
        last_modified: When the entity last changed.
        backlog_queue_size: Operations waiting to run on the entity.
        includes_state: Whether the state was fetched.
    """

    def __init__(
        self,
        id: EntityInstanceId,
        last_modified: datetime,
        backlog_queue_size: int,
        locked_by: str | None,
        includes_state: bool,
        state: str | None,
        data_converter: DataConverter | None = None,
    ) -> None:
        self.id = id
        self.last_modified = last_modified
        self.backlog_queue_size = backlog_queue_size
        self.includes_state = includes_state
        self._locked_by = locked_by or None
        self._state = state
        self._converter = data_converter or DEFAULT_DATA_CONVERTER

    def __repr__(self) -> str:
        return (
            f"EntityMetadata(id={self.id!r}, last_modified={self.last_modified!r}, "
            f"backlog_queue_size={self.backlog_queue_size}, locked_by={self._locked_by!r}, "
            f"includes_state={self.includes_state})"
        )

    @property
    def locked_by(self) -> str | None:
        """The raw instance id of the lock holder (usually an orchestration), or ``None``."""
        return self._locked_by

    @staticmethod
    def from_entity_response(
        entity_response: pb.GetEntityResponse,
        includes_state: bool = True,
        data_converter: DataConverter | None = None,
    ) -> EntityMetadata:
        """Build the metadata from a ``GetEntity`` response.

        Args:
            entity_response: The sidecar's response; it must describe an existing entity.
            includes_state: Whether the request asked for the state.
            data_converter: Decodes the state later; the JSON converter by default.

        Raises:
            ValueError: The entity's instance id is not of the form ``@name@key``.
        """
        return EntityMetadata.from_entity_metadata(
            entity_response.entity, includes_state, data_converter
        )

    @staticmethod
    def from_entity_metadata(
        entity: pb.EntityMetadata,
        includes_state: bool = True,
        data_converter: DataConverter | None = None,
    ) -> EntityMetadata:
        """Build the metadata from the wire ``EntityMetadata`` message.

        Args:
            entity: The wire message (from ``GetEntity`` or ``QueryEntities``).
            includes_state: Whether the request asked for the state.
            data_converter: Decodes the state later; the JSON converter by default.

        Raises:
            ValueError: The entity's instance id is not of the form ``@name@key``.
        """
        try:
            entity_id = EntityInstanceId.parse(entity.instanceId)
        except ValueError as exc:
            raise ValueError(
                f"The sidecar returned an entity with an invalid instance id "
                f"{entity.instanceId!r}: {exc}"
            ) from exc
        state = None
        if includes_state and entity.HasField("serializedState"):
            state = entity.serializedState.value
        locked_by = entity.lockedBy.value if entity.HasField("lockedBy") else None
        return EntityMetadata(
            id=entity_id,
            last_modified=entity.lastModifiedTime.ToDatetime(tzinfo=timezone.utc),
            backlog_queue_size=entity.backlogQueueSize,
            locked_by=locked_by,
            includes_state=includes_state,
            state=state,
            data_converter=data_converter,
        )

    def get_state(self, intended_type: type[TState] | None = None) -> TState | Any:
        """Return the state as stored (its serialized JSON string), as 1.12.0 does.

        To decode it (and rebuild dataclasses and the like) use :meth:`get_typed_state`.

        Args:
            intended_type: Coerce the stored string with ``intended_type(state)`` (the
                official SDK's legacy contract), e.g. ``int`` for a stored ``"5"``.

        Returns:
            The stored string, its coercion, or ``None`` when the state was not fetched
            or the entity has none.

        Raises:
            TypeError: ``intended_type(state)`` failed.
        """
        state = self._state if self.includes_state else None
        if intended_type is None or state is None or isinstance(state, intended_type):
            return state
        try:
            return intended_type(state)  # type: ignore[call-arg]
        except Exception as exc:  # noqa: BLE001 - any failed coercion is the same TypeError
            raise TypeError(
                f"Could not convert state of type '{type(state).__name__}' to "
                f"'{intended_type.__name__}'"
            ) from exc

    def get_typed_state(self, intended_type: type[TState] | None = None) -> TState | Any:
        """Return the state as ``intended_type``, or ``None`` when there is none.

        Args:
            intended_type: The type the state must have after decoding; None (as in
                1.12.0) returns the decoded JSON value.

        Raises:
            TypeError: The decoded state is not an ``intended_type``.
        """
        if not self.includes_state or self._state is None:
            return None
        value = self._converter.deserialize(self._state, intended_type)
        if value is None or not isinstance(intended_type, type):
            return value
        if not isinstance(value, intended_type):
            raise TypeError(
                f"The state of entity {self.id} is a {type(value).__name__}, "
                f"not a {intended_type.__name__}"
            )
        return value

    def get_locked_by(self) -> EntityInstanceId | None:
        """Return the lock holder as an ``EntityInstanceId``.

        Returns:
            ``None`` when the entity is not locked, or when the holder's id is not of the
            entity form ``@name@key`` (an orchestration holds the lock; see
            :attr:`locked_by` for its raw id).
        """
        if self._locked_by is None:
            return None
        try:
            return EntityInstanceId.parse(self._locked_by)
        except ValueError:
            return None
