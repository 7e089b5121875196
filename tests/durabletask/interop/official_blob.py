"""The official venv with the official extra ``durabletask[azure-blob-payloads]``.

Its ``BlobPayloadStore`` needs ``azure-storage-blob``; the payload interop tests and
``bench/payloads.py`` install the extra the first time, under the same provisioning lock
as the venv itself (``conftest.py``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.durabletask.interop.conftest import (
    OFFICIAL_VENV,
    OFFICIAL_VERSION,
    PIP_INSTALL_TIMEOUT_SECONDS,
    _provision_lock,
    _run_checked,
)

PROBE_TIMEOUT_SECONDS = 60


def has_blob_support(python: Path) -> bool:
    """True when ``python`` can import ``azure.storage.blob``."""
    probe = subprocess.run([str(python), "-I", "-c", "import azure.storage.blob"],
                           capture_output=True, timeout=PROBE_TIMEOUT_SECONDS,
                           stdin=subprocess.DEVNULL, check=False)
    return probe.returncode == 0


def ensure_blob_extra(python: Path, venv: Path = OFFICIAL_VENV) -> Path:
    """Install the official azure-blob-payloads extra into the official venv if missing.

    Returns:
        ``python``.

    Raises:
        OfficialEnvError: pip failed.
        subprocess.TimeoutExpired: A step ran past its bound.
    """
    if has_blob_support(python):
        return python
    with _provision_lock(venv):
        if not has_blob_support(python):
            _run_checked(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 f"durabletask[azure-blob-payloads]=={OFFICIAL_VERSION}"],
                PIP_INSTALL_TIMEOUT_SECONDS)
    return python
