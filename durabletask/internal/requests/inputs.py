"""Validate and serialise what a client caller passes, before anything is sent."""

from __future__ import annotations

import math

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2, wrappers_pb2

from durabletask.serialization import DataConverter

__all__ = [
    "MAX_INSTANCE_ID_LENGTH",
    "new_instance_id",
    "orchestrator_name",
    "serialize_argument",
    "string_value",
    "to_duration",
    "to_timestamp",
    "validate_instance_id",
    "validate_name",
]

MAX_INSTANCE_ID_LENGTH = 256
MAX_WAIT_SECONDS = 10 * 365 * 24 * 3600.0
"""Longer waits are cut to ten years: gRPC's deadline arithmetic overflows near year 2262,
and a deadline past it expires at once instead of never."""
"""The longest instance id sidecars accept (Durable Task Scheduler's limit)."""


def new_instance_id() -> str:
    """Return a fresh random instance id (``uuid4().hex``)."""
    return uuid.uuid4().hex


def validate_instance_id(instance_id: Any, *, argument: str = "instance_id") -> str:
    """Check an instance id and return it.

    Args:
        instance_id: The value to check.
        argument: The parameter name used in the error message.

    Returns:
        The instance id.

    Raises:
        ValueError: Not a non-empty string of at most 256 characters without control
            characters.
    """
    if not isinstance(instance_id, str):
        raise ValueError(f"{argument} must be a str, got {type(instance_id).__name__}")
    if not instance_id:
        raise ValueError(f"{argument} must not be empty")
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise ValueError(
            f"{argument} is {len(instance_id)} characters long; the limit is "
            f"{MAX_INSTANCE_ID_LENGTH}"
        )
    bad = next((ch for ch in instance_id if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0), None)
    if bad is not None:
        raise ValueError(
            f"{argument} {instance_id!r} contains the control character {bad!r}; "
            "use printable characters only"
        )
    return instance_id


def wait_timeout(timeout: Any) -> float:
    """Validate a long poll's ``timeout`` in seconds; huge values (and inf) become ten years.

    None means no deadline, as a gRPC call without one (the official client's behaviour).

    Raises:
        ValueError: ``timeout`` is not a number, is NaN, or is not above zero.
    """
    if timeout is None:
        return MAX_WAIT_SECONDS
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if math.isnan(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    return min(float(timeout), MAX_WAIT_SECONDS)


def validate_name(name: Any, *, argument: str) -> str:
    """Check that a name (event, orchestrator) is a non-empty string and return it.

    Raises:
        ValueError: ``name`` is not a non-empty string.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"{argument} must be a non-empty str, got {name!r}")
    return name


def orchestrator_name(orchestrator: Callable[..., Any] | str) -> str:
    """Return the registered name of an orchestrator given as a function or a name.

    Raises:
        ValueError: A lambda or an object without a usable ``__name__``.
    """
    if isinstance(orchestrator, str):
        return validate_name(orchestrator, argument="orchestrator")
    name = getattr(orchestrator, "__name__", None)
    if not isinstance(name, str) or not name or name == "<lambda>":
        raise ValueError(
            f"cannot tell the name of orchestrator {orchestrator!r}: pass a named function "
            "or the orchestrator's registered name as a str"
        )
    return name


def serialize_argument(converter: DataConverter, value: Any, *, argument: str) -> str | None:
    """Serialise a caller's value with the data converter.

    Args:
        converter: The client's data converter.
        value: The value (None stays None).
        argument: The parameter name used in the error message, e.g. ``input``.

    Returns:
        The wire string, or None for None.

    Raises:
        TypeError: The converter cannot serialise the value; names argument and type.
    """
    if value is None:
        return None
    try:
        return converter.serialize(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise TypeError(
            f"cannot serialise {argument} of type {type(value).__qualname__} with "
            f"{type(converter).__name__}: {exc}. Pass JSON-compatible data, a dataclass, "
            "or an object with a to_json() method"
        ) from exc


def string_value(value: str | None) -> wrappers_pb2.StringValue | None:
    """Wrap a string for an optional ``StringValue`` field (None stays unset)."""
    return None if value is None else wrappers_pb2.StringValue(value=value)


def to_timestamp(value: datetime | None, *, argument: str) -> timestamp_pb2.Timestamp | None:
    """Convert a datetime (naive = UTC, aware = converted) to a proto Timestamp.

    Raises:
        TypeError: ``value`` is not a datetime.
    """
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{argument} must be a datetime, got {type(value).__name__}")
    timestamp = timestamp_pb2.Timestamp()
    timestamp.FromDatetime(value)
    return timestamp


def to_duration(value: timedelta) -> duration_pb2.Duration:
    """Convert a timedelta to a proto Duration."""
    duration = duration_pb2.Duration()
    duration.FromTimedelta(value)
    return duration
