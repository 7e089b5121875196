"""Parent-death watchdog: a launched sidecar exits on its own when its parent process dies."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger("durabletask.sidecar.watchdog")

# Well under the 5 s promise, cheap enough (one getppid() call) to be invisible.
DEFAULT_POLL_INTERVAL_SECONDS = 0.25


def is_parent_alive(parent_pid: int) -> bool:
    """Return True while ``parent_pid`` is still this process's parent.

    An orphan is re-parented (to init or a sub-reaper), so ``getppid()`` changing is the
    portable signal that the parent died, even when it was SIGKILLed.

    Args:
        parent_pid: The pid of the parent at start.
    """
    return os.getppid() == parent_pid


class ParentWatchdog:
    """Polls for the death of the parent process and then calls ``on_parent_death`` once.

    ``prctl(PR_SET_PDEATHSIG)`` is deliberately not used: it fires when the parent *thread*
    that forked us exits, which kills a healthy sidecar launched from a short-lived thread.
    """

    def __init__(
        self,
        parent_pid: int,
        on_parent_death: Callable[[], None],
        *,
        poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS,
    ) -> None:
        """Configure the watchdog; nothing runs until :meth:`start`.

        Args:
            parent_pid: The pid to watch; normally the launcher passes its own pid.
            on_parent_death: Called once, from the watchdog thread, when the parent is gone.
            poll_interval_seconds: How often to check.
        """
        if poll_interval_seconds <= 0:
            raise ValueError(
                f"poll_interval_seconds must be > 0, got {poll_interval_seconds}"
            )
        self._parent_pid = parent_pid
        self._on_parent_death = on_parent_death
        self._interval = poll_interval_seconds
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching on a daemon thread; safe to call twice.

        If the parent is already gone, ``on_parent_death`` runs before this returns.
        """
        if self._thread is not None:
            return
        if not is_parent_alive(self._parent_pid):
            self._fire()
            return
        self._thread = threading.Thread(
            target=self._watch, name="durabletask-parent-watchdog", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; idempotent, safe before :meth:`start`."""
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._interval * 4)

    def _watch(self) -> None:
        while not self._stopped.wait(self._interval):
            if not is_parent_alive(self._parent_pid):
                self._fire()
                return

    def _fire(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        logger.warning("parent process %d is gone; the sidecar shuts down", self._parent_pid)
        self._on_parent_death()
