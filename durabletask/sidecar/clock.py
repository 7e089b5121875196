"""Wall-clock seam and conversions between datetimes and protobuf timestamps."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol

from google.protobuf import timestamp_pb2


class Clock(Protocol):
    """Returns the current time as a timezone-aware UTC datetime."""

    def __call__(self) -> datetime:
        """Return the current UTC time."""
        ...


def system_clock() -> datetime:
    """Return the current UTC time from the system clock.

    Returns:
        A timezone-aware datetime in UTC.
    """
    return datetime.now(timezone.utc)


def to_timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """Convert a datetime to a protobuf ``Timestamp``.

    Args:
        value: A timezone-aware datetime (naive values are taken as UTC).

    Returns:
        The equivalent protobuf timestamp.
    """
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    return ts


def from_timestamp(value: timestamp_pb2.Timestamp) -> datetime:
    """Convert a protobuf ``Timestamp`` to a timezone-aware UTC datetime.

    Args:
        value: The protobuf timestamp.

    Returns:
        The equivalent datetime in UTC.
    """
    result: datetime = value.ToDatetime(tzinfo=timezone.utc)
    return result
