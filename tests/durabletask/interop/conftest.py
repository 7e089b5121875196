"""Fixtures for interop: the official durabletask==1.12.0 in its own virtualenv and processes.

The official package is never imported here: it is installed into
``<repo>/.venv-official`` and only ever runs as ``python -I official_driver.py``
in a subprocess whose working directory is a temp dir and whose environment has
no PYTHONPATH, so it cannot see our package (and we cannot see it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.durabletask.helpers.wait import poll_until

try:
    import fcntl
except ImportError:  # not POSIX: sessions are not serialised there
    fcntl = None  # type: ignore[assignment]

REPO_ROOT = Path(__file__).resolve().parents[3]
OFFICIAL_VENV = REPO_ROOT / ".venv-official"
OFFICIAL_VERSION = "1.12.0"
# The official SDK with OpenTelemetry's SDK beside it, for the tracing interop tests.
OFFICIAL_OTEL_VENV = REPO_ROOT / ".venv-official-otel"
OTEL_PACKAGES = ("opentelemetry-api>=1.20", "opentelemetry-sdk>=1.20")
DRIVER = Path(__file__).with_name("official_driver.py")

VENV_CREATE_TIMEOUT_SECONDS = 120
PIP_INSTALL_TIMEOUT_SECONDS = 300
PROBE_TIMEOUT_SECONDS = 60
# One kitchen-sink run is a few seconds; the bound only catches a hung process.
DRIVER_RUN_TIMEOUT_SECONDS = 120
# Another pytest session may be provisioning the same venv; wait for it, bounded.
PROVISION_LOCK_TIMEOUT_SECONDS = VENV_CREATE_TIMEOUT_SECONDS + PIP_INSTALL_TIMEOUT_SECONDS
SERVE_START_TIMEOUT_SECONDS = 30
SERVE_STOP_TIMEOUT_SECONDS = 40
STDERR_TAIL_CHARS = 4000


class OfficialEnvError(RuntimeError):
    """The official SDK's virtualenv could not be created or does not hold 1.12.0."""


def _venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _run_checked(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        check=False)
    if result.returncode != 0:
        raise OfficialEnvError(
            f"`{' '.join(cmd)}` exited {result.returncode}: {result.stderr[-STDERR_TAIL_CHARS:]}")
    return result


