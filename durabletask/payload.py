"""Large payloads: move big strings of a message to a store and put a token in their place."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf import wrappers_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from durabletask.errors import PayloadTooLargeError

__all__ = [
    "LargePayloadStorageOptions",
    "PayloadStore",
    "deexternalize_payloads",
    "deexternalize_payloads_async",
    "externalize_payloads",
    "externalize_payloads_async",
]


@dataclass
class LargePayloadStorageOptions:
    """When payloads are externalised, and how big a stored payload may be.

    Attributes:
        threshold_bytes: Strings larger than this (UTF-8 bytes) are moved to the store.
        max_stored_payload_bytes: The largest payload the store accepts.
        enable_compression: Whether the store compresses what it stores.
    """

    threshold_bytes: int = 262144
    max_stored_payload_bytes: int = 10485760
    enable_compression: bool = True

    def __post_init__(self) -> None:
        if self.threshold_bytes <= 0:
            raise ValueError(f"threshold_bytes must be > 0, got {self.threshold_bytes}")
        if self.max_stored_payload_bytes < self.threshold_bytes:
            raise ValueError(
                "max_stored_payload_bytes must be >= threshold_bytes, got "
                f"{self.max_stored_payload_bytes} < {self.threshold_bytes}"
            )


class PayloadStore(ABC):
    """Stores large payloads and gives back tokens that stand for them on the wire."""

    @property
    @abstractmethod
    def options(self) -> LargePayloadStorageOptions:
        """The thresholds this store works with."""

    @abstractmethod
    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Store ``data`` and return the token that stands for it."""

    async def upload_async(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Async :meth:`upload`; by default runs the sync one in a worker thread."""
        return await asyncio.to_thread(self.upload, data, instance_id=instance_id)

    @abstractmethod
    def download(self, token: str) -> bytes:
        """Return the payload a token stands for."""

    async def download_async(self, token: str) -> bytes:
        """Async :meth:`download`; by default runs the sync one in a worker thread."""
        return await asyncio.to_thread(self.download, token)

    @abstractmethod
    def is_known_token(self, value: str) -> bool:
        """Return True if ``value`` is a token issued by this store."""


def _children(descriptor: FieldDescriptor, value: Any) -> list[Any]:
    if descriptor.message_type.GetOptions().map_entry:
        value_field = descriptor.message_type.fields_by_name["value"]
        return list(value.values()) if value_field.message_type is not None else []
    return list(value) if descriptor.is_repeated else [value]


def _string_values(message: Message) -> Iterator[wrappers_pb2.StringValue]:
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        for item in _children(descriptor, value):
            if isinstance(item, wrappers_pb2.StringValue):
                yield item
            else:
                yield from _string_values(item)


def _oversized(
    message: Message, store: PayloadStore
) -> Iterator[tuple[wrappers_pb2.StringValue, bytes]]:
    options = store.options
    for holder in _string_values(message):
        data = holder.value.encode("utf-8")
        if len(data) <= options.threshold_bytes or store.is_known_token(holder.value):
            continue
        if len(data) > options.max_stored_payload_bytes:
            raise PayloadTooLargeError(
                "a payload", len(data), options.max_stored_payload_bytes
            )
        yield holder, data


def externalize_payloads(
    msg: Message, store: PayloadStore, *, instance_id: str | None = None
) -> None:
    """Replace, in place, every ``StringValue`` of ``msg`` above the threshold by a token.

    Raises:
        PayloadTooLargeError: A payload exceeds ``max_stored_payload_bytes``.
    """
    for holder, data in list(_oversized(msg, store)):
        holder.value = store.upload(data, instance_id=instance_id)


async def externalize_payloads_async(
    msg: Message, store: PayloadStore, *, instance_id: str | None = None
) -> None:
    """Async twin of :func:`externalize_payloads`."""
    for holder, data in list(_oversized(msg, store)):
        holder.value = await store.upload_async(data, instance_id=instance_id)


def _tokens(msg: Message, store: PayloadStore) -> list[wrappers_pb2.StringValue]:
    return [h for h in _string_values(msg) if store.is_known_token(h.value)]


def deexternalize_payloads(msg: Message, store: PayloadStore) -> None:
    """Replace, in place, every token found in a ``StringValue`` of ``msg`` by its payload."""
    for holder in _tokens(msg, store):
        holder.value = store.download(holder.value).decode("utf-8")


async def deexternalize_payloads_async(msg: Message, store: PayloadStore) -> None:
    """Async twin of :func:`deexternalize_payloads`."""
    for holder in _tokens(msg, store):
        holder.value = (await store.download_async(holder.value)).decode("utf-8")
