"""Externalize and resolve with the store's failures turned into ``PayloadStoreError``.

The public helpers (:mod:`durabletask.payload.helpers`) let a store's own exceptions
through, as the official SDK does. The client and the worker use these twins instead, so
that every failure names the store and the token, and says whether trying again may help:
a missing payload is a ``PayloadNotFoundError``, never a ``JSONDecodeError`` further on.
"""

from __future__ import annotations

import gzip
import zlib

from google.protobuf.message import Message

from durabletask.payload import helpers
from durabletask.payload.errors import (
    PayloadNotFoundError,
    PayloadStoreError,
    describe_store,
)
from durabletask.payload.store import PayloadStore

__all__ = ["offload", "offload_async", "offload_text", "offload_text_async", "resolve",
           "resolve_async", "resolve_text", "resolve_text_async", "store_error"]

# What a store raises when the payload is not there: a dict store, a folder, HTTP 404.
_MISSING = (KeyError, FileNotFoundError)
# What reading a payload that is there but unreadable raises: retrying cannot help.
_CORRUPT = (UnicodeDecodeError, gzip.BadGzipFile, zlib.error, EOFError)


def store_error(store: PayloadStore, token: str | None, exc: BaseException) -> PayloadStoreError:
    """Return the ``PayloadStoreError`` that describes ``exc`` raised by ``store``."""
    if isinstance(exc, PayloadStoreError):
        return exc
    name = describe_store(store)
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if token is None:  # an upload: the store is unreachable or refused, try again later
        return PayloadStoreError(name, token, reason)
    if isinstance(exc, _MISSING) or getattr(exc, "status_code", None) == 404:
        return PayloadNotFoundError(name, token, f"no payload is stored for it ({reason})")
    if isinstance(exc, _CORRUPT):
        return PayloadStoreError(name, token, f"the stored payload is unreadable ({reason})",
                                 retryable=False)
    return PayloadStoreError(name, token, reason)


def _download(store: PayloadStore, token: str) -> str:
    try:
        return store.download(token).decode("utf-8")
    except Exception as exc:
        raise store_error(store, token, exc) from exc


async def _download_async(store: PayloadStore, token: str) -> str:
    try:
        return (await store.download_async(token)).decode("utf-8")
    except Exception as exc:
        raise store_error(store, token, exc) from exc


def _upload(store: PayloadStore, data: bytes, instance_id: str | None) -> str:
    try:
        return store.upload(data, instance_id=instance_id)
    except Exception as exc:
        raise store_error(store, None, exc) from exc


async def _upload_async(store: PayloadStore, data: bytes, instance_id: str | None) -> str:
    try:
        return await store.upload_async(data, instance_id=instance_id)
    except Exception as exc:
        raise store_error(store, None, exc) from exc


def resolve(message: Message, store: PayloadStore) -> None:
    """Resolve every token of ``message`` in place.

    Raises:
        PayloadStoreError: The store failed (``PayloadNotFoundError``: nothing stored).
    """
    helpers.resolve_with(message, store, lambda token: _download(store, token))


async def resolve_async(message: Message, store: PayloadStore) -> None:
    """Async :func:`resolve`."""
    await helpers.resolve_with_async(message, store, lambda token: _download_async(store, token))


def offload(message: Message, store: PayloadStore, instance_id: str | None) -> None:
    """Externalize the large strings of ``message`` in place.

    Raises:
        StoredPayloadTooLargeError: A payload is above the store's maximum (a ``ValueError``).
        PayloadStoreError: The store failed.
    """
    helpers.externalize_with(message, store, lambda data: _upload(store, data, instance_id))


async def offload_async(message: Message, store: PayloadStore, instance_id: str | None) -> None:
    """Async :func:`offload`."""
    await helpers.externalize_with_async(
        message, store, lambda data: _upload_async(store, data, instance_id))


def resolve_text(store: PayloadStore, value: str | None) -> str | None:
    """Return ``value``, or the payload it stands for when it is a token of ``store``."""
    if value and store.is_known_token(value):
        return _download(store, value)
    return value


async def resolve_text_async(store: PayloadStore, value: str | None) -> str | None:
    """Async :func:`resolve_text`."""
    if value and store.is_known_token(value):
        return await _download_async(store, value)
    return value


def offload_text(store: PayloadStore, value: str | None, instance_id: str | None) -> str | None:
    """Return ``value``, or a token for it when it is above the threshold."""
    data = helpers.upload_candidate(store, value) if value else None
    return _upload(store, data, instance_id) if data is not None else value


async def offload_text_async(
    store: PayloadStore, value: str | None, instance_id: str | None
) -> str | None:
    """Async :func:`offload_text`."""
    data = helpers.upload_candidate(store, value) if value else None
    return await _upload_async(store, data, instance_id) if data is not None else value
