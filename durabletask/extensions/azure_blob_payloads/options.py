"""Options of the Azure Blob payload store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durabletask.payload.store import LargePayloadStorageOptions

__all__ = ["BlobPayloadStoreOptions"]


@dataclass
class BlobPayloadStoreOptions(LargePayloadStorageOptions):
    """Where the blob store keeps payloads, on top of the threshold and compression options.

    Attributes:
        container_name: The blob container of new payloads (created on first upload).
        connection_string: An Azure Storage connection string (``UseDevelopmentStorage=true``
            for a local Azurite on its default ports); or give ``account_url``.
        account_url: The account's blob endpoint, e.g. ``https://<account>.blob.core.windows.net``,
            used with ``credential``.
        credential: Any credential ``azure.storage.blob`` accepts (a ``TokenCredential``
            such as ``DefaultAzureCredential``, an account key, a SAS token).
        api_version: Pin the storage API version (useful with an older Azurite).
        client_kwargs: More keyword arguments for the ``azure.storage.blob`` service
            clients, e.g. ``{"retry_total": 2, "connection_timeout": 5}``: with the azure
            defaults a store that cannot be reached fails a call only after about 80 s
            of retries. An addition of this SDK.
    """

    container_name: str = "durabletask-payloads"
    connection_string: str | None = None
    account_url: str | None = None
    credential: Any = field(default=None, repr=False)
    api_version: str | None = None
    client_kwargs: dict[str, Any] = field(default_factory=dict, repr=False)
