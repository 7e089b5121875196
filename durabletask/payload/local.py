"""Payload stores of this package that need no service: a folder, and process memory.

``FilePayloadStore`` is the one to use with the embedded sidecar: payloads survive
restarts, and every process on the machine that is given the same folder (clients and
workers alike) resolves the same tokens. ``InMemoryPayloadStore`` is for tests that run
the client and the worker in one process.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote

from durabletask.payload.blob_layout import BlobLayoutStore
from durabletask.payload.store import LargePayloadStorageOptions

__all__ = ["DEFAULT_CONTAINER_NAME", "FilePayloadStore", "InMemoryPayloadStore"]

DEFAULT_CONTAINER_NAME = "durabletask-payloads"
"""The container (folder) new payloads go to, the official blob store's default."""

_MAX_SEGMENT_CHARS = 200


def _segment_is_safe(segment: str) -> bool:
    return segment not in ("", ".", "..") and not any(c in segment for c in "\\\x00")


def _folder_for(instance_id: str) -> str:
    """A single path segment standing for an instance id (which may hold any character)."""
    segment = quote(instance_id, safe="@-_+=,~").replace(".", "%2E")
    if len(segment) > _MAX_SEGMENT_CHARS:
        digest = hashlib.sha256(instance_id.encode()).hexdigest()[:16]
        segment = f"{segment[:_MAX_SEGMENT_CHARS - 17]}~{digest}"
    return segment


class FilePayloadStore(BlobLayoutStore):
    """Stores payloads as files: ``<directory>/<container>/<instanceId>/<uuid>``.

    Files are written atomically (a temp file renamed into place), so a reader never
    sees half a payload and a crash leaves none behind. Tokens have the blob format
    (``blob:v1:<container>:<blobName>``); a token naming a path outside the directory
    is refused as not found.

    Example::

        store = FilePayloadStore("payloads")
        worker = TaskHubGrpcWorker(host_address=address, payload_store=store)
        client = TaskHubGrpcClient(host_address=address, payload_store=store)

    Args:
        directory: The root folder; created on the first upload.
        options: Threshold, maximum and compression (the defaults of
            ``LargePayloadStorageOptions`` when omitted).
        container_name: The subfolder new payloads are written to.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        options: LargePayloadStorageOptions | None = None,
        *,
        container_name: str = DEFAULT_CONTAINER_NAME,
    ) -> None:
        if not _segment_is_safe(container_name) or "/" in container_name:
            raise ValueError(f"invalid container name {container_name!r}")
        super().__init__(options, container_name)
        self._root = Path(directory).absolute()

    @property
    def directory(self) -> Path:
        """The root folder."""
        return self._root

    def __repr__(self) -> str:
        return f"FilePayloadStore({str(self._root)!r}, container_name={self._container!r})"

    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Store ``data`` in a new file and return its token."""
        return super().upload(data, instance_id=_folder_for(instance_id) if instance_id else None)

    def _path(self, container: str, blob_name: str) -> Path:
        segments = [container, *blob_name.split("/")]
        if "/" in container or not all(_segment_is_safe(s) for s in segments):
            raise FileNotFoundError(
                f"no payload at {container}:{blob_name} (not a path inside {self._root})")
        return self._root.joinpath(*segments)

    def _write(self, container: str, blob_name: str, data: bytes) -> None:
        path = self._path(container, blob_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _read(self, container: str, blob_name: str) -> bytes:
        return self._path(container, blob_name).read_bytes()


class InMemoryPayloadStore(BlobLayoutStore):
    """Keeps payloads in a dict of this process; for tests (nothing survives the process).

    Give the same instance to the client and the worker. ``len(store)`` is the number of
    payloads stored.
    """

    def __init__(
        self,
        options: LargePayloadStorageOptions | None = None,
        *,
        container_name: str = DEFAULT_CONTAINER_NAME,
    ) -> None:
        super().__init__(options, container_name)
        self._blobs: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemoryPayloadStore(container_name={self._container!r}, payloads={len(self)})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._blobs)

    def _write(self, container: str, blob_name: str, data: bytes) -> None:
        with self._lock:
            self._blobs[(container, blob_name)] = data

    def _read(self, container: str, blob_name: str) -> bytes:
        with self._lock:
            try:
                return self._blobs[(container, blob_name)]
            except KeyError:
                raise KeyError(f"no payload stored under {container}:{blob_name}") from None
