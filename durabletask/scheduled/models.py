"""What users pass to and get from the schedule clients, and the schedule entity's state.

Options (``ScheduleCreationOptions``, ``ScheduleUpdateOptions``) travel to the entity as
plain JSON through their ``to_json``/``from_json`` hooks. The entity's persisted state
(``ScheduleState`` with its ``ScheduleConfiguration``) has the .NET SDK's shape, PascalCase
keys, the status as an ordinal and the interval as a ``TimeSpan`` string, so the Durable
Task Scheduler dashboard can read schedules written by this SDK; reads also accept the
snake_case shape of earlier Python workers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from durabletask.scheduled._formats import (
    as_aware,
    first_present,
    from_iso,
    interval_from_state,
    timespan_text,
    to_iso,
)
from durabletask.scheduled.schedule_status import ScheduleStatus
from durabletask.serialization import DataConverter, JsonDataConverter

__all__ = [
    "MINIMUM_INTERVAL",
    "ScheduleConfiguration",
    "ScheduleCreationOptions",
    "ScheduleDescription",
    "ScheduleQuery",
    "ScheduleState",
    "ScheduleUpdateOptions",
]

MINIMUM_INTERVAL = timedelta(seconds=1)
"""The shortest interval a schedule accepts."""

# The orchestration input is persisted as a JSON *string* (the .NET model's type).
_INPUT_CODEC = JsonDataConverter()


def _checked_interval(interval: timedelta) -> timedelta:
    if interval <= timedelta(0):
        raise ValueError("Interval must be positive.")
    if interval < MINIMUM_INTERVAL:
        raise ValueError("Interval must be at least 1 second.")
    return interval


def _require(name: str, value: str) -> None:
    if not value:
        raise ValueError(f"{name} cannot be empty.")


@dataclass
class ScheduleCreationOptions:
    """A new schedule: start ``orchestration_name`` every ``interval``.

    Attributes:
        schedule_id: The schedule's id (unique per task hub).
        orchestration_name: The registered name of the orchestrator to start.
        interval: Time between runs; at least one second.
        orchestration_input: The input of every started orchestration.
        orchestration_instance_id: A fixed instance id for every run; by default each
            run gets ``"{schedule_id}-{scheduled run time ISO}"``.
        start_at: The first run time (default: the creation time plus one interval).
        end_at: No run after this time; the schedule deletes itself once past it.
        start_immediately_if_late: Run at once when ``start_at`` has already passed.

    Raises:
        ValueError: An empty id or name, or an interval below one second.
    """

    schedule_id: str
    orchestration_name: str
    interval: timedelta
    orchestration_input: Any | None = None
    orchestration_instance_id: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    start_immediately_if_late: bool = False

    def __post_init__(self) -> None:
        _require("schedule_id", self.schedule_id)
        _require("orchestration_name", self.orchestration_name)
        _checked_interval(self.interval)

    def to_json(self) -> dict[str, Any]:
        """Return the options as plain JSON values (the operation's wire form)."""
        return {
            "schedule_id": self.schedule_id,
            "orchestration_name": self.orchestration_name,
            "interval_seconds": self.interval.total_seconds(),
            "orchestration_input": self.orchestration_input,
            "orchestration_instance_id": self.orchestration_instance_id,
            "start_at": to_iso(self.start_at),
            "end_at": to_iso(self.end_at),
            "start_immediately_if_late": self.start_immediately_if_late,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleCreationOptions:
        """Rebuild options from :meth:`to_json` output."""
        return cls(
            schedule_id=data["schedule_id"],
            orchestration_name=data["orchestration_name"],
            interval=timedelta(seconds=data["interval_seconds"]),
            orchestration_input=data.get("orchestration_input"),
            orchestration_instance_id=data.get("orchestration_instance_id"),
            start_at=from_iso(data.get("start_at")),
            end_at=from_iso(data.get("end_at")),
            start_immediately_if_late=bool(data.get("start_immediately_if_late", False)),
        )


@dataclass
class ScheduleUpdateOptions:
    """Changes to a schedule; fields left ``None`` keep their current value.

    Raises:
        ValueError: ``interval`` is given and below one second.
    """

    orchestration_name: str | None = None
    orchestration_input: Any | None = None
    orchestration_instance_id: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    interval: timedelta | None = None
    start_immediately_if_late: bool | None = None

    def __post_init__(self) -> None:
        if self.interval is not None:
            _checked_interval(self.interval)

    def to_json(self) -> dict[str, Any]:
        """Return the options as plain JSON values (the operation's wire form)."""
        return {
            "orchestration_name": self.orchestration_name,
            "orchestration_input": self.orchestration_input,
            "orchestration_instance_id": self.orchestration_instance_id,
            "start_at": to_iso(self.start_at),
            "end_at": to_iso(self.end_at),
            "interval_seconds": None if self.interval is None else self.interval.total_seconds(),
            "start_immediately_if_late": self.start_immediately_if_late,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleUpdateOptions:
        """Rebuild options from :meth:`to_json` output."""
        seconds = data.get("interval_seconds")
        return cls(
            orchestration_name=data.get("orchestration_name"),
            orchestration_input=data.get("orchestration_input"),
            orchestration_instance_id=data.get("orchestration_instance_id"),
            start_at=from_iso(data.get("start_at")),
            end_at=from_iso(data.get("end_at")),
            interval=None if seconds is None else timedelta(seconds=seconds),
            start_immediately_if_late=data.get("start_immediately_if_late"),
        )


@dataclass
class ScheduleQuery:
    """Filters for ``list_schedules``; ``None`` means "any".

    ``created_from`` and ``created_to`` are exclusive bounds; naive values are taken as UTC.
    """

    DEFAULT_PAGE_SIZE = 100

    status: ScheduleStatus | None = None
    schedule_id_prefix: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    page_size: int | None = None

    def __post_init__(self) -> None:
        # Stored times are aware UTC; a naive bound must still compare with them.
        self.created_from = as_aware(self.created_from)
        self.created_to = as_aware(self.created_to)


@dataclass
class ScheduleDescription:
    """A snapshot of a schedule: its configuration, status and run times."""

    schedule_id: str
    orchestration_name: str | None = None
    orchestration_input: Any | None = None
    orchestration_instance_id: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    interval: timedelta | None = None
    start_immediately_if_late: bool | None = None
    status: ScheduleStatus = ScheduleStatus.UNINITIALIZED
    execution_token: str = ""
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None


# Update fields compared and copied one by one; "truthy" ones ignore empty strings.
_UPDATABLE = (
    ("orchestration_name", True),
    ("orchestration_input", False),
    ("orchestration_instance_id", True),
    ("start_at", False),
    ("end_at", False),
    ("interval", False),
    ("start_immediately_if_late", False),
)


class ScheduleConfiguration:
    """A schedule's configuration as the schedule entity keeps it.

    Raises:
        ValueError: An empty id or name, or an interval below one second.
    """

    def __init__(self, schedule_id: str, orchestration_name: str, interval: timedelta) -> None:
        _require("schedule_id", schedule_id)
        _require("orchestration_name", orchestration_name)
        self.schedule_id = schedule_id
        self.orchestration_name = orchestration_name
        self.interval = _checked_interval(interval)
        self.orchestration_input: Any | None = None
        self.orchestration_instance_id: str | None = None
        self.start_at: datetime | None = None
        self.end_at: datetime | None = None
        self.start_immediately_if_late: bool = False

    @staticmethod
    def from_create_options(options: ScheduleCreationOptions) -> ScheduleConfiguration:
        """Build the configuration of a new schedule.

        Raises:
            ValueError: ``start_at`` is later than ``end_at``.
        """
        config = ScheduleConfiguration(
            options.schedule_id, options.orchestration_name, options.interval)
        config.orchestration_input = options.orchestration_input
        config.orchestration_instance_id = options.orchestration_instance_id
        config.start_at = options.start_at
        config.end_at = options.end_at
        config.start_immediately_if_late = options.start_immediately_if_late
        config._check_window()
        return config

    def update(self, options: ScheduleUpdateOptions) -> set[str]:
        """Apply the fields set in ``options``; return the names of those that changed.

        Raises:
            ValueError: The result would start later than it ends, or the interval is
                below one second.
        """
        changed: set[str] = set()
        for name, truthy in _UPDATABLE:
            new = getattr(options, name)
            if (not new if truthy else new is None) or new == getattr(self, name):
                continue
            if name == "interval":
                _checked_interval(new)
            setattr(self, name, new)
            changed.add(name)
        self._check_window()
        return changed

    def _check_window(self) -> None:
        if self.start_at is not None and self.end_at is not None and self.start_at > self.end_at:
            raise ValueError("start_at cannot be later than end_at.")

    def to_json(self) -> dict[str, Any]:
        """Return the persisted (.NET-shaped) form."""
        encoded_input = self.orchestration_input
        if encoded_input is not None:
            encoded_input = _INPUT_CODEC.serialize(encoded_input)
        return {
            "ScheduleId": self.schedule_id,
            "OrchestrationName": self.orchestration_name,
            "Interval": timespan_text(self.interval),
            "OrchestrationInput": encoded_input,
            "OrchestrationInstanceId": self.orchestration_instance_id,
            "StartAt": to_iso(self.start_at),
            "EndAt": to_iso(self.end_at),
            "StartImmediatelyIfLate": self.start_immediately_if_late,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScheduleConfiguration:
        """Rebuild a configuration from its persisted form (.NET or legacy shape)."""
        config = cls(
            first_present(data, "ScheduleId", "schedule_id"),
            first_present(data, "OrchestrationName", "orchestration_name"),
            interval_from_state(data),
        )
        if "OrchestrationInput" in data:
            config.orchestration_input = _decode_input(data["OrchestrationInput"])
        else:  # legacy states kept the input as a parsed value
            config.orchestration_input = data.get("orchestration_input")
        config.orchestration_instance_id = first_present(
            data, "OrchestrationInstanceId", "orchestration_instance_id")
        config.start_at = from_iso(first_present(data, "StartAt", "start_at"))
        config.end_at = from_iso(first_present(data, "EndAt", "end_at"))
        config.start_immediately_if_late = bool(first_present(
            data, "StartImmediatelyIfLate", "start_immediately_if_late", default=False))
        return config


def _decode_input(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return _INPUT_CODEC.deserialize(value)
    except (ValueError, TypeError):
        return value  # not JSON text: keep what was stored rather than lose the schedule


class ScheduleState:
    """The schedule entity's state: status, run bookkeeping and configuration.

    ``execution_token`` identifies the current chain of ``run_schedule`` signals: it
    changes whenever the schedule is re-created, updated or paused, so that signals sent
    before are recognised as stale and ignored.
    """

    def __init__(self) -> None:
        self.status: ScheduleStatus = ScheduleStatus.UNINITIALIZED
        self.execution_token: str = uuid.uuid4().hex
        self.last_run_at: datetime | None = None
        self.next_run_at: datetime | None = None
        self.schedule_created_at: datetime | None = None
        self.schedule_last_modified_at: datetime | None = None
        self.schedule_configuration: ScheduleConfiguration | None = None

    def refresh_execution_token(self) -> None:
        """Start a new signal chain: earlier ``run_schedule`` signals become stale."""
        self.execution_token = uuid.uuid4().hex

    def to_json(self) -> dict[str, Any]:
        """Return the persisted (.NET-shaped) form, the configuration as a plain mapping."""
        config = self.schedule_configuration
        return {
            "Status": self.status.to_dotnet_ordinal(),
            "ExecutionToken": self.execution_token,
            "LastRunAt": to_iso(self.last_run_at),
            "NextRunAt": to_iso(self.next_run_at),
            "ScheduleCreatedAt": to_iso(self.schedule_created_at),
            "ScheduleLastModifiedAt": to_iso(self.schedule_last_modified_at),
            "ScheduleConfiguration": None if config is None else config.to_json(),
        }

    @classmethod
    def from_json(
        cls, data: dict[str, Any], converter: DataConverter | None = None
    ) -> ScheduleState:
        """Rebuild the state from its persisted form (.NET or legacy shape).

        Args:
            data: The persisted mapping.
            converter: The data converter that is decoding the state; it rebuilds the
                nested configuration when it is still a plain mapping.
        """
        state = cls()
        state.status = ScheduleStatus.from_dotnet(first_present(data, "Status", "status"))
        token = first_present(data, "ExecutionToken", "execution_token")
        if token is not None:  # keep the fresh token rather than make every signal stale
            state.execution_token = token
        state.last_run_at = from_iso(first_present(data, "LastRunAt", "last_run_at"))
        state.next_run_at = from_iso(first_present(data, "NextRunAt", "next_run_at"))
        state.schedule_created_at = from_iso(
            first_present(data, "ScheduleCreatedAt", "schedule_created_at"))
        state.schedule_last_modified_at = from_iso(
            first_present(data, "ScheduleLastModifiedAt", "schedule_last_modified_at"))
        state.schedule_configuration = _configuration_of(
            first_present(data, "ScheduleConfiguration", "schedule_configuration"), converter)
        return state

    def to_description(self) -> ScheduleDescription:
        """Return the public snapshot of this state."""
        config = self.schedule_configuration
        if config is None:
            return ScheduleDescription(
                schedule_id="", status=self.status, execution_token=self.execution_token,
                last_run_at=self.last_run_at, next_run_at=self.next_run_at)
        return ScheduleDescription(
            schedule_id=config.schedule_id,
            orchestration_name=config.orchestration_name,
            orchestration_input=config.orchestration_input,
            orchestration_instance_id=config.orchestration_instance_id,
            start_at=config.start_at,
            end_at=config.end_at,
            interval=config.interval,
            start_immediately_if_late=config.start_immediately_if_late,
            status=self.status,
            execution_token=self.execution_token,
            last_run_at=self.last_run_at,
            next_run_at=self.next_run_at,
        )


def _configuration_of(value: Any, converter: DataConverter | None) -> ScheduleConfiguration | None:
    # A converter that rebuilds nested objects itself hands over a configuration already.
    if value is None or isinstance(value, ScheduleConfiguration):
        return value
    if converter is not None:
        rebuilt = converter.coerce(value, ScheduleConfiguration)
        if isinstance(rebuilt, ScheduleConfiguration):
            return rebuilt
    if not isinstance(value, Mapping):
        raise TypeError(f"a schedule configuration must be a mapping, got {type(value).__name__}")
    return ScheduleConfiguration.from_json(dict(value))
