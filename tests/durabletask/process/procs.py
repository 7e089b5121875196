"""Helpers for tests that run real processes: bounded line reads, liveness checks, CLI launch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from durabletask.sidecar.program import READY_PREFIX

from tests.durabletask.helpers.pipes import read_line

REPO_ROOT = Path(__file__).resolve().parents[3]


def durabletask_command() -> list[str]:
    """The installed console script when there is one, else ``python -m durabletask``."""
    script = Path(sys.executable).parent / "durabletask"
    if script.exists():
        return [str(script)]
    found = shutil.which("durabletask")
    return [found] if found else [sys.executable, "-m", "durabletask"]


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from /proc (``Z`` = zombie), or None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def has_exited(pid: int) -> bool:
    """True when ``pid`` no longer runs (gone, or a zombie waiting for a reaper other than us)."""
    return process_state(pid) in (None, "Z")


def assert_reaped(pid: int) -> None:
    """Assert ``pid`` is neither running nor a zombie of ours."""
    assert process_state(pid) is None, f"process {pid} still exists ({process_state(pid)})"
    try:
        reaped = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    raise AssertionError(f"process {pid} was still a child of the test: {reaped}")


@dataclass
class CliSidecar:
    """A ``durabletask sidecar`` process started by a test."""

    process: subprocess.Popen[bytes]
    ready_line: str

    @property
    def address(self) -> str:
        """``host:port`` from the ready line."""
        return self.ready_line[len(READY_PREFIX):].split(" ", 1)[0]


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def cli_sidecar(*args: str, cwd: Path | None = None) -> Iterator[CliSidecar]:
    """Run ``durabletask sidecar ARGS`` until the block ends; always stopped and reaped."""
    process = subprocess.Popen(
        [*durabletask_command(), "sidecar", *args], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
    )
    try:
        line = read_line(process.stdout, 20).strip()
        assert line.startswith(READY_PREFIX), (line, process.stderr.read() if not line else "")
        yield CliSidecar(process, line)
    finally:
        _stop(process)


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``durabletask ARGS`` to completion and capture its output."""
    return subprocess.run(
        [*durabletask_command(), *args], capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, check=False,
    )
