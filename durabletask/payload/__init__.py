"""Large payloads: move big strings of a message to a store and put a token in their place.

The package has the official 1.12.0 layout (``durabletask.payload.store``,
``durabletask.payload.helpers``) plus stores of its own: ``FilePayloadStore`` (a folder,
for the embedded sidecar and single machines) and ``InMemoryPayloadStore`` (tests). The
Azure Blob store is ``durabletask.extensions.azure_blob_payloads.BlobPayloadStore``.
See docs/payloads.md.
"""

from durabletask.payload.errors import (
    PayloadNotFoundError,
    PayloadStoreError,
    StoredPayloadTooLargeError,
)
from durabletask.payload.helpers import (
    deexternalize_payloads,
    deexternalize_payloads_async,
    externalize_payloads,
    externalize_payloads_async,
)
from durabletask.payload.local import FilePayloadStore, InMemoryPayloadStore
from durabletask.payload.store import LargePayloadStorageOptions, PayloadStore

__all__ = [
    "FilePayloadStore",
    "InMemoryPayloadStore",
    "LargePayloadStorageOptions",
    "PayloadNotFoundError",
    "PayloadStore",
    "PayloadStoreError",
    "StoredPayloadTooLargeError",
    "deexternalize_payloads",
    "deexternalize_payloads_async",
    "externalize_payloads",
    "externalize_payloads_async",
]
