"""Read the status of a failed gRPC call: the one place that knows how it may be missing.

A ``grpc.RpcError`` is only guaranteed to be an exception: the errors of real calls are
also ``grpc.Call`` objects with ``code()`` and ``details()``, but a bare ``RpcError``
(raised by an interceptor, or a test double in user code) has neither, and a call that
never started may raise when asked.
"""

from __future__ import annotations

import grpc

__all__ = ["status_code", "status_details"]


def status_code(error: object) -> grpc.StatusCode | None:
    """Return the status code of a gRPC error or call, or None when it has none."""
    code = getattr(error, "code", None)
    if not callable(code):
        return None
    try:
        value = code()
    except Exception:
        return None
    return value if isinstance(value, grpc.StatusCode) else None


def status_details(error: object) -> str | None:
    """Return the status message of a gRPC error or call, or None when it has none."""
    details = getattr(error, "details", None)
    if not callable(details):
        return None
    try:
        value = details()
    except Exception:
        return None
    return value if isinstance(value, str) else None
