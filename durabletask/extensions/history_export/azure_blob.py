"""A history writer for Azure Blob Storage (``pip install durabletask[azure-blob]``).

The writer puts every blob in the container of its options (the job's destination
container is not used), with the content type, the gzip content encoding of JSON lines,
and the ``instance_id`` metadata the export passes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

try:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient, ContentSettings
except ImportError as exc:  # the optional extra is not installed
    raise ImportError(
        "The Azure Blob history-export writer needs the 'azure-storage-blob' package; "
        "install it with: pip install durabletask[azure-blob]"
    ) from exc

__all__ = ["AzureBlobHistoryExportWriter", "AzureBlobHistoryExportWriterOptions"]


@dataclass
class AzureBlobHistoryExportWriterOptions:
    """Where and how :class:`AzureBlobHistoryExportWriter` writes.

    Attributes:
        container_name: The container every blob goes to.
        connection_string: A storage connection string (or use ``account_url``).
        account_url: ``https://<account>.blob.core.windows.net``, with ``credential``.
        credential: A credential for ``account_url`` (e.g. ``DefaultAzureCredential()``).
        api_version: A storage API version to use (e.g. for an Azurite emulator).
        create_container_if_not_exists: Create the container on the first write.
        overwrite: Replace an existing blob; with False a blob that exists is an error
            (write-once exports).

    Raises:
        ValueError: No container; both or neither of ``connection_string`` and
            ``account_url``; ``account_url`` without ``credential``.
    """

    container_name: str
    connection_string: str | None = None
    account_url: str | None = None
    credential: Any = field(default=None, repr=False)
    api_version: str | None = None
    create_container_if_not_exists: bool = True
    overwrite: bool = True

    def __post_init__(self) -> None:
        if not self.container_name:
            raise ValueError("container_name is required")
        if self.connection_string and self.account_url:
            raise ValueError("'connection_string' and 'account_url' are mutually exclusive")
        if not self.connection_string and not self.account_url:
            raise ValueError(
                "Either 'connection_string' or 'account_url' (with 'credential') must be "
                "provided")
        if self.account_url and self.credential is None:
            raise ValueError("'credential' is required when 'account_url' is provided")


class AzureBlobHistoryExportWriter:
    """Writes exported histories to one Azure Blob Storage container; safe across threads.

    Args:
        options: The container and how to reach it.
    """

    def __init__(self, options: AzureBlobHistoryExportWriterOptions) -> None:
        self._options = options
        extra: dict[str, Any] = {}
        if options.api_version:
            extra["api_version"] = options.api_version
        if options.connection_string:
            self._service = BlobServiceClient.from_connection_string(
                options.connection_string, **extra)
        else:
            assert options.account_url is not None  # __post_init__ requires one of the two
            self._service = BlobServiceClient(
                account_url=options.account_url, credential=options.credential, **extra)
        self._container = self._service.get_container_client(options.container_name)
        self._container_ready = not options.create_container_if_not_exists
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connections of the underlying service client."""
        self._service.close()

    def __enter__(self) -> AzureBlobHistoryExportWriter:
        """Return the writer; it is closed when the block ends."""
        return self

    def __exit__(self, *args: object) -> None:
        """Close the writer."""
        self.close()

    def write(
        self,
        *,
        instance_id: str,
        container: str,
        blob_name: str,
        payload: bytes,
        content_type: str,
        content_encoding: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Upload ``payload`` as ``blob_name`` in the options' container.

        Raises:
            azure.core.exceptions.AzureError: The upload failed (with ``overwrite=False``,
                ``ResourceExistsError`` when the blob exists).
        """
        self._ensure_container()
        settings = ContentSettings(content_type=content_type)
        if content_encoding:  # an empty encoding header would mislead readers
            settings.content_encoding = content_encoding
        self._container.upload_blob(
            name=blob_name, data=payload, overwrite=self._options.overwrite,
            content_settings=settings, metadata=dict(metadata) if metadata else None)

    def _ensure_container(self) -> None:
        if self._container_ready:
            return
        with self._lock:
            if self._container_ready:
                return
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
            self._container_ready = True
