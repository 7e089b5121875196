"""A pool of spawned child processes that run activities, one activity per child at a time.

Called from the worker's activity threads: :meth:`ProcessPool.run` blocks its thread until
the child answers. A child that dies mid-activity raises :class:`ActivityProcessLost` (the
runner abandons the work item, the sidecar redelivers it) and is replaced by the next
activity; a child past its task or memory limit is stopped and replaced; an activity past
its timeout has its child killed and fails with a ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from durabletask.internal import failures
from durabletask.internal.engine.activity import ActivityOutcome
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.runtime.isolation.child import STARTED, STOP, child_main
from durabletask.internal.runtime.isolation.options import FunctionRef, ProcessIsolationOptions
from durabletask.internal.runtime.isolation.reap import ReapSteps, reap

_logger = logging.getLogger("durabletask.worker")
_SPAWN = multiprocessing.get_context("spawn")
_ACQUIRE_POLL_SECONDS = 0.25
# Bound on a child's start (spawn, imports, resolving the function) before the activity runs.
START_TIMEOUT_SECONDS = 120.0


class ActivityProcessLost(Exception):
    """The child running an activity died, or the pool closed: the work item is abandoned."""


@dataclass(eq=False)
class _Child:
    process: BaseProcess
    conn: Connection
    tasks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ProcessPool:
    """Runs activities in up to ``options.max_processes`` spawned children, started lazily."""

    def __init__(
        self,
        options: ProcessIsolationOptions,
        *,
        data_converter: Any,
        exception_properties_provider: Any = None,
        reap_steps: ReapSteps | None = None,
    ) -> None:
        self._options = options
        self._child_args = (data_converter, exception_properties_provider)
        self._steps = reap_steps or ReapSteps()
        self._cond = threading.Condition()
        self._idle: list[_Child] = []
        self._all: set[_Child] = set()
        self._closed = False
        self._spawning = 0
        # One thread waits on each busy child; activities beyond that queue here, holding
        # no thread (the worker's activity threads stay free for thread activities).
        self._waiters = concurrent.futures.ThreadPoolExecutor(
            max_workers=options.max_processes, thread_name_prefix="durabletask-activity-process")
        self.started = 0
        """Children started so far (replacements included)."""

    def pids(self) -> list[int]:
        """The pids of the children alive now."""
        with self._cond:
            return [c.process.pid for c in self._all if c.process.pid is not None]

    async def run_async(self, ref: FunctionRef, name: str, orchestration_id: str,
                        task_id: int, encoded_input: str | None) -> ActivityOutcome:
        """:meth:`run` from the event loop; cancelling it before a child is taken drops it.

        Raises:
            ActivityProcessLost: As :meth:`run`.
        """
        try:
            future = self._waiters.submit(
                self.run, ref, name, orchestration_id, task_id, encoded_input)
        except RuntimeError as exc:  # the pool is closed
            raise ActivityProcessLost("the worker is stopping") from exc
        return await asyncio.wrap_future(future)

    def run(self, ref: FunctionRef, name: str, orchestration_id: str, task_id: int,
            encoded_input: str | None) -> ActivityOutcome:
        """Run one activity in a child and return its outcome (blocks the calling thread).

        Raises:
            ActivityProcessLost: The child died before answering, or the pool is closed.
        """
        child = self._acquire()
        timeout = self._options.activity_timeout_seconds
        try:
            child.conn.send(("run", ref.module, ref.qualname, name, orchestration_id,
                             task_id, encoded_input))
            if not child.conn.poll(START_TIMEOUT_SECONDS) or child.conn.recv() != STARTED:
                self._discard(child, kill=True)
                return _timed_out(name, START_TIMEOUT_SECONDS, "start")
            if not child.conn.poll(timeout):
                self._discard(child, kill=True)
                return _timed_out(name, timeout)
            result, failure, rss_mb = child.conn.recv()
        except (EOFError, OSError) as exc:
            code = self._discard(child, kill=True)
            raise ActivityProcessLost(
                f"the process running activity '{name}' of {orchestration_id} exited "
                f"({_exit_status(code)}) before finishing it") from exc
        child.tasks += 1
        self._release(child, rss_mb)
        details = None if failure is None else pb.TaskFailureDetails.FromString(failure)
        return ActivityOutcome(result, details)

    def close(self) -> None:
        """Stop every child: idle ones are asked, busy ones get SIGTERM, then SIGKILL.

        Bounded by the reap steps (``ReapSteps.bound``); every child is reaped.
        """
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [c for c in self._all if c not in idle]
            self._all.clear()
            self._cond.notify_all()
        self._waiters.shutdown(wait=False, cancel_futures=True)
        for child in idle:
            _ask_stop(child)
        reap([c.process for c in idle], self._steps, asked=True)
        reap([c.process for c in busy], self._steps, asked=False)
        for child in idle:
            child.conn.close()

    def _acquire(self) -> _Child:
        with self._cond:
            while True:
                if self._closed:
                    raise ActivityProcessLost("the worker is stopping")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._spawning < (self._options.max_processes or 1):
                    break
                self._cond.wait(_ACQUIRE_POLL_SECONDS)
            self._spawning += 1  # the slot is reserved; the (slow) spawn runs unlocked
        try:
            child = self._spawn()
        finally:
            with self._cond:
                self._spawning -= 1
                self._cond.notify_all()
        with self._cond:
            if not self._closed:
                self._all.add(child)
                return child
        self._discard(child, kill=True)
        raise ActivityProcessLost("the worker is stopping")

    def _spawn(self) -> _Child:
        parent_end, child_end = _SPAWN.Pipe(duplex=True)
        process = _SPAWN.Process(
            target=child_main, args=(child_end, os.getpid(), *self._child_args),
            name="durabletask-activity-process", daemon=True,
        )
        try:
            process.start()
        finally:
            child_end.close()  # the parent keeps only its end: EOF means the child is gone
        self.started += 1
        return _Child(process, parent_end)

    def _release(self, child: _Child, rss_mb: float) -> None:
        options = self._options
        worn = (options.max_tasks_per_child is not None
                and child.tasks >= options.max_tasks_per_child)
        bloated = options.max_memory_mb is not None and rss_mb > options.max_memory_mb
        if worn or bloated:
            _ask_stop(child)
            self._discard(child, kill=False)
            return
        with self._cond:
            if not self._closed:
                self._idle.append(child)
                self._cond.notify()
                return
        _ask_stop(child)
        self._discard(child, kill=False)

    def _discard(self, child: _Child, *, kill: bool) -> int | None:
        """Forget ``child`` and reap it (asked to stop unless ``kill``); its exit code."""
        with self._cond:
            self._all.discard(child)
            self._cond.notify_all()
        with child.lock:
            reap([child.process], self._steps, asked=not kill)
            child.conn.close()
        return child.process.exitcode


def _ask_stop(child: _Child) -> None:
    try:
        child.conn.send(STOP)
    except (OSError, ValueError):  # already gone or closed
        pass


def _timed_out(name: str, timeout: float | None, phase: str = "finish") -> ActivityOutcome:
    if phase == "start":
        error = TimeoutError(
            f"The process for activity '{name}' did not start it within {timeout}s "
            "(spawning and importing its module); its process was killed")
    else:
        error = TimeoutError(
            f"Activity '{name}' did not finish within {timeout}s "
            "(ProcessIsolationOptions.activity_timeout_seconds); its process was killed")
    return ActivityOutcome(None, failures.failure_details_from_exception(error))


def _exit_status(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"
