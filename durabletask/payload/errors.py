"""Errors of large-payload handling: a failing store, a missing payload, one too large.

::

    DurableTaskError
    ├── PayloadStoreError                  the store failed; names the store and the token
    │   └── PayloadNotFoundError (LookupError)  nothing is stored for the token
    └── PayloadTooLargeError (ValueError)
        └── StoredPayloadTooLargeError     above LargePayloadStorageOptions.max_stored_payload_bytes

The worker tells them apart: a work item whose payload the store could not read or write
is abandoned and redelivered later (``retryable``); one whose payload does not exist, or
is above the maximum, fails with the error as its failure details.
"""

from __future__ import annotations

from typing import Any

from durabletask.errors import DurableTaskError, PayloadTooLargeError

__all__ = ["PayloadNotFoundError", "PayloadStoreError", "StoredPayloadTooLargeError",
           "describe_store"]


def describe_store(store: Any) -> str:
    """Name a store in messages: its ``repr`` when the class defines one, else its type."""
    if type(store).__repr__ is not object.__repr__:
        return repr(store)
    return type(store).__qualname__


class PayloadStoreError(DurableTaskError):
    """A payload store could not store or read a payload.

    Attributes:
        store: The store, as :func:`describe_store` names it.
        token: The token being resolved (None for an upload).
        retryable: True when trying again later may succeed (the store was unreachable,
            timed out, refused); False when it cannot (the payload is missing or corrupt).
    """

    # The message is built from the arguments; __reduce__ keeps pickling and copying exact.
    def __init__(  # noqa: B042
        self, store: str, token: str | None, reason: str, *, retryable: bool = True
    ) -> None:
        what = f"resolve token {token!r}" if token is not None else "store a payload"
        super().__init__(f"Payload store {store} could not {what}: {reason}")
        self.store = store
        self.token = token
        self.reason = reason
        self.retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.store, self.token, self.reason, self.retryable))


class PayloadNotFoundError(PayloadStoreError, LookupError):
    """The store holds no payload for a token (deleted, expired, or another store's)."""

    def __init__(  # noqa: B042
        self, store: str, token: str | None, reason: str, *, retryable: bool = False
    ) -> None:
        super().__init__(store, token, reason, retryable=retryable)


def _rebuild(cls: type[PayloadStoreError], store: str, token: str | None, reason: str,
             retryable: bool) -> PayloadStoreError:
    return cls(store, token, reason, retryable=retryable)


class StoredPayloadTooLargeError(PayloadTooLargeError):
    """A payload is larger than the store's ``max_stored_payload_bytes``.

    A ``ValueError``, as the official SDK raises for it, with the same message start.
    """

    def __init__(self, what: str, size: int, limit: int) -> None:  # noqa: B042
        ValueError.__init__(
            self,
            f"Payload size {size} bytes exceeds the maximum allowed size of {limit} bytes "
            f"({what}). Raise LargePayloadStorageOptions.max_stored_payload_bytes or send "
            "less data.",
        )
        self.what = what
        self.size = size
        self.limit = limit
