"""A history writer that writes each exported blob as a file under a folder (ours).

Files appear whole or not at all: each is written to a hidden temporary file in its
target folder, flushed to disk, then renamed over the final name; on any failure the
temporary file is removed and the error names the file and the cause.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["LocalFolderHistoryWriter"]


class LocalFolderHistoryWriter:
    """Writes blobs as files under a folder, replacing existing files.

    A blob goes to ``root/container/blob_name`` (``root/blob_name`` without
    ``per_container``); folders are created as needed. The content type and encoding
    are not stored (the extension, ``.json`` or ``.jsonl.gz``, says them); neither is
    the metadata (the payload carries the instance id and state). Safe to share between
    threads.

    Args:
        root: The export folder; created on the first write if missing.
        per_container: Put each job destination's container in its own sub-folder.
    """

    def __init__(self, root: str | os.PathLike[str], *, per_container: bool = True) -> None:
        self._root = Path(root)
        self._per_container = per_container

    @property
    def root(self) -> Path:
        """The export folder."""
        return self._root

    def path_of(self, container: str, blob_name: str) -> Path:
        """The file a blob is written to.

        Raises:
            ValueError: The container or blob name would lead outside the export folder.
        """
        relative = Path(container, blob_name) if self._per_container else Path(blob_name)
        if relative.is_absolute() or ".." in relative.parts or not blob_name:
            raise ValueError(
                f"blob {blob_name!r} in container {container!r} would be written outside "
                f"the export folder {str(self._root)!r}")
        return self._root / relative

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
        """Write ``payload`` to :meth:`path_of` atomically (see the module docstring).

        Raises:
            OSError: The file cannot be written; the message names it and the cause, and
                no partial file is left behind.
            ValueError: The name would lead outside the export folder.
        """
        target = self.path_of(container, blob_name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_whole(target, payload)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot write the history export of {instance_id!r} to {str(target)!r}: "
                f"{exc.strerror or exc}",
            ) from exc


def _write_whole(target: Path, payload: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
