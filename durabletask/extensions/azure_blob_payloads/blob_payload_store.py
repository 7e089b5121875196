"""``BlobPayloadStore``: payloads as blobs of one Azure Storage container."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any, TypeVar

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

from durabletask.extensions.azure_blob_payloads.options import BlobPayloadStoreOptions
from durabletask.payload import blob_layout
from durabletask.payload.store import PayloadStore

__all__ = ["BlobPayloadStore"]

_logger = logging.getLogger("durabletask.payload.blob")

ClientT = TypeVar("ClientT", BlobServiceClient, AsyncBlobServiceClient)


def _new_client(cls: type[ClientT], options: BlobPayloadStoreOptions) -> ClientT:
    kwargs: dict[str, Any] = dict(options.client_kwargs)
    if options.api_version:
        kwargs["api_version"] = options.api_version
    if options.connection_string:
        return cls.from_connection_string(options.connection_string, **kwargs)
    assert options.account_url is not None  # BlobPayloadStore checks one of the two is set
    return cls(account_url=options.account_url, credential=options.credential, **kwargs)


class BlobPayloadStore(PayloadStore):
    """Stores each payload as a blob: ``<container>/<instanceId>/<uuid>``, gzip by default.

    The container is created on the first upload. Tokens are
    ``blob:v1:<container>:<blobName>``; a token naming another container of the same
    account resolves too. The async methods use one ``azure.storage.blob.aio`` client per
    event loop, so one store can serve a worker and an async client on different loops.

    Example::

        store = BlobPayloadStore(BlobPayloadStoreOptions(
            connection_string="UseDevelopmentStorage=true"))
        worker = TaskHubGrpcWorker(host_address=address, payload_store=store)

    Args:
        options: The account, container and thresholds.

    Raises:
        ValueError: Neither ``connection_string`` nor ``account_url`` is given.
    """

    _parse_token = staticmethod(blob_layout.parse_token)
    _make_blob_name = staticmethod(blob_layout.new_blob_name)

    def __init__(self, options: BlobPayloadStoreOptions) -> None:
        if not options.connection_string and not options.account_url:
            raise ValueError(
                "BlobPayloadStoreOptions needs a connection_string, or an account_url "
                "(with a credential)"
            )
        self._options = options
        self._client = _new_client(BlobServiceClient, options)
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncBlobServiceClient] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._container_ready = False

    @property
    def options(self) -> BlobPayloadStoreOptions:
        """The account, container and thresholds of this store."""
        return self._options

    def __repr__(self) -> str:
        endpoint = self._client.url.split("?", 1)[0].rstrip("/")  # never show a SAS token
        return f"BlobPayloadStore({endpoint!r}, container_name={self._options.container_name!r})"

    def _async_client(self) -> AsyncBlobServiceClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                client = _new_client(AsyncBlobServiceClient, self._options)
                self._async_clients[loop] = client
            return client

    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Upload ``data`` as a new blob and return its token."""
        container = self._client.get_container_client(self._options.container_name)
        if not self._container_ready:
            try:
                container.create_container()
            except ResourceExistsError:
                pass
            self._container_ready = True
        blob_name = self._make_blob_name(instance_id)
        container.upload_blob(
            name=blob_name, data=blob_layout.encode(data, self._options), overwrite=True)
        _logger.debug("Uploaded a %d-byte payload to %s", len(data), blob_name)
        return blob_layout.format_token(self._options.container_name, blob_name)

    async def upload_async(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Async :meth:`upload` (compression runs in a worker thread)."""
        container = self._async_client().get_container_client(self._options.container_name)
        if not self._container_ready:
            try:
                await container.create_container()
            except ResourceExistsError:
                pass
            self._container_ready = True
        stored = await asyncio.to_thread(blob_layout.encode, data, self._options)
        blob_name = self._make_blob_name(instance_id)
        await container.upload_blob(name=blob_name, data=stored, overwrite=True)
        _logger.debug("Uploaded a %d-byte payload to %s", len(data), blob_name)
        return blob_layout.format_token(self._options.container_name, blob_name)

    def download(self, token: str) -> bytes:
        """Download the payload of ``token``.

        Raises:
            ValueError: ``token`` is not a blob token.
            azure.core.exceptions.ResourceNotFoundError: No such blob.
        """
        container_name, blob_name = self._parse_token(token)
        container = self._client.get_container_client(container_name)
        return blob_layout.decode(container.download_blob(blob_name).readall())

    async def download_async(self, token: str) -> bytes:
        """Async :meth:`download` (decompression runs in a worker thread)."""
        container_name, blob_name = self._parse_token(token)
        container = self._async_client().get_container_client(container_name)
        stream = await container.download_blob(blob_name)
        stored = await stream.readall()
        return await asyncio.to_thread(blob_layout.decode, stored)

    def is_known_token(self, value: str) -> bool:
        """True when ``value`` has the ``blob:v1:<container>:<blobName>`` form."""
        if not value.startswith(blob_layout.TOKEN_PREFIX):
            return False  # most values are payloads, some large: no exception for them
        try:
            self._parse_token(value)
        except ValueError:
            return False
        return True

    def close(self) -> None:
        """Close the sync client (close async clients with :meth:`close_async`)."""
        self._client.close()

    async def close_async(self) -> None:
        """Close the async client of the running event loop, if it has one."""
        with self._lock:
            client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def __enter__(self) -> BlobPayloadStore:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    async def __aenter__(self) -> BlobPayloadStore:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close_async()
