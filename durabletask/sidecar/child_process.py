"""``SidecarProcess``: the embedded sidecar in a child process that is always stopped and reaped."""

from __future__ import annotations

import logging
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import grpc
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar.cli_flags import (
    DEFAULT_DB_PATH,
    SidecarLaunch,
    launch_env,
    launch_to_args,
)
from durabletask.sidecar.options import SidecarOptions
from durabletask.sidecar.program import READY_PREFIX

logger = logging.getLogger("durabletask.sidecar.child_process")

# After SIGKILL the kernel frees the child at once; this only bounds a child stuck in the
# kernel (uninterruptible I/O), which we report instead of hanging the caller forever.
_REAP_TIMEOUT_SECONDS = 10.0
_STDERR_TAIL_BYTES = 4000
# The package's parent directory, put on the child's PYTHONPATH so that it imports this
# very copy of durabletask even when it is not installed.
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])


class SidecarProcessError(RuntimeError):
    """The sidecar child process failed to start; the message includes its stderr."""


class SidecarProcess:
    """The embedded sidecar running as a child process (``python -m durabletask.sidecar``).

    The child binds ``host:port`` (port 0 picks a free port, read back from :attr:`port`),
    and exits on its own within about a second if this process dies, even by SIGKILL.
    :meth:`stop` always reaps it, also when interrupted. Use it as a context manager::

        with SidecarProcess() as sidecar:
            client = TaskHubGrpcClient(host_address=sidecar.address)

    The store is in memory unless ``db_path`` is given (or ``memory=False``, which uses
    ``durabletask.db`` in the child's working directory).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        db_path: str | os.PathLike[str] | None = None,
        memory: bool = True,
        options: SidecarOptions | None = None,
        startup_timeout: float = 15.0,
        python: str = sys.executable,
        log_level: str = "WARNING",
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        """Configure the child; nothing runs until :meth:`start`.

        Args:
            host: Interface the child binds (loopback by default).
            port: TCP port; 0 lets the child pick a free one.
            db_path: SQLite database file; when set, ``memory`` is ignored.
            memory: Keep state in memory (lost when the child exits). False without
                ``db_path`` uses ``durabletask.db`` in the working directory.
            options: Limits and intervals of the sidecar.
            startup_timeout: Seconds :meth:`start` waits for the child to answer ``Hello``.
            python: The interpreter that runs the child.
            log_level: Level of the child's log messages (kept for error reports).
            cwd: Working directory of the child; the current one by default.
        """
        if startup_timeout <= 0:
            raise ValueError(f"startup_timeout must be > 0 seconds, got {startup_timeout}")
        if db_path is not None:
            store_path: str | None = os.fspath(db_path)
        else:
            store_path = None if memory else DEFAULT_DB_PATH
        self._launch = SidecarLaunch(
            host=host, port=port, db_path=store_path,
            options=options or SidecarOptions(), log_level=log_level.upper(),
        )
        self._startup_timeout = startup_timeout
        self._python = python
        self._cwd = cwd
        self._port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._returncode: int | None = None
        # Re-entrant so that stop() from a signal handler cannot deadlock a start() in progress.
        self._lock = threading.RLock()

    @property
    def port(self) -> int:
        """The child's TCP port; 0 before the first :meth:`start`."""
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` clients and workers connect to (valid after :meth:`start`)."""
        return f"{_connect_host(self._launch.host)}:{self._port}"

    @property
    def pid(self) -> int | None:
        """The pid of the running child, or None when it is not running."""
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def returncode(self) -> int | None:
        """Exit status of the last child that ended (negative: killed by that signal)."""
        return self._returncode

    @property
    def db_path(self) -> str | None:
        """The child's SQLite database file, or None for an in-memory store."""
        return self._launch.db_path

    def is_running(self) -> bool:
        """Return True while the child process is alive."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def start(self) -> str:
        """Launch the child and wait until it answers the ``Hello`` RPC.

        Calling it again while the child runs returns the address again.

        Returns:
            The address, e.g. ``"127.0.0.1:50123"``.

        Raises:
            SidecarProcessError: The child exited early or did not answer within
                ``startup_timeout``; the child is stopped and reaped before this is raised.
        """
        with self._lock:
            if self._proc is not None:
                return self.address
            deadline = time.monotonic() + self._startup_timeout
            launch = _with_port(self._launch, self._port, os.getpid())
            stderr = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                [self._python, "-m", "durabletask.sidecar", *launch_to_args(launch)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                cwd=self._cwd, env={**_child_env(launch.log_level), **launch_env(launch)},
            )
            self._proc, self._stderr = proc, stderr
            try:
                self._port = _read_ready_port(proc, deadline, stderr)
                _await_hello(self.address, deadline)
            except BaseException:
                self._reap()
                raise
            logger.info("sidecar process %d serves %s", proc.pid, self.address)
            return self.address

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the child gracefully (SIGTERM), escalating to SIGKILL after ``timeout``; reap it.

        The child is always reaped, also when this call is interrupted (for example by
        ``KeyboardInterrupt``): the interruption propagates after the child is killed.
        Idempotent; safe before :meth:`start`.

        Args:
            timeout: Seconds the child gets to stop gracefully.
        """
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            try:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "sidecar process %d ignored SIGTERM for %.1fs; killing it", proc.pid, timeout
                )
            finally:
                self._reap()

    def kill(self) -> None:
        """SIGKILL the child (a crash, for tests) and reap it; idempotent."""
        with self._lock:
            self._reap()

    def restart(self, timeout: float = 5.0) -> str:
        """Stop the child and start a new one on the same port and database.

        Args:
            timeout: Seconds the old child gets to stop gracefully.

        Returns:
            The address, unchanged unless the first start has not happened yet.
        """
        with self._lock:
            self.stop(timeout)
            return self.start()

    def __enter__(self) -> SidecarProcess:
        """Start the child."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop and reap the child."""
        self.stop()

    def _reap(self) -> None:
        proc, stderr = self._proc, self._stderr
        self._proc = self._stderr = None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(_REAP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.error("sidecar process %d did not exit after SIGKILL", proc.pid)
        finally:
            self._returncode = proc.returncode
            if proc.stdout is not None:
                proc.stdout.close()
            if stderr is not None:
                stderr.close()


def _connect_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    return host


def _with_port(launch: SidecarLaunch, port: int, parent_pid: int) -> SidecarLaunch:
    return SidecarLaunch(
        host=launch.host, port=port or launch.port, db_path=launch.db_path,
        options=launch.options, log_level=launch.log_level, parent_pid=parent_pid,
    )


def _child_env(log_level: str) -> dict[str, str]:
    env = dict(os.environ)
    if log_level != "DEBUG":
        # The C core would repeat, on stderr, errors the child already reports in one line.
        env.setdefault("GRPC_VERBOSITY", "NONE")
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _IMPORT_ROOT + (os.pathsep + existing if existing else "")
    return env


def _read_ready_port(proc: subprocess.Popen[bytes], deadline: float, stderr: IO[bytes]) -> int:
    assert proc.stdout is not None
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SidecarProcessError(
                    f"the sidecar process {proc.pid} did not report ready in time"
                    f"{_stderr_tail(stderr)}"
                )
            if not selector.select(remaining):
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                status = proc.wait(_REAP_TIMEOUT_SECONDS)
                raise SidecarProcessError(
                    f"the sidecar process exited with status {status} before it was ready"
                    f"{_stderr_tail(stderr)}"
                )
            line += chunk
    text = line.decode("utf-8", "replace").strip()
    if not text.startswith(READY_PREFIX):
        raise SidecarProcessError(f"unexpected first line from the sidecar process: {text!r}")
    address = text[len(READY_PREFIX):].split(" ", 1)[0]
    return int(address.rsplit(":", 1)[1])


def _await_hello(address: str, deadline: float) -> None:
    channel = grpc.insecure_channel(address)
    try:
        stub = pb_grpc.TaskHubSidecarServiceStub(channel)
        stub.Hello(
            empty_pb2.Empty(), timeout=max(deadline - time.monotonic(), 0.1),
            wait_for_ready=True,
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            return  # it answers: a sidecar that requires a token refuses the bare Hello
        raise SidecarProcessError(
            f"the sidecar process at {address} did not answer Hello: {exc.code()}"
        ) from exc
    finally:
        channel.close()


def _stderr_tail(stderr: IO[bytes]) -> str:
    stderr.seek(0, os.SEEK_END)
    size = stderr.tell()
    stderr.seek(max(size - _STDERR_TAIL_BYTES, 0))
    text = stderr.read().decode("utf-8", "replace").strip()
    return f"; its stderr:\n{text}" if text else " (no output on stderr)"
