"""Timestamps in export-job state and inputs: ISO-8601, always UTC."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["from_iso", "to_iso"]


def to_iso(value: datetime | None) -> str | None:
    """Return ``value`` converted to UTC as ISO-8601 text (naive values are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc).isoformat()
    return value.astimezone(timezone.utc).isoformat()


def from_iso(value: str | None) -> datetime | None:
    """Parse ISO-8601 text into an aware datetime (UTC when the text has no offset)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
