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
    value = _ask(error, "code")
    return value if isinstance(value, grpc.StatusCode) else None


def status_details(error: object) -> str | None:
    """Return the status message of a gRPC error or call, or None when it has none."""
    value = _ask(error, "details")
    return value if isinstance(value, str) else None


def _ask(error: object, accessor: str) -> object:
    method = getattr(error, accessor, None)
    if not callable(method):
        return None
    try:
        return method()
    except Exception:
        return None
