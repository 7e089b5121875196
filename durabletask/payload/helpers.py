"""Externalize and resolve the large strings of a protobuf message, in place.

Every ``google.protobuf.StringValue`` of a message (nested messages, repeated fields and
map values included) whose UTF-8 size is above the store's threshold is uploaded and
replaced by the store's token; resolving replaces every value the store recognises as
its token by the payload it downloads. Plain ``string`` fields are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from google.protobuf import wrappers_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from durabletask.payload.errors import StoredPayloadTooLargeError
from durabletask.payload.store import PayloadStore

__all__ = [
    "deexternalize_payloads",
    "deexternalize_payloads_async",
    "externalize_payloads",
    "externalize_payloads_async",
]

_logger = logging.getLogger("durabletask.payload")

Upload = Callable[[bytes], str]
Download = Callable[[str], bytes]


_SINGULAR, _REPEATED, _MESSAGE_MAP, _SCALAR_MAP = range(4)
# Field kinds by full name: GetOptions() costs more than the rest of a walk step.
_kinds: dict[str, int] = {}


def _kind(descriptor: FieldDescriptor) -> int:
    kind = _kinds.get(descriptor.full_name)
    if kind is None:
        if descriptor.message_type.GetOptions().map_entry:
            value_field = descriptor.message_type.fields_by_name["value"]
            kind = _MESSAGE_MAP if value_field.message_type is not None else _SCALAR_MAP
        else:
            kind = _REPEATED if descriptor.is_repeated else _SINGULAR
        _kinds[descriptor.full_name] = kind
    return kind


def _children(descriptor: FieldDescriptor, value: Any) -> Any:
    kind = _kind(descriptor)
    if kind == _SINGULAR:
        return (value,)
    if kind == _REPEATED:
        return value
    return value.values() if kind == _MESSAGE_MAP else ()


def string_values(message: Message) -> Iterator[wrappers_pb2.StringValue]:
    """Yield every ``StringValue`` set anywhere in ``message``."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        for item in _children(descriptor, value):
            if isinstance(item, wrappers_pb2.StringValue):
                yield item
            else:
                yield from string_values(item)


def upload_candidate(store: PayloadStore, value: str) -> bytes | None:
    """Return ``value`` as bytes when it must be externalized, else None.

    Raises:
        StoredPayloadTooLargeError: It is above ``max_stored_payload_bytes``.
    """
    if not value or store.is_known_token(value):
        return None
    options = store.options
    data = value.encode("utf-8")
    if len(data) <= options.threshold_bytes:
        return None
    if len(data) > options.max_stored_payload_bytes:
        raise StoredPayloadTooLargeError(
            "a payload to externalize", len(data), options.max_stored_payload_bytes
        )
    return data


def oversized(
    message: Message, store: PayloadStore
) -> list[tuple[wrappers_pb2.StringValue, bytes]]:
    """Return the holders of ``message`` to externalize, with their payloads as bytes.

    Raises:
        StoredPayloadTooLargeError: One is above ``max_stored_payload_bytes``.
    """
    found = []
    for holder in string_values(message):
        data = upload_candidate(store, holder.value)
        if data is not None:
            found.append((holder, data))
    return found


def tokens_in(message: Message, store: PayloadStore) -> list[wrappers_pb2.StringValue]:
    """Return the ``StringValue`` holders of ``message`` whose value is a token of ``store``."""
    return [h for h in string_values(message) if h.value and store.is_known_token(h.value)]


def externalize_with(message: Message, store: PayloadStore, upload: Upload) -> None:
    """Externalize ``message`` in place, uploading each payload with ``upload``."""
    for holder, data in oversized(message, store):
        holder.value = upload(data)
        _logger.debug("Externalized a %d-byte payload as %s", len(data), holder.value)


async def externalize_with_async(
    message: Message, store: PayloadStore, upload: Callable[[bytes], Awaitable[str]]
) -> None:
    """Async :func:`externalize_with`."""
    for holder, data in oversized(message, store):
        holder.value = await upload(data)
        _logger.debug("Externalized a %d-byte payload as %s", len(data), holder.value)


def resolve_with(message: Message, store: PayloadStore, download: Callable[[str], str]) -> None:
    """Resolve the tokens of ``message`` in place with ``download`` (token -> text)."""
    for holder in tokens_in(message, store):
        holder.value = download(holder.value)


async def resolve_with_async(
    message: Message, store: PayloadStore, download: Callable[[str], Awaitable[str]]
) -> None:
    """Async :func:`resolve_with`."""
    for holder in tokens_in(message, store):
        holder.value = await download(holder.value)


def externalize_payloads(
    msg: Message, store: PayloadStore, *, instance_id: str | None = None
) -> None:
    """Replace, in place, every ``StringValue`` of ``msg`` above the threshold by a token.

    Args:
        msg: Any protobuf message (a request, a response, a history event).
        store: Where payloads are uploaded.
        instance_id: Passed to ``store.upload``.

    Raises:
        ValueError: A payload exceeds ``max_stored_payload_bytes``
            (``StoredPayloadTooLargeError``); nothing of ``msg`` was changed then.
    """
    externalize_with(msg, store, lambda data: store.upload(data, instance_id=instance_id))


async def externalize_payloads_async(
    msg: Message, store: PayloadStore, *, instance_id: str | None = None
) -> None:
    """Async twin of :func:`externalize_payloads`, using ``store.upload_async``."""
    async def upload(data: bytes) -> str:
        return await store.upload_async(data, instance_id=instance_id)

    await externalize_with_async(msg, store, upload)


def deexternalize_payloads(msg: Message, store: PayloadStore) -> None:
    """Replace, in place, every token found in a ``StringValue`` of ``msg`` by its payload.

    Errors of the store propagate unchanged (the client and worker wrap them in
    ``PayloadStoreError``, naming the store and the token).
    """
    resolve_with(msg, store, lambda token: store.download(token).decode("utf-8"))


async def deexternalize_payloads_async(msg: Message, store: PayloadStore) -> None:
    """Async twin of :func:`deexternalize_payloads`, using ``store.download_async``."""
    async def download(token: str) -> str:
        return (await store.download_async(token)).decode("utf-8")

    await resolve_with_async(msg, store, download)
