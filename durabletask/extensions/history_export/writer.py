"""The destination interface of history export: anything with this ``write`` method.

An export writes one blob per instance through ``HistoryWriter.write``. The protocol is
structural (no base class needed). Writers must be synchronous and safe to share
between the activity threads of a worker. This package ships
:class:`~durabletask.extensions.history_export.local_folder.LocalFolderHistoryWriter`
(files under a folder) and, with the ``azure-blob`` extra,
:class:`~durabletask.extensions.history_export.azure_blob.AzureBlobHistoryExportWriter`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["HistoryWriter"]


@runtime_checkable
class HistoryWriter(Protocol):
    """Writes one exported blob."""

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
        """Store ``payload`` as ``blob_name`` in ``container``, replacing what was there.

        Args:
            instance_id: The orchestration whose history this is (a key or hint).
            container: The job destination's container (writers may pin their own).
            blob_name: The name within the container, with the prefix and extension.
            payload: The serialized history, already compressed if the format says so.
            content_type: ``application/json`` or ``application/x-ndjson``.
            content_encoding: ``"gzip"`` for gzipped JSON lines, else ``None``.
            metadata: Small string pairs to keep with the blob (``{"instance_id": ...}``);
                destinations without metadata may ignore them.

        Raises:
            Exception: Any failure; the export records it for this instance and retries.
        """
        ...
