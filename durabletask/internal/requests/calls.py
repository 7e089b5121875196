"""One RPC as data: what to call, with which request, and how its errors are described."""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from google.protobuf.message import Message

from durabletask.errors import PayloadTooLargeError
from durabletask.grpc_options import GrpcChannelOptions
from durabletask.internal.observability.noop import NOOP_TRACING
from durabletask.internal.transport.errors import CallInfo
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "Call", "ClientSettings", "Flow", "max_send_bytes"]

T = TypeVar("T")

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""gRPC's default receive limit, which is what sidecars accept unless configured."""


@dataclass(frozen=True, slots=True)
class Call:
    """One RPC a client operation needs.

    Attributes:
        method: The RPC name on ``TaskHubSidecarService``, e.g. ``StartInstance``.
        request: The request message.
        instance_id: The instance the call is about, for error messages.
        timeout: An explicit deadline in seconds (the long polls); None = the default.
        streaming: True for a server-streaming RPC; its response is the list of messages.
    """

    method: str
    request: Message
    instance_id: str | None = None
    timeout: float | None = None
    streaming: bool = False


Flow: TypeAlias = Generator[Call, Any, T]
"""A client operation: yields the calls it needs, is sent each response, returns the result.

The sync and async clients drive the same flows, so the mapping is written once.
"""


def max_send_bytes(options: GrpcChannelOptions | None) -> int | None:
    """Return the request size limit in bytes for these options (None = no limit)."""
    limit = options.max_send_message_length if options is not None else None
    if limit is None:
        return DEFAULT_MAX_MESSAGE_BYTES
    return None if limit < 0 else limit


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """What the shared mapping needs to know about a client.

    Attributes:
        address: The sidecar address, for error messages.
        data_converter: Serialises inputs, event data and outputs.
        default_version: The version given to new orchestrations that name none.
        max_send_bytes: The largest request allowed, or None for no limit.
        default_call_timeout: The deadline of calls that set none, or None.
        logger: Where flows log (the client's logger).
        tracing: The observability tracing facade (spans and trace context to send).
    """

    address: str
    data_converter: DataConverter = DEFAULT_DATA_CONVERTER
    default_version: str | None = None
    max_send_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES
    default_call_timeout: float | None = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("durabletask.client"))
    tracing: Any = NOOP_TRACING

    def call_info(self, call: Call) -> CallInfo:
        """Describe ``call`` for error translation."""
        return CallInfo(call.method, self.address, call.instance_id, call.timeout)

    def deadline(self, call: Call) -> float | None:
        """Return the gRPC timeout for ``call``: its own, else the default.

        Streaming calls (``StreamInstanceHistory``) get the default too, for the whole
        stream: on a half-open connection a stream without a deadline never ends.
        """
        if call.timeout is not None:
            return call.timeout
        return self.default_call_timeout

    def check_size(self, call: Call) -> None:
        """Refuse a request larger than the message limit, before it is sent.

        Raises:
            PayloadTooLargeError: The serialised request exceeds ``max_send_bytes``.
        """
        if self.max_send_bytes is None:
            return
        size = call.request.ByteSize()
        if size > self.max_send_bytes:
            about = f" for instance {call.instance_id!r}" if call.instance_id else ""
            raise PayloadTooLargeError(
                f"the {call.method} request{about}", size, self.max_send_bytes
            )
