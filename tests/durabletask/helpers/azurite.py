"""Azurite, the Azure Storage emulator, as a process tests start and stop themselves.

The npm package ``azurite`` is installed into ``<repo>/.cache/azurite`` by
``.ci/install-azurite`` (``make test`` runs it; so does :func:`unavailable_reason` when
the emulator is missing and npm is there). Each :class:`Azurite` is a blob service on
127.0.0.1, on an ephemeral port unless told one, keeping its data in a folder of the
test's, and is ended by its own pid. The session fixture :func:`azurite` is imported by
the conftest or test module that needs it::

    from tests.durabletask.helpers.azurite import azurite  # noqa: F401 (a fixture)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from collections.abc import Iterator
from typing import IO

import pytest

from tests.durabletask.helpers.wait import poll_until

REPO_ROOT = Path(__file__).resolve().parents[3]
INSTALL_SCRIPT = REPO_ROOT / ".ci" / "install-azurite"
BLOB_BINARY = REPO_ROOT / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
INSTALL_TIMEOUT_SECONDS = 300
# Generous: node starts slowly on a loaded 2-core machine (30 s was seen to run out).
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 10

ACCOUNT_NAME = "devstoreaccount1"
# Azurite's fixed, publicly documented development key (not a secret).
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
_CLOSED = "Blob service successfully closed"
_LISTENING = re.compile(r"Blob service successfully listens on http://127\.0\.0\.1:(\d+)")


def unavailable_reason() -> str | None:
    """Why Azurite cannot run here (None when it can); installs it with npm if missing."""
    if BLOB_BINARY.exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed, so the Azure Storage emulator azurite is not available"
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True,
                       timeout=INSTALL_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    if BLOB_BINARY.exists():
        return None
    return f"npm could not install azurite (see {INSTALL_SCRIPT.relative_to(REPO_ROOT)})"


def skip_or_fail_without_azurite() -> None:
    """Skip the test when Azurite is unavailable; under CI with npm present, fail instead."""
    reason = unavailable_reason()
    if reason is None:
        return
    under_ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    if under_ci and shutil.which("npm") is not None:
        pytest.fail(reason)
    pytest.skip(reason)


class Azurite:
    """One Azurite blob service; a context manager that starts and stops it.

    Args:
        location: The folder of its data (kept across :meth:`stop` and :meth:`start`).
        port: The port to listen on (0: an ephemeral one, kept for restarts).
    """

    def __init__(self, location: Path, port: int = 0) -> None:
        self.location = location
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._starts = 0

    @property
    def blob_endpoint(self) -> str:
        """The account's blob endpoint URL."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """A connection string for the development account on this emulator."""
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
                f"AccountKey={ACCOUNT_KEY};BlobEndpoint={self.blob_endpoint};")

    @property
    def running(self) -> bool:
        """True while the process runs."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the emulator and wait (bounded) until it listens."""
        assert not self.running, "Azurite is already running"
        self._starts += 1
        log_path = self.location / f"azurite-{self._starts}.log"
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [str(BLOB_BINARY), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--location", str(self.location), "--skipApiVersionCheck", "--loose", "--silent"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=self.location)
        try:
            match = poll_until(lambda: self._listening(log_path), timeout=START_TIMEOUT_SECONDS,
                               interval=0.05, message=f"Azurite to listen ({log_path})")
        except AssertionError:
            self.stop()
            raise
        self.port = int(match.group(1))

    def _listening(self, log_path: Path) -> re.Match[str] | None:
        if self._process is not None and self._process.poll() is not None:
            raise AssertionError(
                f"Azurite exited {self._process.returncode}: {log_path.read_text()[-2000:]}")
        return _LISTENING.search(log_path.read_text(errors="replace"))

    def stop(self) -> None:
        """End the process by its pid, keeping its data for a restart.

        SIGTERM makes Azurite save its metadata and close, but node may linger after
        "successfully closed" while a client keeps a connection alive: it is then killed.
        """
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            log_path = self.location / f"azurite-{self._starts}.log"
            with contextlib.suppress(AssertionError):
                poll_until(lambda: process.poll() is not None
                           or _CLOSED in log_path.read_text(errors="replace"),
                           timeout=STOP_TIMEOUT_SECONDS, interval=0.05,
                           message="Azurite to close")
            if process.poll() is None:
                process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Start again on the same port with the same data; bounded by the start timeout."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                self.start()
                return
            except AssertionError:
                if time.monotonic() >= deadline:  # the port may linger a moment after a stop
                    raise

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite blob service for the session (skips, naming npm/azurite, without npm)."""
    skip_or_fail_without_azurite()
    with Azurite(tmp_path_factory.mktemp("azurite")) as emulator:
        yield emulator
