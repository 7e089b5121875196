"""The worker's shutdown policy and the helper that wires it to SIGTERM and SIGINT."""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

_logger = logging.getLogger("durabletask.worker")
_WAIT_SLICE_SECONDS = 0.1


@dataclass(frozen=True)
class ShutdownOptions:
    """How :meth:`TaskHubGrpcWorker.stop` ends running work (docs/shutdown.md).

    Attributes:
        grace_seconds: How long running activities, entity batches and episodes may
            finish; what still runs then is abandoned (the sidecar redelivers it to another
            worker). None: ``GrpcWorkerResiliencyOptions.stop_timeout_seconds``.
        process_terminate_seconds: After the grace period, how long an activity process
            has between SIGTERM and SIGKILL (and an idle one between being asked to exit
            and SIGTERM).
        process_kill_seconds: How long to wait for an activity process after SIGKILL.
    """

    grace_seconds: float | None = None
    process_terminate_seconds: float = 1.0
    process_kill_seconds: float = 1.0

    def __post_init__(self) -> None:
        for name in ("grace_seconds", "process_terminate_seconds", "process_kill_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"ShutdownOptions.{name} must be >= 0, got {value}")


class _Stoppable(Protocol):
    def stop(self, grace: float | None = None) -> None: ...


class ShutdownSignals:
    """SIGTERM or a first SIGINT stops the worker gracefully; a second SIGINT at once.

    Create it with :func:`install_shutdown_signals` from the main thread. The stop runs on a
    background thread, so the handlers return immediately.
    """

    def __init__(self, worker: _Stoppable, grace: float | None) -> None:
        self._worker = worker
        self._grace = grace
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._received = itertools.count()
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Replace the SIGTERM and SIGINT handlers (main thread only)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a signal has stopped the worker; False if ``timeout`` passed first.

        Waits in short slices: Python runs signal handlers on the main thread between them.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped.wait(_WAIT_SLICE_SECONDS):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        # Handlers nest: a second signal can run this handler inside the first one (between
        # any two bytecodes, e.g. while the first is logging). next() on a count is one
        # atomic step, so each signal gets its own number and exactly one starts the stop.
        number = next(self._received)
        if number == 0:
            self._thread = threading.Thread(
                target=self._stop, args=(self._grace,), name="durabletask-shutdown",
                daemon=True)
            self._thread.start()
            _logger.info("Signal %s: stopping the worker gracefully", signal.Signals(signum).name)
        elif signum == signal.SIGINT:
            threading.Thread(target=self._worker.stop, args=(0,), daemon=True).start()
            _logger.warning("Second SIGINT: abandoning running work now")

    def _stop(self, grace: float | None) -> None:
        try:
            self._worker.stop(grace)
        finally:
            self._stopped.set()


def install_shutdown_signals(worker: _Stoppable, *, grace: float | None = None
                             ) -> ShutdownSignals:
    """Stop ``worker`` on SIGTERM or Ctrl-C: gracefully, or at once on a second Ctrl-C.

    Args:
        worker: A started ``TaskHubGrpcWorker``.
        grace: The grace period of the graceful stop (default: the worker's).

    Returns:
        The installed handlers; ``wait()`` blocks until the worker stopped, ``restore()``
        puts the previous handlers back.
    """
    signals = ShutdownSignals(worker, grace)
    signals.install()
    return signals
