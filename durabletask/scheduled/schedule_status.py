"""The status of a schedule, and its persisted form (the .NET enum's ordinal)."""

from __future__ import annotations

from enum import Enum

__all__ = ["ScheduleStatus"]


class ScheduleStatus(str, Enum):
    """Where a schedule is in its life: not created, running, or paused."""

    UNINITIALIZED = "Uninitialized"
    """The schedule has not been created (or was deleted)."""

    ACTIVE = "Active"
    """The schedule starts its orchestration at every interval."""

    PAUSED = "Paused"
    """The schedule exists but starts nothing until resumed."""

    def to_dotnet_ordinal(self) -> int:
        """Return the ordinal of the .NET ``ScheduleStatus`` enum (0, 1, 2).

        The persisted state carries the status as this number, which is what the Durable
        Task Scheduler dashboard (System.Text.Json defaults) reads.
        """
        return _ORDINALS.index(self)

    @classmethod
    def from_dotnet(cls, value: int | str | None) -> ScheduleStatus:
        """Read a persisted status: an ordinal, a digit string or a name (any case).

        Anything unrecognised (including booleans and .NET's ``"Unknown"``) reads as
        :attr:`UNINITIALIZED`.
        """
        if isinstance(value, str):
            text = value.strip()
            if not text.isdigit():
                by_name = {status.value.lower(): status for status in cls}
                return by_name.get(text.lower(), cls.UNINITIALIZED)
            value = int(text)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(_ORDINALS):
            return _ORDINALS[value]
        return cls.UNINITIALIZED


_ORDINALS = (ScheduleStatus.UNINITIALIZED, ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)
