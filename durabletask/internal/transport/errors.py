"""The single place where a ``grpc.RpcError`` becomes an SDK error.

Decision: translated errors are still ``grpc.RpcError`` instances. ``SidecarError`` (defined
here, re-exported lazily by ``durabletask.errors``) subclasses both ``DurableTaskError`` and
``grpc.RpcError`` and implements ``code()``/``details()`` with the original status, so
programs written for the official SDK (which let raw gRPC errors through) still catch them
and still read ``code()``; new code gets a message naming the sidecar address, RPC method,
instance id and status. ``UNAVAILABLE`` becomes ``SidecarUnavailableError``.
``DEADLINE_EXCEEDED`` on a long poll
(``WaitForInstanceStart``/``WaitForInstanceCompletion``) becomes the builtin
``TimeoutError``, as in the official SDK. Every translated error is raised ``from`` the
original one, and its message says how many attempts were made when the call was retried.

The two error classes live here rather than in ``durabletask.errors`` because they subclass
``grpc.RpcError``: ``durabletask.errors`` is imported by the pure engine, which must not
load ``grpc``; it re-exports them on first access (PEP 562).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from durabletask.errors import DurableTaskError
from durabletask.internal.transport.classify import Outcome, classify_unary
from durabletask.internal.transport.status import status_code, status_details

__all__ = [
    "CallInfo",
    "SidecarError",
    "SidecarUnavailableError",
    "rpc_errors_translated",
    "short_method_name",
    "translate_rpc_error",
]

_logger = logging.getLogger("durabletask.transport")

# The long polls, and what the caller is waiting for in each: their deadline is the caller's
# timeout, so DEADLINE_EXCEEDED there means "not yet", not a broken sidecar.
_LONG_POLL_GOALS = {
    "WaitForInstanceStart": "start",
    "WaitForInstanceCompletion": "complete",
}


class SidecarError(DurableTaskError, grpc.RpcError):
    """A call to the Durable Task sidecar failed with a gRPC status.

    The message names the sidecar address, the RPC method, the instance id (when any) and
    the status code; the original ``grpc.RpcError`` is chained as ``__cause__``. Being a
    ``grpc.RpcError`` itself, it can be caught as one; ``code()`` and ``details()`` return
    the original status and details.

    Attributes:
        method: The RPC method name, e.g. ``StartInstance``.
        address: The sidecar address the call went to.
        instance_id: The orchestration instance the call was about, if any.
        attempts: How many times the call was sent (more than 1 when it was retried).
    """

    # Keyword-only status fields read better at the one raise site; __reduce__ keeps
    # pickling and copying exact.
    def __init__(  # noqa: B042
        self,
        message: str,
        *,
        code: grpc.StatusCode,
        details: str,
        method: str,
        address: str,
        instance_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self._code = code
        self._details = details
        self.method = method
        self.address = address
        self.instance_id = instance_id
        self.attempts = attempts

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (
            _rebuild_sidecar_error,
            (type(self), str(self), self._code, self._details, self.method, self.address,
             self.instance_id, self.attempts),
        )

    def code(self) -> grpc.StatusCode:
        """Return the gRPC status code the sidecar (or the channel) reported."""
        return self._code

    def details(self) -> str:
        """Return the status details text reported with the code."""
        return self._details

    @property
    def transport_failure(self) -> bool:
        """True when the call failed to reach the sidecar rather than being rejected by it.

        That is ``UNAVAILABLE``, or ``DEADLINE_EXCEEDED`` on a call that is not a long poll.
        """
        return classify_unary(self.method, self._code) is Outcome.TRANSPORT


class SidecarUnavailableError(SidecarError):
    """The sidecar could not be reached (status ``UNAVAILABLE``).

    The sidecar is not running, not listening at the address, or the connection broke.
    Unlike most other sidecar errors, retrying later may succeed.
    """


# Present both classes under their public home, where users import them from.
SidecarError.__module__ = "durabletask.errors"
SidecarUnavailableError.__module__ = "durabletask.errors"


def _rebuild_sidecar_error(
    cls: type[SidecarError],
    message: str,
    code: grpc.StatusCode,
    details: str,
    method: str,
    address: str,
    instance_id: str | None,
    attempts: int = 1,
) -> SidecarError:
    return cls(
        message, code=code, details=details, method=method, address=address,
        instance_id=instance_id, attempts=attempts,
    )


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


def translate_rpc_error(
    exc: grpc.RpcError, call: CallInfo, *, attempts: int = 1, deadline_passed: bool = False
) -> Exception:
    """Return the SDK error to raise (``from exc``) for a failed gRPC call.

    Args:
        exc: The error gRPC raised; expected to implement ``code()`` and ``details()``.
        call: The method, address, instance id and timeout of the call.
        attempts: How many times the call was sent; named in the message when > 1.
        deadline_passed: The caller's deadline passed while retrying: a long poll then
            times out like one whose deadline expired on the wire.

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
    if goal is not None and (code == grpc.StatusCode.DEADLINE_EXCEEDED or deadline_passed):
        waited = f" {call.timeout:g} seconds" if call.timeout is not None else " the deadline"
        retried = f", the sidecar being unreachable ({attempts} attempts)" if (
            code != grpc.StatusCode.DEADLINE_EXCEEDED) else ""
        # A sidecar that knows why (ours: no worker is connected) says so before the deadline.
        said = f"; the sidecar says: {details}" if (
            code == grpc.StatusCode.DEADLINE_EXCEEDED and details
            and "deadline exceeded" not in details.lower()) else ""
        return TimeoutError(
            f"timed out after{waited} waiting for orchestration {call.instance_id!r} to "
            f"{goal} ({method} at the Durable Task sidecar at {call.address}{retried}){said}; "
            "pass a larger timeout to wait longer"
        )
    about = f" for instance {call.instance_id!r}" if call.instance_id else ""
    tries = f", {attempts} attempts" if attempts > 1 else ""
    fields: dict[str, Any] = {
        "code": code, "details": details, "method": method, "address": call.address,
        "instance_id": call.instance_id, "attempts": attempts,
    }
    if code == grpc.StatusCode.UNAVAILABLE:
        return SidecarUnavailableError(
            f"cannot reach the Durable Task sidecar at {call.address} ({method}{about}): "
            f"{details or 'no details'} [UNAVAILABLE{tries}]. Is the sidecar running and "
            "listening at that address?",
            **fields,
        )
    return SidecarError(
        f"the Durable Task sidecar at {call.address} failed {method}{about}: "
        f"{code.name}: {details or 'no details'}"
        + (f" (after {attempts} attempts)" if attempts > 1 else ""),
        **fields,
    )


def _status_of(exc: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    details = status_details(exc)
    code = status_code(exc) or grpc.StatusCode.UNKNOWN
    return code, details if details is not None else str(exc)


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
