"""The client's value objects (states, queries, results) and their mapping from responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from google.protobuf import timestamp_pb2

from durabletask.errors import DurableTaskError
from durabletask.internal import failures
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter
from durabletask.task import FailureDetails

__all__ = [
    "CleanEntityStorageResult",
    "EntityQuery",
    "OrchestrationFailedError",
    "OrchestrationQuery",
    "OrchestrationState",
    "OrchestrationStatus",
    "Page",
    "PurgeInstancesResult",
    "new_orchestration_state",
    "new_purge_instances_result",
    "parse_orchestration_state",
    "status_from_proto",
]

TItem = TypeVar("TItem")

_PROTO_STATUS_PREFIX = "ORCHESTRATION_STATUS_"


class OrchestrationStatus(Enum):
    """The runtime status of an orchestration instance (values are the proto numbers)."""

    RUNNING = pb.ORCHESTRATION_STATUS_RUNNING
    COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
    CONTINUED_AS_NEW = pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
    FAILED = pb.ORCHESTRATION_STATUS_FAILED
    TERMINATED = pb.ORCHESTRATION_STATUS_TERMINATED
    PENDING = pb.ORCHESTRATION_STATUS_PENDING
    SUSPENDED = pb.ORCHESTRATION_STATUS_SUSPENDED

    def __str__(self) -> str:
        name: str = pb.OrchestrationStatus.Name(self.value)
        return name[len(_PROTO_STATUS_PREFIX):]


def status_from_proto(value: int) -> OrchestrationStatus:
    """Map a proto ``OrchestrationStatus`` number to the enum.

    ``ORCHESTRATION_STATUS_CANCELED`` has no Python member (as in the official SDK); it
    means the instance was stopped on request, so it reads as ``TERMINATED``.
    """
    if value == pb.ORCHESTRATION_STATUS_CANCELED:
        return OrchestrationStatus.TERMINATED
    return OrchestrationStatus(value)


class OrchestrationFailedError(DurableTaskError):
    """Raised by ``OrchestrationState.raise_if_failed()`` for a FAILED orchestration."""

    __module__ = "durabletask.client"  # where users import it from, as in 1.12.0

    # The official signature takes the details positionally; pickling is not a use case.
    def __init__(self, message: str, failure_details: FailureDetails) -> None:  # noqa: B042
        super().__init__(message)
        self._failure_details = failure_details

    @property
    def failure_details(self) -> FailureDetails:
        """Why the orchestration failed."""
        return self._failure_details


@dataclass
class OrchestrationState:
    """A snapshot of an orchestration instance, as returned by the client's queries.

    Attributes:
        instance_id: The instance id.
        name: The orchestrator name.
        runtime_status: The runtime status.
        created_at: When the instance was created (naive UTC).
        last_updated_at: When the instance last changed (naive UTC).
        serialized_input: The input as serialised on the wire, if fetched and present.
        serialized_output: The output as serialised on the wire, if fetched and present.
        serialized_custom_status: The custom status as serialised, if fetched and present.
        failure_details: Why the orchestration failed, for a FAILED instance.
    """

    instance_id: str
    name: str
    runtime_status: OrchestrationStatus
    created_at: datetime
    last_updated_at: datetime
    serialized_input: str | None
    serialized_output: str | None
    serialized_custom_status: str | None
    failure_details: FailureDetails | None
    _data_converter: DataConverter = field(
        default=DEFAULT_DATA_CONVERTER, repr=False, compare=False
    )

    def get_input(self, expected_type: type | None = None) -> Any:
        """Deserialise the input, rebuilding ``expected_type`` when given."""
        return self._data_converter.deserialize(self.serialized_input, expected_type)

    def get_output(self, expected_type: type | None = None) -> Any:
        """Deserialise the output, rebuilding ``expected_type`` when given."""
        return self._data_converter.deserialize(self.serialized_output, expected_type)

    def get_custom_status(self, expected_type: type | None = None) -> Any:
        """Deserialise the custom status, rebuilding ``expected_type`` when given."""
        return self._data_converter.deserialize(self.serialized_custom_status, expected_type)

    def raise_if_failed(self) -> None:
        """Raise ``OrchestrationFailedError`` if the orchestration failed.

        Raises:
            OrchestrationFailedError: The runtime status is FAILED; carries the details.
        """
        if self.runtime_status != OrchestrationStatus.FAILED:
            return
        details = self.failure_details or FailureDetails(
            message="no failure details were recorded", error_type="", stack_trace=None
        )
        raise OrchestrationFailedError(
            f"Orchestration '{self.instance_id}' failed: {details.message}", details
        )


@dataclass
class OrchestrationQuery:
    """Filters for ``get_all_orchestration_states``; None means "any"."""

    created_time_from: datetime | None = None
    created_time_to: datetime | None = None
    runtime_status: list[OrchestrationStatus] | None = None
    max_instance_count: int | None = 2147483647
    fetch_inputs_and_outputs: bool = False
    instance_id_prefix: str | None = None


@dataclass
class EntityQuery:
    """Filters for ``get_all_entities``; None means "any"."""

    instance_id_starts_with: str | None = None
    last_modified_from: datetime | None = None
    last_modified_to: datetime | None = None
    include_state: bool = True
    include_transient: bool = False
    page_size: int | None = None


@dataclass
class PurgeInstancesResult:
    """What a purge removed.

    Attributes:
        deleted_instance_count: How many instances were deleted.
        is_complete: False when the sidecar stopped early (timeout); None if not reported.
    """

    deleted_instance_count: int
    is_complete: bool | None


@dataclass
class Page(Generic[TItem]):
    """One page of results and the token that fetches the next (None on the last page)."""

    items: list[TItem]
    continuation_token: str | None


@dataclass
class CleanEntityStorageResult:
    """What ``clean_entity_storage`` removed."""

    empty_entities_removed: int
    orphaned_locks_released: int


def optional_string(message: Any, name: str) -> str | None:
    """Return a ``StringValue`` field's text, or None when the field is not set."""
    if not message.HasField(name):
        return None
    text: str = getattr(message, name).value
    return text


