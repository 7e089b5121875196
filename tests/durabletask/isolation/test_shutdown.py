"""Stopping a worker with process-isolated activities: bounded, redelivered, nothing left.

Real processes throughout: the children are spawned by the worker under test, and the
tests that kill or signal a worker run it in its own process (``worker_main``).
"""

from __future__ import annotations

import ctypes
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from durabletask import client
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.isolation import acts
from tests.durabletask.isolation.procs import gone, pids_in, schedule_call, start_with

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
_PR_SET_CHILD_SUBREAPER = 36
# The documented bound of stop(): grace + abandon_timeout_seconds (5) + 2 s teardown
# + 3 s process reap; the slack absorbs a loaded 2-core CI machine.
_STOP_BOUND_SLACK = 20.0


def test_stop_with_grace_abandons_a_long_activity_which_another_worker_completes(
        make_worker, dt_client, tmp_path: Path):
    first = start_with(make_worker, acts.record_pid_then_sleep)
    instance = schedule_call(dt_client, "record_pid_then_sleep", str(tmp_path))
    (busy,) = poll_until(lambda: pids_in(tmp_path), timeout=30, message="the activity started")

    stopper = threading.Thread(target=first.stop, kwargs={"grace": 1})
    stopper.start()
    stopper.join(timeout=1 + 5 + 2 + 3 + _STOP_BOUND_SLACK)
    assert not stopper.is_alive()
    assert gone(busy)  # killed and reaped by stop(), not left as a zombie

    start_with(make_worker, acts.record_pid_then_sleep)
    state = dt_client.wait_for_orchestration_completion(instance, timeout=60)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert json.loads(state.serialized_output) not in (busy, os.getpid())


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


@pytest.fixture
def _subreaper() -> Iterator[None]:
    """Orphans of this test become children of the test process, so it can reap them.

    This machine's init does not reap orphans; a real init (or container runtime) does.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


class _WorkerProcess:
    """``worker_main`` in its own process; its stdout lines read with a deadline."""

    def __init__(self, address: str, grace: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.durabletask.isolation.worker_main", address,
             str(grace)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_line("ready")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put("<eof>")

    def wait_for_line(self, prefix: str, timeout: float = 30.0) -> None:
        """Read lines until one starts with ``prefix``."""
        seen = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line {prefix!r} within {timeout}s; saw {seen}") from None
            seen.append(line)
            if line.startswith(prefix):
                return
            assert line != "<eof>", f"the worker exited before printing {prefix!r}"

    def end(self) -> None:
        """Kill it if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _reaped(pid: int, statuses: dict[int, int]) -> bool:
    if pid not in statuses:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            statuses[pid] = os.waitstatus_to_exitcode(status)
    return pid in statuses


@pytest.mark.usefixtures("_subreaper")
def test_children_exit_on_their_own_within_5s_when_the_worker_is_sigkilled(
        sidecar, dt_client, tmp_path: Path):
    worker = _WorkerProcess(sidecar.address, grace=20)
    worker_process = worker.process
    try:
        dt_client.schedule_new_orchestration(acts.fan_out, input={
            "name": "record_pid_and_sleep", "input": str(tmp_path), "count": 2})
        busy = poll_until(lambda: len(pids_in(tmp_path)) == 2 and pids_in(tmp_path), timeout=30,
                          message="both children busy")
        helpers = [p for p in _children_of(worker_process.pid) if p not in busy]
    finally:
        worker.end()
    statuses: dict[int, int] = {}
    # The promise: every activity child exits by itself within 5 s of its parent's death.
    poll_until(lambda: all(_reaped(pid, statuses) for pid in busy), timeout=5.0,
               message="the orphaned children to exit")
    assert [statuses[pid] for pid in busy] == [70, 70]  # the orphan exit, not a kill
    # multiprocessing's resource tracker ends when the last child has closed its pipe.
    poll_until(lambda: all(_reaped(pid, statuses) for pid in helpers), timeout=10.0,
               message="the worker's helper processes to exit")
    assert all(gone(pid) for pid in [*busy, *helpers])


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT]])
def test_a_signalled_worker_hands_running_activities_back_and_reaps_its_children(
        sidecar, dt_client, tmp_path: Path, signals: list[int]):
    # SIGTERM: a graceful stop with a 1 s grace. Two SIGINTs: the second one cuts a 600 s
    # grace short (the worker would otherwise wait for the activity).
    grace = 1 if signals == [signal.SIGTERM] else 600
    worker = _WorkerProcess(sidecar.address, grace=grace)
    try:
        instance = dt_client.schedule_new_orchestration(acts.fan_out, input={
            "name": "record_pid_and_sleep", "input": str(tmp_path), "count": 1})
        (busy,) = poll_until(lambda: pids_in(tmp_path), timeout=30, message="activity started")
        for index, signum in enumerate(signals):
            worker.process.send_signal(signum)
            # Two signals sent at once may be handled once: wait until each one was.
            worker.wait_for_line("Second SIGINT" if index else "Signal")
        worker.wait_for_line("stopped")
        assert worker.process.wait(timeout=30) == 0
    finally:
        worker.end()
    assert gone(busy)
    # Handed back, not failed: the instance still runs, waiting for a worker.
    state = dt_client.get_orchestration_state(instance)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.RUNNING