def _installed_version(python: Path) -> str | None:
    """Returns the durabletask version in the venv, or None if it is absent or broken."""
    probe = "import importlib.metadata as m; print(m.version('durabletask'))"
    try:
        result = subprocess.run(
            [str(python), "-I", "-c", probe], capture_output=True, text=True,
            timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _python_runs(python: Path) -> bool:
    try:
        return subprocess.run(
            [str(python), "-I", "-c", "pass"], capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False,
        ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def _provision_lock(venv: Path) -> Iterator[None]:
    """Serialises provisioning of ``venv`` across concurrent pytest sessions."""
    if fcntl is None:
        yield
        return
    digest = hashlib.sha256(str(venv.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"durabletask-official-venv-{digest}.lock"
    with lock_path.open("w") as handle:
        try:
            poll_until(
                lambda: _try_lock(handle), timeout=PROVISION_LOCK_TIMEOUT_SECONDS,
                interval=0.2, message=f"the provisioning lock {lock_path}")
        except AssertionError as exc:
            raise OfficialEnvError(str(exc)) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _has_packages(python: Path, packages: tuple[str, ...]) -> bool:
    if not packages:
        return True
    names = [p.split(">")[0].split("=")[0] for p in packages]
    probe = "import importlib.metadata as m; [m.version(n) for n in %r]" % names
    return subprocess.run(
        [str(python), "-I", "-c", probe], capture_output=True, timeout=PROBE_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL, check=False).returncode == 0


def provision_official_venv(venv: Path = OFFICIAL_VENV, extra: tuple[str, ...] = ()) -> Path:
    """Creates (or reuses) a virtualenv holding exactly durabletask==1.12.0.

    Args:
        venv: Where the virtualenv lives.
        extra: More requirements to install beside it (e.g. OpenTelemetry's SDK).

    Returns:
        The path of the virtualenv's python.

    Raises:
        OfficialEnvError: The venv could not be created or the install failed.
        subprocess.TimeoutExpired: A step ran past its bound.
    """
    python = _venv_python(venv)

    def ready() -> bool:
        return (python.exists() and _installed_version(python) == OFFICIAL_VERSION
                and _has_packages(python, extra))

    if ready():
        return python
    with _provision_lock(venv):
        if ready():
            return python  # provisioned by another session while we waited
        _install(venv, python, extra)
    return python


def _install(venv: Path, python: Path, extra: tuple[str, ...] = ()) -> None:
    if not _python_runs(python):
        shutil.rmtree(venv, ignore_errors=True)
        _run_checked([sys.executable, "-m", "venv", str(venv)], VENV_CREATE_TIMEOUT_SECONDS)
    _run_checked(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
         f"durabletask=={OFFICIAL_VERSION}", *extra],
        PIP_INSTALL_TIMEOUT_SECONDS)
    found = _installed_version(python)
    if found != OFFICIAL_VERSION:
        raise OfficialEnvError(
            f"{venv} holds durabletask {found!r} after install, expected {OFFICIAL_VERSION}")


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def official_python() -> Path:
    """Python of the official SDK's venv; skips (fails under CI) when it cannot be installed."""
    try:
        return provision_official_venv()
    except (OfficialEnvError, OSError, subprocess.TimeoutExpired) as exc:
        reason = f"official durabletask=={OFFICIAL_VERSION} unavailable: {exc}"
        if _under_ci():
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def official_otel_python() -> Path:
    """Python of a venv with the official SDK and OpenTelemetry's SDK (tracing interop)."""
    try:
        return provision_official_venv(OFFICIAL_OTEL_VENV, OTEL_PACKAGES)
    except (OfficialEnvError, OSError, subprocess.TimeoutExpired) as exc:
        reason = f"official durabletask=={OFFICIAL_VERSION} with OpenTelemetry unavailable: {exc}"
        if _under_ci():
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def official_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Empty working directory for official processes, so nothing of ours is importable."""
    return tmp_path_factory.mktemp("official")


def _official_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    return env


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-STDERR_TAIL_CHARS:] if path.exists() else ""


@pytest.fixture(scope="session")
def run_official(
    official_python: Path, official_workdir: Path,
) -> Callable[..., Any]:
    """Runs ``official_driver.py <args>`` to completion and returns its last JSON line."""

    def run(*args: str, timeout: float = DRIVER_RUN_TIMEOUT_SECONDS) -> Any:
        cmd = [str(official_python), "-I", str(DRIVER), *args]
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, cwd=official_workdir,
                env=_official_env(), stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:  # run() has already killed and reaped it
            raise AssertionError(f"official driver {args} ran past {timeout}s") from exc
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or not lines:
            raise AssertionError(
                f"official driver {args} exited {result.returncode}; stderr:\n"
                f"{result.stderr[-STDERR_TAIL_CHARS:]}")
        return json.loads(lines[-1])

    return run


def read_first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    stdout: IO[str] = proc.stdout
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        proc.kill()  # unblocks readline with EOF
        reader.join(SERVE_STOP_TIMEOUT_SECONDS)
        raise AssertionError(f"official process printed nothing within {timeout}s")
    return box[0] if box else ""


def stop_process(proc: subprocess.Popen[str]) -> None:
    """Closes stdin (the stop signal), then kills if the process outlives its bound."""
    with contextlib.suppress(OSError):
        if proc.stdin is not None:
            proc.stdin.close()
    try:
        proc.wait(timeout=SERVE_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=SERVE_STOP_TIMEOUT_SECONDS)


@contextlib.contextmanager
def serve_official(python: Path, workdir: Path, *args: str) -> Iterator[dict[str, Any]]:
    """Starts a long-running official driver mode, yields its first JSON line, then stops it.

    Args:
        python: The official venv's python.
        workdir: Working directory (and home of the process's stderr log).
        *args: Driver arguments, e.g. ``("sidecar",)``.

    Yields:
        The JSON object the driver printed once ready.
    """
    stderr_path = workdir / f"{args[0]}-{os.getpid()}-{threading.get_ident()}.stderr"
    with stderr_path.open("w") as stderr, subprocess.Popen(
        [str(python), "-I", str(DRIVER), *args], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=workdir, env=_official_env(),
    ) as proc:
        try:
            line = read_first_line(proc, SERVE_START_TIMEOUT_SECONDS)
            if not line:
                proc.wait(timeout=SERVE_STOP_TIMEOUT_SECONDS)
                raise AssertionError(
                    f"official {args} exited {proc.returncode}: {_tail(stderr_path)}")
            yield json.loads(line)
        finally:
            stop_process(proc)


@pytest.fixture(scope="session")
def official_sidecar_address(official_python: Path, official_workdir: Path) -> Iterator[str]:
    """Address of the official in-memory sidecar, running in its own process."""
    with serve_official(official_python, official_workdir, "sidecar") as ready:
        yield f"127.0.0.1:{ready['port']}"


@pytest.fixture
def official_worker(
    official_python: Path, official_workdir: Path,
) -> Callable[[str], contextlib.AbstractContextManager[dict[str, Any]]]:
    """Starts the official worker serving the kitchen sink against a given address."""

    def start(address: str) -> contextlib.AbstractContextManager[dict[str, Any]]:
        return serve_official(official_python, official_workdir, "worker", "--address", address)

    return start
