"""The committed official API snapshot is what durabletask 1.12.0 really exposes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.durabletask.compat.official_surface import REPO_ROOT
from tests.durabletask.interop.conftest import PROVISION_LOCK_TIMEOUT_SECONDS

SNAPSHOT = REPO_ROOT / "tests" / "durabletask" / "compat" / "official_api.json"
TOOL = REPO_ROOT / "tools" / "official_api_snapshot.py"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(PROVISION_LOCK_TIMEOUT_SECONDS + 120)]


def test_snapshot_matches_the_installed_official_package(
    official_python: Path, official_workdir: Path,
) -> None:
    done = subprocess.run(
        [str(official_python), "-I", str(TOOL)], capture_output=True, text=True, timeout=120,
        cwd=official_workdir, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    fresh = json.loads(done.stdout)["modules"]
    committed = json.loads(SNAPSHOT.read_text())["modules"]
    # The official venv holds durabletask only (no azuremanaged, no optional extras), so
    # compare the modules it can import.
    comparable = sorted(name for name, entry in fresh.items() if "unimportable" not in entry)
    assert "durabletask.worker" in comparable
    assert {name: fresh[name] for name in comparable} == {
        name: committed.get(name) for name in comparable}
