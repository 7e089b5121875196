"""Classify RPC outcomes for the resiliency layer: transport failure, reset or neutral.

Pure functions over a method name and a status code; no I/O. The rules (R-T1 to R-T4):

* ``UNAVAILABLE`` is a transport failure on every method.
* ``DEADLINE_EXCEEDED`` is a transport failure, except on the two long polls, where it is
  the caller's own timeout running out (neutral).
* ``CANCELLED`` and local errors (no status at all) are neutral: they prove nothing about
  the connection, and resetting on them would hide a half-open connection.
* ``OK`` is a success; any other status is a reply from the server, so the round trip worked
  and the consecutive-failure count resets.
"""

from __future__ import annotations

import enum

import grpc

__all__ = [
    "LONG_POLL_METHODS",
    "Outcome",
    "classify_unary",
    "is_long_poll",
    "normalize_method",
]

SERVICE_PREFIX = "/TaskHubSidecarService/"
"""Path prefix of every RPC of the sidecar service (the proto has no package)."""

# An explicit set, not a "WaitFor*" prefix match: a future WaitFor... RPC need not be a long
# poll, and a test fails when the proto gains one, so that this set gets reviewed.
LONG_POLL_METHODS = frozenset(
    {
        SERVICE_PREFIX + "WaitForInstanceStart",
        SERVICE_PREFIX + "WaitForInstanceCompletion",
    }
)
"""Full paths of the RPCs whose deadline is the caller's wait time, not a health signal."""


class Outcome(enum.Enum):
    """What one RPC outcome means for the consecutive-failure counter."""

    SUCCESS = "success"
    """The call succeeded: reset the counter."""
    TRANSPORT = "transport"
    """The connection is suspect: count one failure."""
    RESET = "reset"
    """The server answered with an error status: the round trip worked, reset."""
    NEUTRAL = "neutral"
    """Says nothing about the connection: neither count nor reset."""


def normalize_method(method: str | bytes) -> str:
    """Return ``method`` as a full ``/TaskHubSidecarService/<Name>`` path, as ``str``.

    ``grpc.aio`` interceptors see the method as ``bytes``, sync ones as ``str``; a bare name
    such as ``GetInstance`` is expanded to the full path.

    Args:
        method: A full RPC path or a bare RPC name, as str or bytes.

    Returns:
        The full path as str.
    """
    if isinstance(method, bytes):
        method = method.decode("utf-8", "replace")
    if not method.startswith("/"):
        method = SERVICE_PREFIX + method
    return method


def is_long_poll(method: str | bytes) -> bool:
    """Return True for ``WaitForInstanceStart`` and ``WaitForInstanceCompletion``.

    Args:
        method: A full RPC path or a bare RPC name, as str or bytes.
    """
    return normalize_method(method) in LONG_POLL_METHODS


def classify_unary(method: str | bytes, code: grpc.StatusCode | None) -> Outcome:
    """Classify the end of one unary call.

    Args:
        method: The RPC, as a full path or bare name, str or bytes.
        code: Its final status, or None when it failed locally without a status
            (closed channel, serialization error).

    Returns:
        The outcome for the consecutive-failure counter.
    """
    if code is None or code == grpc.StatusCode.CANCELLED:
        return Outcome.NEUTRAL
    if code == grpc.StatusCode.OK:
        return Outcome.SUCCESS
    if code == grpc.StatusCode.UNAVAILABLE:
        return Outcome.TRANSPORT
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Outcome.NEUTRAL if is_long_poll(method) else Outcome.TRANSPORT
    return Outcome.RESET
