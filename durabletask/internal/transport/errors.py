"""The single place where a ``grpc.RpcError`` becomes an SDK error.

Decision: translated errors are still ``grpc.RpcError`` instances. ``SidecarError`` (in
``durabletask.errors``) subclasses both ``DurableTaskError`` and ``grpc.RpcError`` and
implements ``code()``/``details()`` with the original status, so programs written for the
official SDK (which let raw gRPC errors through) still catch them and still read
``code()``; new code gets a message naming the sidecar address, RPC method, instance id and
status. ``UNAVAILABLE`` becomes ``SidecarUnavailableError``. ``DEADLINE_EXCEEDED`` on a long
poll (``WaitForInstanceStart``/``WaitForInstanceCompletion``) becomes the builtin
``TimeoutError``, as in the official SDK. Every translated error is raised ``from`` the
original one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from durabletask.errors import SidecarError, SidecarUnavailableError

__all__ = ["CallInfo", "rpc_errors_translated", "short_method_name", "translate_rpc_error"]

_logger = logging.getLogger("durabletask.transport")

# The long polls, and what the caller is waiting for in each: their deadline is the caller's
# timeout, so DEADLINE_EXCEEDED there means "not yet", not a broken sidecar.
_LONG_POLL_GOALS = {
    "WaitForInstanceStart": "start",
    "WaitForInstanceCompletion": "complete",
}


def short_method_name(method: str | bytes) -> str:
    """Return the bare RPC name of ``/TaskHubSidecarService/StartInstance`` (or of the name)."""
    if isinstance(method, bytes):
        method = method.decode("utf-8", "replace")
    return method.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What an error message needs to know about the failed call.

    Attributes:
        method: The RPC, as a bare name (``StartInstance``) or a full path.
        address: The sidecar address the channel dials.
        instance_id: The instance the call was about, if any.
        timeout: The deadline the caller gave, in seconds, if any.
    """

    method: str
    address: str
    instance_id: str | None = None
    timeout: float | None = None


def translate_rpc_error(exc: grpc.RpcError, call: CallInfo) -> Exception:
    """Return the SDK error to raise (``from exc``) for a failed gRPC call.

    Args:
        exc: The error gRPC raised; expected to implement ``code()`` and ``details()``.
        call: The method, address, instance id and timeout of the call.

    Returns:
        A ``TimeoutError`` for an expired long poll, a ``SidecarUnavailableError`` for
        ``UNAVAILABLE``, otherwise a ``SidecarError`` carrying the status.
    """
    if isinstance(exc, SidecarError):
        return exc
    code, details = _status_of(exc)
    method = short_method_name(call.method)
    debug = getattr(exc, "debug_error_string", None)
    if callable(debug):
        _logger.debug("%s to %s failed: %s", method, call.address, debug())
    goal = _LONG_POLL_GOALS.get(method)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and goal is not None:
        waited = f" {call.timeout:g} seconds" if call.timeout is not None else " the deadline"
        return TimeoutError(
            f"timed out after{waited} waiting for orchestration {call.instance_id!r} to "
            f"{goal} ({method} at the Durable Task sidecar at {call.address}); "
            "pass a larger timeout to wait longer"
        )
    about = f" for instance {call.instance_id!r}" if call.instance_id else ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return SidecarUnavailableError(
            f"cannot reach the Durable Task sidecar at {call.address} ({method}{about}): "
            f"{details or 'no details'} [UNAVAILABLE]. Is the sidecar running and "
            "listening at that address?",
            code=code, details=details, method=method, address=call.address,
            instance_id=call.instance_id,
        )
    return SidecarError(
        f"the Durable Task sidecar at {call.address} failed {method}{about}: "
        f"{code.name}: {details or 'no details'}",
        code=code, details=details, method=method, address=call.address,
        instance_id=call.instance_id,
    )


def _status_of(exc: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code = code_fn() if callable(code_fn) else None
    details = details_fn() if callable(details_fn) else None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    return code, details if isinstance(details, str) else str(exc)


@contextmanager
def rpc_errors_translated(call: CallInfo) -> Iterator[None]:
    """Translate any ``grpc.RpcError`` raised in the block; works around ``await`` too.

    Args:
        call: The method, address, instance id and timeout of the call in the block.

    Raises:
        TimeoutError: A long poll's deadline passed.
        SidecarUnavailableError: The sidecar could not be reached.
        SidecarError: The sidecar answered with any other error status.
    """
    try:
        yield
    except SidecarError:
        raise
    except grpc.RpcError as exc:
        raise translate_rpc_error(exc, call) from exc