def naive_utc(timestamp: timestamp_pb2.Timestamp) -> datetime:
    """Convert a proto ``Timestamp`` to a naive UTC ``datetime``."""
    value: datetime = timestamp.ToDatetime()
    return value


def parse_orchestration_state(
    state: pb.OrchestrationState, data_converter: DataConverter | None = None
) -> OrchestrationState:
    """Build an ``OrchestrationState`` from its wire form.

    Args:
        state: The wire message.
        data_converter: Converter the ``get_*`` methods use; None = the JSON default.

    Returns:
        The state value object.
    """
    failure = None
    if state.HasField("failureDetails"):
        failure = failures.failure_details_from_proto(state.failureDetails)
    return OrchestrationState(
        instance_id=state.instanceId,
        name=state.name,
        runtime_status=status_from_proto(state.orchestrationStatus),
        created_at=naive_utc(state.createdTimestamp),
        last_updated_at=naive_utc(state.lastUpdatedTimestamp),
        serialized_input=optional_string(state, "input"),
        serialized_output=optional_string(state, "output"),
        serialized_custom_status=optional_string(state, "customStatus"),
        failure_details=failure,
        _data_converter=data_converter or DEFAULT_DATA_CONVERTER,
    )


def new_orchestration_state(
    instance_id: str,
    res: pb.GetInstanceResponse,
    data_converter: DataConverter | None = None,
) -> OrchestrationState | None:
    """Map a ``GetInstanceResponse`` to a state, or None when the instance does not exist.

    Args:
        instance_id: The instance that was asked for (kept for API compatibility).
        res: The response.
        data_converter: Converter for the state's ``get_*`` methods.

    Returns:
        The state, or None if ``res.exists`` is false.
    """
    if not res.exists:
        return None
    return parse_orchestration_state(res.orchestrationState, data_converter)


def new_purge_instances_result(response: pb.PurgeInstancesResponse) -> PurgeInstancesResult:
    """Map a ``PurgeInstancesResponse`` to a ``PurgeInstancesResult``."""
    is_complete = response.isComplete.value if response.HasField("isComplete") else None
    return PurgeInstancesResult(response.deletedInstanceCount, is_complete)
