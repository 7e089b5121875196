"""One writer per database file: an exclusive lock held for as long as a store is open.

Two sidecars on one SQLite file corrupt each other's work (each recovers the other's leases,
both hand out the same sequence numbers). The lock lives in ``<database>.lock`` beside the
file, not on the database itself: SQLite's own POSIX locks on the database must stay free
for readers such as backups. ``flock`` locks belong to the open file, so the kernel drops
them when the holder exits, SIGKILL included: a crashed sidecar never blocks its restart.
"""

from __future__ import annotations

import os

from durabletask.sidecar.store.base import StoreOpenError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; one writer is the operator's job
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"


class DatabaseLock:
    """An exclusive, non-blocking lock on a database file, for one open store."""

    def __init__(self, database_path: str) -> None:
        """Take the lock, or refuse at once.

        Args:
            database_path: The database file the lock protects.

        Raises:
            StoreOpenError: Another process (or another store in this process) holds it;
                the message names the holder's pid when it is known.
        """
        self.path = database_path + LOCK_SUFFIX
        self._fd: int | None = None
        if fcntl is None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            # An unwritable folder: opening the database itself reports it with advice.
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreOpenError(
                database_path,
                f"another durabletask sidecar{holder} is using it; stop that one first, or "
                "give this one its own database file",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock up; safe to call twice. The lock file stays (removing it races)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def refuse_foreign_empty_file(path: str) -> None:
    """Refuse an existing empty file that holds no write-ahead log beside it.

    SQLite takes any empty file as a fresh database, so a typo'd path to a file another
    program created would silently become a store. A file we created and wrote to is never
    empty without its ``-wal`` file (WAL mode keeps new pages there until a checkpoint).

    Raises:
        StoreOpenError: The file is empty and no write-ahead log explains it.
    """
    try:
        if os.path.getsize(path) != 0:
            return
    except OSError:
        return  # missing: SQLite creates it
    try:
        if os.path.getsize(path + "-wal") > 0:
            return
    except OSError:
        pass
    raise StoreOpenError(
        path,
        "it is an empty file, not a durabletask database; delete it and the sidecar "
        "creates a new database there",
    )
