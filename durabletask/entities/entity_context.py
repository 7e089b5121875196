"""The context an entity operation runs in: identity, state and requested actions."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, TypeVar

from google.protobuf import timestamp_pb2, wrappers_pb2

from durabletask.entities.entity_instance_id import EntityInstanceId
from durabletask.entities.state_shim import StateShim
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["EntityContext"]

TState = TypeVar("TState")


class EntityContext:
    """What an entity operation can see and do while it runs.

    The runtime builds one per operation. State reads and writes go to ``state``; signals
    and new orchestrations are recorded there as actions and sent by the runtime only if
    the operation succeeds.

    Args:
        orchestration_id: The instance id of the entity being executed (``@name@key``).
        operation: The name of the operation being executed.
        state: The batch's state holder (commit/rollback and recorded actions).
        entity_id: The id of the entity being executed.
        data_converter: Serialises the inputs of signals and new orchestrations.
    """

    def __init__(
        self,
        orchestration_id: str,
        operation: str,
        state: StateShim,
        entity_id: EntityInstanceId,
        data_converter: DataConverter | None = None,
    ) -> None:
        self._orchestration_id = orchestration_id
        self._operation = operation
        self._state = state
        self._entity_id = entity_id
        self._converter = data_converter or DEFAULT_DATA_CONVERTER

    @property
    def orchestration_id(self) -> str:
        """The instance id of the entity being executed."""
        return self._orchestration_id

    @property
    def operation(self) -> str:
        """The name of the operation being executed."""
        return self._operation

    @property
    def entity_id(self) -> EntityInstanceId:
        """The id of the entity being executed."""
        return self._entity_id

    @property
    def data_converter(self) -> DataConverter:
        """The converter used for inputs (and, through the state holder, the state)."""
        return self._converter

    def get_state(
        self, intended_type: type[TState] | None = None, default: TState | None = None
    ) -> TState | Any:
        """Return the entity's state, or ``default`` when it has none.

        Args:
            intended_type: Convert the state to this type (e.g. a dataclass).
            default: Returned when the entity has no state.

        Raises:
            TypeError: The state cannot be converted to ``intended_type``.
        """
        return self._state.get_state(intended_type, default)

    def set_state(self, new_state: Any) -> None:
        """Replace the entity's state; ``None`` deletes it.

        Args:
            new_state: Any value the data converter can serialise.
        """
        self._state.set_state(new_state)

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
            input: The operation input (serialised with the data converter).
            signal_time: Deliver no earlier than this time (naive values are UTC).

        Raises:
            TypeError: ``entity_instance_id`` is not an ``EntityInstanceId`` or ``input``
                cannot be serialised.
            ValueError: ``operation`` is empty.
        """
        if not isinstance(entity_instance_id, EntityInstanceId):
            raise TypeError(
                "signal_entity needs an EntityInstanceId, got "
                f"{type(entity_instance_id).__name__}; use EntityInstanceId(name, key)"
            )
        _require_name("operation", operation)
        signal = pb.SendSignalAction(instanceId=str(entity_instance_id), name=operation)
        encoded = self._encode("input", input)
        if encoded is not None:
            signal.input.CopyFrom(wrappers_pb2.StringValue(value=encoded))
        if signal_time is not None:
            signal.scheduledTime.CopyFrom(_timestamp(signal_time))
        self._state.add_operation_action(pb.OperationAction(sendSignal=signal))

    def schedule_new_orchestration(
        self, orchestration_name: str, input: Any = None, instance_id: str | None = None
    ) -> str:
        """Start a new orchestration once this operation succeeds.

        Args:
            orchestration_name: The registered name of the orchestrator.
            input: The orchestration input (serialised with the data converter).
            instance_id: The new instance id; a random one (``uuid4().hex``) when it is
                ``None`` or empty, as in the official SDK.

        Returns:
            The instance id the orchestration will have.

        Raises:
            TypeError: ``input`` cannot be serialised.
            ValueError: ``orchestration_name`` is empty or ``instance_id`` not a string.
        """
        _require_name("orchestration_name", orchestration_name)
        if not instance_id:
            instance_id = uuid.uuid4().hex
        _require_name("instance_id", instance_id)
        start = pb.StartNewOrchestrationAction(instanceId=instance_id, name=orchestration_name)
        encoded = self._encode("input", input)
        if encoded is not None:
            start.input.CopyFrom(wrappers_pb2.StringValue(value=encoded))
        self._state.add_operation_action(pb.OperationAction(startNewOrchestration=start))
        return instance_id

    def _encode(self, what: str, value: Any) -> str | None:
        try:
            return self._converter.serialize(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"Entity {self._entity_id}: cannot serialise {what} of type "
                f"{type(value).__name__}: {exc}"
            ) from exc


def _require_name(what: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


def _timestamp(when: datetime) -> timestamp_pb2.Timestamp:
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp
