"""The SDK's exception hierarchy.

::

    Exception
    └── DurableTaskError                      base of every error this SDK raises
        ├── task.TaskFailedError              a task (activity, sub-orchestration) failed
        ├── task.NonDeterminismError          replay did not match the history
        ├── task.OrchestrationStateError      the engine met an impossible history
        ├── task.TaskCancelledError           a cancelled task's result was read
        ├── client.OrchestrationFailedError   ``raise_if_failed`` on a failed orchestration
        ├── PayloadTooLargeError (ValueError) a payload exceeds the gRPC message limit
        ├── ClientClosedError (RuntimeError)  a client was used after ``close()``
        └── SidecarError (grpc.RpcError)      a call to the sidecar failed (see
            └── SidecarUnavailableError       internal/transport/errors.py)

``SidecarError`` is also a ``grpc.RpcError`` with ``code()`` and ``details()`` returning the
sidecar's status, so code written for the official SDK that catches ``grpc.RpcError`` and
inspects ``code()`` keeps working. The long polls' ``DEADLINE_EXCEEDED`` becomes the builtin
``TimeoutError`` instead, as in the official SDK.

The legacy names of the official SDK keep working; they simply gained a common base.
"""

from __future__ import annotations

from typing import Any

import grpc

__all__ = [
    "ClientClosedError",
    "DurableTaskError",
    "PayloadTooLargeError",
    "SidecarError",
    "SidecarUnavailableError",
]


class DurableTaskError(Exception):
    """Base class of every exception raised by the durabletask SDK."""


class PayloadTooLargeError(DurableTaskError, ValueError):
    """A payload (input, output, event data) is larger than the gRPC message limit.

    Raised before anything is sent, so nothing stalls or retries. Raise the limit with
    ``GrpcChannelOptions(max_send_message_length=..., max_receive_message_length=...)`` on
    the client and worker, and the sidecar's ``--max-message-bytes``.
    """

    # The message is built from the arguments; __reduce__ keeps pickling and copying exact.
    def __init__(self, what: str, size: int, limit: int) -> None:  # noqa: B042
        super().__init__(
            f"{what} is {size} bytes, larger than the gRPC message limit of {limit} bytes. "
            "Send less data, or raise the limit on both sides: GrpcChannelOptions("
            "max_send_message_length=..., max_receive_message_length=...) on the client and "
            "worker, and the sidecar's max message size."
        )
        self.what = what
        self.size = size
        self.limit = limit

    def __reduce__(self) -> tuple[type[PayloadTooLargeError], tuple[str, int, int]]:
        return (type(self), (self.what, self.size, self.limit))


class ClientClosedError(DurableTaskError, RuntimeError):
    """A client method was called after the client was closed.

    Create a new client, or keep this one open (``with`` / ``async with``) while using it.
    """


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
    ) -> None:
        super().__init__(message)
        self._code = code
        self._details = details
        self.method = method
        self.address = address
        self.instance_id = instance_id

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (
            _rebuild_sidecar_error,
            (type(self), str(self), self._code, self._details, self.method, self.address,
             self.instance_id),
        )

    def code(self) -> grpc.StatusCode:
        """Return the gRPC status code the sidecar (or the channel) reported."""
        return self._code

    def details(self) -> str:
        """Return the status details text reported with the code."""
        return self._details

    @property
    def transport_failure(self) -> bool:
        """True when the call failed to reach the sidecar rather than being rejected by it."""
        return self._code == grpc.StatusCode.UNAVAILABLE


class SidecarUnavailableError(SidecarError):
    """The sidecar could not be reached (status ``UNAVAILABLE``).

    The sidecar is not running, not listening at the address, or the connection broke.
    Unlike most other sidecar errors, retrying later may succeed.
    """


def _rebuild_sidecar_error(
    cls: type[SidecarError],
    message: str,
    code: grpc.StatusCode,
    details: str,
    method: str,
    address: str,
    instance_id: str | None,
) -> SidecarError:
    return cls(
        message, code=code, details=details, method=method, address=address,
        instance_id=instance_id,
    )
