"""Processes of the resiliency probes: sidecars, probe workers, and a client-side runner."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from durabletask import client
from durabletask.sidecar import SidecarOptions
from durabletask.sidecar.child_process import SidecarProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0


@dataclass
class ProbeWorker:
    """A ``bench.fault_worker`` child process (our SDK, default options)."""

    process: subprocess.Popen[bytes]
    marker: Path
    stderr_path: Path
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def runs(self, what: str = "start") -> int:
        """How many times the activity logged ``what`` (start or end), in any process."""
        if not self.marker.exists():
            return 0
        return sum(1 for line in self.marker.read_text().splitlines() if line.startswith(what))

    def finish(self, sig: int | None = None) -> dict[str, Any]:
        """Stop the worker (``sig``, e.g. SIGINT, or by closing its stdin); return its report."""
        process = self.process
        if process.poll() is None and sig is not None:
            process.send_signal(sig)  # stdin stays open: the signal alone stops it
        elif process.stdin is not None and not process.stdin.closed:
            process.stdin.close()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out = process.stdout.read() if process.stdout is not None else b""
        lines = out.decode().strip().splitlines()
        self.last = json.loads(lines[-1]) if lines else {}
        return self.last

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def _read_ready(stream: IO[bytes]) -> str:
    from tests.durabletask.helpers.pipes import read_line

    return read_line(stream, START_TIMEOUT_SECONDS)


@contextlib.contextmanager
def probe_worker(address: str, workdir: Path, name: str = "worker") -> Iterator[ProbeWorker]:
    """Start a probe worker against ``address``; it is always stopped (or killed) and reaped."""
    marker = workdir / "activity.log"
    stderr_path = workdir / f"{name}.stderr"
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.fault_worker", address, str(marker)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
        )
    worker = ProbeWorker(process, marker, stderr_path)
    try:
        assert process.stdout is not None
        line = _read_ready(process.stdout)
        if not line:
            raise RuntimeError(f"probe worker exited: {stderr_path.read_text()[-2000:]}")
        yield worker
    finally:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGCONT)  # a SIGSTOPped worker must hear us
            worker.finish()
        if process.poll() is None:
            process.kill()
        process.wait(STOP_TIMEOUT_SECONDS)


@contextlib.contextmanager
def our_sidecar(db_path: Path | None = None, **options: Any) -> Iterator[SidecarProcess]:
    """Our sidecar program in a child process (default options unless given)."""
    sidecar = SidecarProcess(db_path=db_path, options=SidecarOptions(**options),
                             startup_timeout=START_TIMEOUT_SECONDS)
    try:
        sidecar.start()
        yield sidecar
    finally:
        sidecar.stop()


@contextlib.contextmanager
def official_sidecar() -> Iterator[str]:
    """The official in-memory sidecar (``durabletask==1.12.0``) in its own process."""
    from bench.processes import official_python, official_sidecar_process

    python = official_python()
    with tempfile.TemporaryDirectory(prefix="dt-probe-official-") as tmp, \
            official_sidecar_process(python, Path(tmp)) as (address, _pid):
        yield address


def wait_completed(c: client.TaskHubGrpcClient, instance_id: str, timeout: float) -> str:
    """Wait for an instance to finish; returns its status name (or ``TIMEOUT``)."""
    try:
        state = c.wait_for_orchestration_completion(instance_id, timeout=timeout)
    except TimeoutError:
        return "TIMEOUT"
    return state.runtime_status.name if state is not None else "MISSING"


def poll_completed_any(c: client.TaskHubGrpcClient, ids: list[str]) -> bool:
    """True if any of ``ids`` completed (errors count as not yet)."""
    for instance_id in ids:
        try:
            state = c.get_orchestration_state(instance_id, fetch_payloads=False)
        except Exception:  # noqa: BLE001 - a probe keeps polling through faults
            continue
        if state is not None and state.runtime_status == client.OrchestrationStatus.COMPLETED:
            return True
    return False


def emit(line: dict[str, Any]) -> None:
    """Print one JSON result line."""
    print(json.dumps(line), flush=True)


def fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def wait_until(probe: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``probe`` until it is truthy or ``timeout`` passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if probe():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
