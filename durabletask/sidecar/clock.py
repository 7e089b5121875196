"""The sidecar's view of the time seam, and conversions between datetimes and timestamps.

``Clock`` and ``SYSTEM_CLOCK`` are those of ``durabletask.internal.clock`` (standard library
only, shared with the SDK); every part of the sidecar that reads the time or waits takes one.
"""

from __future__ import annotations

from datetime import datetime, timezone

from google.protobuf import timestamp_pb2

from durabletask.internal.clock import SYSTEM_CLOCK, Cancellable, Clock

__all__ = ["SYSTEM_CLOCK", "Cancellable", "Clock", "from_timestamp", "to_timestamp"]


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
