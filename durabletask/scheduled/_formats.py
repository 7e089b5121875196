"""Value formats of the persisted schedule state, shared with the .NET SDK.

The Durable Task Scheduler dashboard reads a schedule entity's raw state with the .NET
types, so datetimes are ISO-8601 strings and the interval is a .NET ``TimeSpan`` string
(``[-][d.]hh:mm:ss[.fffffff]``). Reads also accept the snake_case shape that earlier
Python workers wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "as_aware",
    "first_present",
    "from_iso",
    "interval_from_state",
    "timespan_text",
    "timespan_value",
    "to_iso",
]

_TICKS_PER_MICROSECOND = 10  # a .NET tick is 100 ns


def as_aware(value: datetime | None) -> datetime | None:
    """Return ``value`` with UTC attached when it is naive; aware values are unchanged."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def to_iso(value: datetime | None) -> str | None:
    """Return ``value`` as ISO-8601 text (``None`` stays ``None``)."""
    return None if value is None else value.isoformat()


def from_iso(value: str | None) -> datetime | None:
    """Parse ISO-8601 text, accepting a trailing ``Z``; empty or ``None`` gives ``None``."""
    if not value:
        return None
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)


def first_present(data: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    """Return the value of the first of ``keys`` that ``data`` has, else ``default``."""
    for key in keys:
        if key in data:
            return data[key]
    return default


def timespan_text(value: timedelta | None) -> str | None:
    """Format ``value`` as a .NET ``TimeSpan`` (``[-][d.]hh:mm:ss[.fffffff]``)."""
    if value is None:
        return None
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    minutes, seconds = divmod(value.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if value.days:
        text = f"{value.days}.{text}"
    if value.microseconds:
        text += f".{value.microseconds * _TICKS_PER_MICROSECOND:07d}"
    return sign + text


def timespan_value(text: str) -> timedelta:
    """Parse a .NET ``TimeSpan`` string written by :func:`timespan_text` (or by .NET).

    Raises:
        ValueError: ``text`` is not of the form ``[-][d.]hh:mm:ss[.fffffff]``.
    """
    body = text.strip()
    negative = body.startswith("-")
    body = body.lstrip("-")
    clock_start = body.find(":")
    if clock_start < 0:
        raise ValueError(f"not a TimeSpan: {text!r}")
    days = 0
    day_separator = body.rfind(".", 0, clock_start)
    if day_separator >= 0:
        days = int(body[:day_separator])
        body = body[day_separator + 1:]
    clock, _, fraction = body.partition(".")
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    ticks = int(fraction.ljust(7, "0")[:7]) if fraction else 0
    result = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds,
                       microseconds=ticks / _TICKS_PER_MICROSECOND)
    return -result if negative else result


def interval_from_state(data: Mapping[str, Any]) -> timedelta:
    """Read a schedule interval: the .NET ``Interval`` text or the legacy seconds.

    Raises:
        KeyError: Neither form is present.
    """
    text = first_present(data, "Interval", "interval")
    if isinstance(text, str):
        return timespan_value(text)
    seconds = data.get("interval_seconds")
    if seconds is None:
        raise KeyError("interval")
    return timedelta(seconds=seconds)
