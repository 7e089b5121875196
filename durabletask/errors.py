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

The two sidecar errors are defined next to the gRPC translation point
(``internal/transport/errors.py``) and loaded from here on first use (PEP 562), so importing
this module, and with it ``durabletask.task`` and the replay engine, never imports ``grpc``.

The legacy names of the official SDK keep working; they simply gained a common base.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durabletask.internal.transport.errors import SidecarError, SidecarUnavailableError

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


# Defined with the gRPC translation point; loaded on first access so that importing this
# module (and the pure engine, which imports it) does not import grpc.
_LAZY_GRPC_ERRORS = frozenset({"SidecarError", "SidecarUnavailableError"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_GRPC_ERRORS:
        from durabletask.internal.transport import errors as _transport_errors

        return getattr(_transport_errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_GRPC_ERRORS)
