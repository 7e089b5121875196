"""The sidecar's datetime -> protobuf Timestamp conversion agrees with protobuf's own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from durabletask.sidecar.clock import from_timestamp, to_timestamp


def _protobufs(value: datetime) -> timestamp_pb2.Timestamp:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    return expected


@pytest.mark.parametrize("value", [
    datetime(2026, 12, 3, 12, 34, 56, 789012, tzinfo=timezone.utc),
    datetime(1970, 1, 1, tzinfo=timezone.utc),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=timezone.utc),  # before the epoch
    datetime(1901, 6, 1, 8, 0, 0, 1, tzinfo=timezone.utc),
    datetime(2030, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),  # offset
    datetime(2001, 2, 3, 4, 5, 6, 7),  # naive: taken as UTC
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
])
def test_to_timestamp_matches_protobufs_from_datetime(value: datetime):
    converted = to_timestamp(value)
    assert converted == _protobufs(value)
    assert 0 <= converted.nanos < 1_000_000_000  # the normalised form, even before 1970
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    assert from_timestamp(converted) == aware
