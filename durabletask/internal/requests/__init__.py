"""Request building and response mapping shared by the sync and async clients (no I/O)."""

from durabletask.internal.requests.calls import (
    DEFAULT_MAX_MESSAGE_BYTES,
    Call,
    ClientSettings,
    Flow,
    max_send_bytes,
)

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "Call", "ClientSettings", "Flow", "max_send_bytes"]
