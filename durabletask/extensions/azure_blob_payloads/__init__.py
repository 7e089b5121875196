"""Large payloads in Azure Blob Storage (or Azurite): ``BlobPayloadStore``.

Needs the ``azure-storage-blob`` package: ``pip install durabletask[azure-blob]`` (the
official extra name ``durabletask[azure-blob-payloads]`` works too). Tokens are
``blob:v1:<container>:<blobName>`` and blobs are gzip-compressed by default, as with the
official Python and .NET SDKs, so each resolves what the other stored. See docs/payloads.md.
"""

try:
    import azure.storage.blob  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "durabletask.extensions.azure_blob_payloads needs the 'azure-storage-blob' package: "
        "pip install 'durabletask[azure-blob]'"
    ) from exc

from durabletask.extensions.azure_blob_payloads.blob_payload_store import BlobPayloadStore
from durabletask.extensions.azure_blob_payloads.options import BlobPayloadStoreOptions

__all__ = ["BlobPayloadStore", "BlobPayloadStoreOptions"]
