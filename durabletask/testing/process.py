"""Out-of-process test backend: the embedded sidecar in a child process that tests can crash."""

from __future__ import annotations

import os

from durabletask.sidecar.options import SidecarOptions
from durabletask.sidecar.child_process import SidecarProcess, SidecarProcessError

__all__ = ["SidecarProcess", "SidecarProcessError", "create_process_backend"]


def create_process_backend(
    port: int = 0,
    max_history_size: int = 10000,
    *,
    db_path: str | os.PathLike[str] | None = None,
    options: SidecarOptions | None = None,
    startup_timeout: float = 15.0,
) -> SidecarProcess:
    """Start the embedded sidecar in a child process, bound to 127.0.0.1.

    Unlike ``create_test_backend`` the sidecar lives in its own process, so a test can
    SIGKILL it (:meth:`SidecarProcess.kill`) and bring it back (:meth:`SidecarProcess.restart`)
    on the same port, with the same database when ``db_path`` is given. The child exits on
    its own if the test process dies.

    Args:
        port: TCP port on 127.0.0.1; 0 picks a free one (kept across restarts).
        max_history_size: Histories longer than this fail their instance; ignored when
            ``options`` is given.
        db_path: SQLite database file; in memory (lost on restart) when None.
        options: All sidecar limits and intervals.
        startup_timeout: Seconds to wait for the child to answer.

    Returns:
        The started sidecar; call ``stop()`` (or use it in a ``with`` block) when done.

    Raises:
        SidecarProcessError: The child did not start; the message includes its stderr.
    """
    sidecar = SidecarProcess(
        "127.0.0.1", port, db_path=db_path,
        options=options or SidecarOptions(max_history_size=max_history_size),
        startup_timeout=startup_timeout,
    )
    sidecar.start()
    return sidecar
