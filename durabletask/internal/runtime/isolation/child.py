"""The body of an activity child process: run activities sent over a pipe until told to stop.

Kept light on imports: a child pays them at every spawn. It never touches gRPC; inputs and
outputs are the serialized strings the worker already has, failures the serialized
``TaskFailureDetails`` that a thread activity would produce.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from durabletask.internal.runtime.activity_loop import LoopActivityExecutor
from durabletask.internal.engine.registry import Registry
from durabletask.internal.runtime.isolation.options import FunctionRef, resolve

# The child exits on its own within this (plus one poll) after its parent dies.
PARENT_POLL_SECONDS = 0.25
# Exit status of a child whose parent died: distinct from a crash or a clean stop.
ORPHAN_EXIT_CODE = 70

STOP = ("stop",)
# Sent once the activity's function is imported, right before it runs: the timeout counts
# from here, so a slow spawn or import on a busy machine is not taken for a slow activity.
STARTED = ("started",)


def child_main(conn: Connection, parent_pid: int, converter: Any, provider: Any) -> None:
    """Serve ``("run", ...)`` requests on ``conn`` until ``("stop",)`` or the pipe closes.

    Args:
        conn: This child's end of the pipe.
        parent_pid: The worker's pid; the child exits when it is no longer its parent.
        converter: The worker's data converter.
        provider: The worker's exception properties provider (or None).
    """
    # Ctrl-C reaches the whole process group: the worker decides what its children do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent_pid)
    registry = Registry()
    executor = LoopActivityExecutor(
        registry, data_converter=converter, exception_properties_provider=provider)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the worker closed the pipe or died
            os._exit(0)
        if message == STOP:
            return
        _, module, qualname, name, orchestration_id, task_id, encoded_input = message
        if registry.get_activity(name) is None:
            registry.add_activity(resolve(FunctionRef(module, qualname)), name)
        conn.send(STARTED)
        outcome = executor.execute(name, orchestration_id, task_id, encoded_input)
        failure = None if outcome.failure is None else outcome.failure.SerializeToString()
        conn.send((outcome.result, failure, _rss_mb()))


def _rss_mb() -> float:
    """Resident memory now, in MiB.

    Not ``ru_maxrss``: after fork+exec Linux reports the forking parent's peak there, so a
    child of a large worker would look over any ceiling from its first activity.
    """
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError):  # no procfs: the peak is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _watch_parent(parent_pid: int) -> None:
    """Exit the child, even mid-activity, once the parent is gone (it is re-parented).

    The same getppid() poll as the sidecar's ``ParentWatchdog``; that module is not
    imported here because importing the sidecar package costs seconds per spawn.
    """
    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(ORPHAN_EXIT_CODE)
            time.sleep(PARENT_POLL_SECONDS)

    if os.getppid() != parent_pid:
        os._exit(ORPHAN_EXIT_CODE)
    threading.Thread(target=watch, name="durabletask-parent-watch", daemon=True).start()
