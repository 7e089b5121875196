"""Starts the benchmark's processes: our sidecar, the official sidecar and the scenario driver."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).with_name("driver.py")
MAX_HISTORY_SIZE = 1_000_000
"""History bound of both sidecars: the fanout of 5000 needs more than the official 10,000."""
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
STDERR_TAIL_CHARS = 600

STORES = ("memory", "sqlite")
"""Stores our benchmark sidecar can use."""


class DriverError(RuntimeError):
    """A benchmark process failed, printed nothing, or ran past its bound."""


def clean_env() -> dict[str, str]:
    """This process's environment without anything that would leak our packages into a child."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    return env


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    from tests.durabletask.interop.conftest import read_first_line

    try:
        line = read_first_line(proc, timeout)
    except AssertionError as exc:  # the shared helper speaks pytest's language
        raise DriverError(f"{proc.args!r}: {exc}") from exc
    if not line:
        code = proc.wait(STOP_TIMEOUT_SECONDS)
        raise DriverError(f"{proc.args!r} exited {code} before it was ready")
    return line


@contextlib.contextmanager
def _serve(cmd: list[str], cwd: Path | None = None) -> Iterator[tuple[dict[str, Any], int]]:
    from tests.durabletask.interop.conftest import stop_process

    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd,
        env=clean_env() if cwd is not None else None,
    ) as proc:
        try:
            line = _first_line(proc, START_TIMEOUT_SECONDS)
            try:
                ready = json.loads(line)
            except ValueError as exc:
                raise DriverError(f"{cmd!r} printed {line!r}, not its JSON ready line") from exc
            yield ready, proc.pid
        finally:
            stop_process(proc)


@contextlib.contextmanager
def sidecar_process(store: str = "memory") -> Iterator[tuple[str, int]]:
    """Runs our sidecar program in a child process (``SidecarProcess``); yields (address, pid).

    Args:
        store: ``memory``, or ``sqlite`` for a ``SqliteStore`` in a fresh temporary file.
    """
    from durabletask.sidecar import SidecarOptions
    from durabletask.sidecar.child_process import SidecarProcess, SidecarProcessError

    if store not in STORES:
        raise ValueError(f"unknown store {store!r}; use one of {STORES}")
    options = SidecarOptions(max_history_size=MAX_HISTORY_SIZE)
    with tempfile.TemporaryDirectory(prefix="dt-bench-") as tmp:
        db_path = os.path.join(tmp, "bench.db") if store == "sqlite" else None
        sidecar = SidecarProcess(db_path=db_path, options=options,
                                 startup_timeout=START_TIMEOUT_SECONDS)
        try:
            sidecar.start()
            pid = sidecar.pid
            if pid is None:
                raise DriverError("our sidecar process ended as soon as it started")
        except SidecarProcessError as exc:
            sidecar.stop()
            raise DriverError(f"our sidecar did not start: {exc}") from exc
        try:
            yield sidecar.address, pid
        finally:
            sidecar.stop()


@contextlib.contextmanager
def official_sidecar_process(python: Path, workdir: Path) -> Iterator[tuple[str, int]]:
    """Runs the official in-memory sidecar in a child of the official venv; yields (address, pid).

    Args:
        python: The official venv's python.
        workdir: An empty working directory, so nothing of ours is importable.
    """
    from tests.durabletask.interop.conftest import DRIVER as OFFICIAL_DRIVER

    cmd = [str(python), "-I", str(OFFICIAL_DRIVER), "sidecar",
           "--max-history-size", str(MAX_HISTORY_SIZE)]
    with _serve(cmd, cwd=workdir) as (ready, pid):
        yield f"127.0.0.1:{ready['port']}", pid


def run_driver(
    python: Path, workdir: Path, address: str, scenario: str, n: int, sidecar_pid: int,
    timeout: float,
) -> dict[str, Any]:
    """Runs one scenario in a fresh ``python -I bench/driver.py`` process; returns its figures.

    Args:
        python: The interpreter whose ``durabletask`` is measured.
        workdir: The process's (empty) working directory.
        address: The sidecar's ``host:port``.
        scenario: The scenario name.
        n: The scenario's size.
        sidecar_pid: The sidecar's process id, for its memory figures.
        timeout: Seconds the run may take.

    Raises:
        DriverError: The process failed or ran past ``timeout``.
    """
    cmd = [str(python), "-I", str(DRIVER), "run", "--address", address, "--scenario", scenario,
           "--n", str(n), "--sidecar-pid", str(sidecar_pid)]
    try:
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=clean_env(),
            stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:  # run() has already killed and reaped it
        raise DriverError(f"{scenario} n={n} ran past {timeout}s") from exc
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise DriverError(
            f"{scenario} n={n} exited {result.returncode}: "
            f"{result.stderr[-STDERR_TAIL_CHARS:].strip()}")
    return dict(json.loads(lines[-1]))


def official_python() -> Path:
    """Python of the official ``durabletask==1.12.0`` venv, provisioned as the interop tests do.

    Raises:
        RuntimeError: The venv could not be provisioned (the message says why).
    """
    from tests.durabletask.interop.conftest import OfficialEnvError, provision_official_venv

    try:
        return provision_official_venv()
    except (OfficialEnvError, OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"official durabletask venv unavailable: {exc}") from exc
