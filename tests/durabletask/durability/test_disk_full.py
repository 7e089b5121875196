"""A completion the sidecar cannot commit (a full disk) is delivered again, not stranded.

The database lives on a real, small tmpfs (32 MiB) that the test fills with a file: SQLite then
fails with ``SQLITE_FULL`` ("database or disk is full") when a commit must grow the
write-ahead log. Before the fix, every instance whose first episode failed to commit stayed
PENDING until the sidecar restarted (the lease was spent, the worker's retries carried a
dead token, and no lease was left to expire). Mounting needs root; elsewhere the test skips.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from durabletask import client, task, worker
from durabletask.client import OrchestrationStatus
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.process.procs import cli_sidecar

pytestmark = pytest.mark.slow

INSTANCES = 30
# Each first episode schedules an activity with this input: committing it must grow the
# write-ahead log by more than the space left on the full disk.
BIG_INPUT_CHARS = 100_000


def measure(ctx: task.ActivityContext, text: str) -> int:
    return len(text)


def big_step(ctx: task.OrchestrationContext, _):
    size = yield ctx.call_activity(measure, input="x" * BIG_INPUT_CHARS)
    return size


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs mounted for the test (skips where mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)],
        capture_output=True, text=True, check=False, timeout=10,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=10)


def _fill(path: Path) -> None:
    """Write ``path`` until the file system has no space left."""
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as filler:
        while True:
            try:
                filler.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    with path.open("ab", buffering=0) as filler:  # the last, partial chunk
        for _ in range(65536):
            try:
                filler.write(b"\0")
            except OSError:
                break


class _Lines:
    """Reads a child's stderr on a thread, so that the child never blocks on a full pipe."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode(errors="replace"))

    def first(self, fragment: str) -> str | None:
        return next((line for line in list(self.lines) if fragment in line), None)


def test_completions_that_failed_to_commit_are_delivered_again_once_space_is_back(small_disk):
    filler = small_disk / "filler"
    with cli_sidecar("--db", str(small_disk / "state.db"), "--port", "0",
                     "--log-level", "WARNING", "--abandon-backoff-cap", "1") as sidecar:
        log = _Lines(sidecar.process.stderr)
        c = client.TaskHubGrpcClient(host_address=sidecar.address)
        w = worker.TaskHubGrpcWorker(
            host_address=sidecar.address, resiliency_options=FAST_WORKER_RESILIENCY
        )
        w.add_orchestrator(big_step)
        w.add_activity(measure)
        try:
            ids = [c.schedule_new_orchestration(big_step, instance_id=f"full-{i}")
                   for i in range(INSTANCES)]
            _fill(filler)
            w.start()
            line = poll_until(lambda: log.first("could not store the completion"), timeout=30,
                              message="a completion that could not be committed")
            assert "full" in line
            filler.unlink()

            states = [c.wait_for_orchestration_completion(i, timeout=30) for i in ids]
        finally:
            w.stop()
            c.close()

    assert [s.runtime_status for s in states] == [OrchestrationStatus.COMPLETED] * INSTANCES
    assert {s.serialized_output for s in states} == {str(BIG_INPUT_CHARS)}
