"""The blob token format and storage layout, shared by every store of this package.

A token is ``blob:v1:<container>:<blobName>``, the format of the official Python and .NET
SDKs; ``blobName`` is ``<instanceId>/<32 hex digits>`` (or only the hex digits when the
payload belongs to no instance), and the stored bytes are gzip-compressed when
``enable_compression`` is set. The local stores use the same layout (a container is a
folder, or a key of a dict), so a token of one store resolves with any other that reads
the same data, and a store named in an error is the one that was asked.
"""

from __future__ import annotations

import asyncio
import gzip
import uuid
from abc import abstractmethod

from durabletask.payload.store import LargePayloadStorageOptions, PayloadStore

__all__ = ["TOKEN_PREFIX", "BlobLayoutStore", "format_token", "looks_like_token", "new_blob_name",
           "parse_token"]

TOKEN_PREFIX = "blob:v1:"
_GZIP_MAGIC = b"\x1f\x8b"


def parse_token(token: str) -> tuple[str, str]:
    """Split ``blob:v1:<container>:<blobName>`` into ``(container, blobName)``.

    Raises:
        ValueError: ``Invalid blob payload token: ...`` when it has not that form.
    """
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError(f"Invalid blob payload token: {_shown(token)}")
    container, sep, blob_name = token[len(TOKEN_PREFIX):].partition(":")
    if not sep or not container or not blob_name:
        raise ValueError(f"Invalid blob payload token: {_shown(token)}")
    return container, blob_name


def _shown(value: str) -> str:
    # Payloads of any size are checked: never put a whole one in a message.
    return repr(value) if len(value) <= 200 else f"{value[:200]!r}... ({len(value)} chars)"


def looks_like_token(value: str) -> bool:
    """True when ``value`` has the ``blob:v1:<container>:<blobName>`` form (no exception)."""
    if not value.startswith(TOKEN_PREFIX):
        return False
    container, sep, blob_name = value[len(TOKEN_PREFIX):].partition(":")
    return bool(sep and container and blob_name)


def format_token(container: str, blob_name: str) -> str:
    """Return the token of a blob."""
    return f"{TOKEN_PREFIX}{container}:{blob_name}"


def new_blob_name(instance_id: str | None) -> str:
    """Return a fresh blob name, under a folder named after the instance when there is one."""
    unique = uuid.uuid4().hex
    return f"{instance_id}/{unique}" if instance_id else unique


def encode(data: bytes, options: LargePayloadStorageOptions) -> bytes:
    """Return the bytes to store for a payload (gzip when compression is enabled)."""
    return gzip.compress(data) if options.enable_compression else data


def decode(stored: bytes) -> bytes:
    """Return the payload of stored bytes, decompressing gzip whatever the options say.

    Payloads are UTF-8 text, which never starts with the gzip magic bytes, so this also
    reads what a store with the other compression setting wrote.
    """
    return gzip.decompress(stored) if stored[:2] == _GZIP_MAGIC else stored


class BlobLayoutStore(PayloadStore):
    """A store holding each payload as one object named by container and blob name.

    Subclasses implement :meth:`_write` and :meth:`_read`; the async methods run them in
    a worker thread.
    """

    def __init__(self, options: LargePayloadStorageOptions | None, container_name: str) -> None:
        if not container_name or ":" in container_name:
            raise ValueError(f"invalid container name {container_name!r}")
        self._options = options if options is not None else LargePayloadStorageOptions()
        self._container = container_name

    @property
    def options(self) -> LargePayloadStorageOptions:
        """The thresholds this store works with."""
        return self._options

    @property
    def container_name(self) -> str:
        """The container new payloads are written to."""
        return self._container

    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Store ``data`` as a new blob and return its token."""
        blob_name = new_blob_name(instance_id)
        self._write(self._container, blob_name, encode(data, self._options))
        return format_token(self._container, blob_name)

    async def upload_async(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Async :meth:`upload`, in a worker thread."""
        return await asyncio.to_thread(self.upload, data, instance_id=instance_id)

    def download(self, token: str) -> bytes:
        """Return the payload of ``token`` (in any container of this store).

        Raises:
            ValueError: ``token`` is not a blob token.
            KeyError: Nothing is stored under it (``FileNotFoundError`` for folders).
        """
        container, blob_name = parse_token(token)
        return decode(self._read(container, blob_name))

    async def download_async(self, token: str) -> bytes:
        """Async :meth:`download`, in a worker thread."""
        return await asyncio.to_thread(self.download, token)

    def is_known_token(self, value: str) -> bool:
        """True when ``value`` has the ``blob:v1:<container>:<blobName>`` form."""
        return looks_like_token(value)

    @abstractmethod
    def _write(self, container: str, blob_name: str, data: bytes) -> None:
        """Store ``data`` under ``container``/``blob_name`` (a fresh name)."""

    @abstractmethod
    def _read(self, container: str, blob_name: str) -> bytes:
        """Return what is stored under ``container``/``blob_name``."""
