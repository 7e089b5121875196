r"""The rules our sidecar applies to ids and names on the wire, shared with the worker.

The sidecar refuses a request that breaks them (``INVALID_ARGUMENT``); the orchestration API
checks the same rules before an action is sent, so an orchestrator that names an activity
``"bad\x01name"`` fails at once with a clear ``ValueError`` instead of sending an answer the
sidecar must refuse. Standard library only: the pure engine and the sidecar both import it.
"""

from __future__ import annotations

__all__ = ["MAX_INSTANCE_ID_LENGTH", "instance_id_problem", "name_problem"]

MAX_INSTANCE_ID_LENGTH = 256
"""Longest instance id the sidecar stores."""


def _has_control(value: str, *, c1: bool) -> bool:
    return any(ord(c) < 32 or (c1 and 0x7F <= ord(c) < 0xA0) for c in value)


def instance_id_problem(value: str, what: str = "instance id") -> str | None:
    """Return why ``value`` is not a valid instance id, or None when it is.

    Args:
        value: The id.
        what: How the message names the value (e.g. ``"sub-orchestration instance id"``).
    """
    if not value:
        return f"{what} is empty; pass a non-empty instance id"
    if len(value) > MAX_INSTANCE_ID_LENGTH:
        return (f"{what} is {len(value)} characters long; instance ids are limited to "
                f"{MAX_INSTANCE_ID_LENGTH} characters")
    if _has_control(value, c1=True):
        return f"{what} {_preview(value)} contains control characters; use printable characters"
    return None


def name_problem(value: str, what: str = "name") -> str | None:
    """Return why ``value`` is not a valid orchestrator, activity or event name, or None.

    Args:
        value: The name.
        what: How the message names the value (e.g. ``"activity name"``).
    """
    if not value or not value.strip():
        return f"{what} is empty; pass a non-empty name"
    if _has_control(value, c1=False):
        return f"{what} {_preview(value)} contains control characters"
    return None


def _preview(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
