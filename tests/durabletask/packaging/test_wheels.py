"""The wheels users install: what they contain and that building them is quiet.

Built from the tracked files only (a copy outside the work tree), without build isolation
or an index, so the test needs no network: setuptools comes from the dev extra.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_TIMEOUT_SECONDS = 180

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Build:
    """The wheels of one build and what pip printed while building them."""

    wheels: dict[str, Path]
    output: str

    def wheel(self, distribution: str) -> zipfile.ZipFile:
        (path,) = [p for name, p in self.wheels.items() if name.startswith(distribution + "-")]
        return zipfile.ZipFile(path)

    def members(self, distribution: str) -> list[str]:
        with self.wheel(distribution) as wheel:
            return [m for m in wheel.namelist() if ".dist-info/" not in m]

    def metadata(self, distribution: str) -> str:
        with self.wheel(distribution) as wheel:
            name = next(m for m in wheel.namelist() if m.endswith(".dist-info/METADATA"))
            return wheel.read(name).decode()


def _tracked_copy(destination: Path) -> Path:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs git and a checkout to copy the tracked files")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True, timeout=30,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Builds the core and the provider distribution from a copy of the tracked files."""
    source = _tracked_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheels")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(out), ".", "./durabletask-azuremanaged"],
        cwd=source, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Build({p.name: p for p in out.glob("*.whl")}, result.stdout + result.stderr)


def test_core_wheel_holds_only_the_durabletask_package(build: Build) -> None:
    members = build.members("durabletask")
    # The provider's source folder once landed in site-packages as durabletask-azuremanaged/.
    assert {m.split("/")[0] for m in members} == {"durabletask"}
    assert not any(m.startswith("durabletask/azuremanaged/") for m in members)
    assert "durabletask/py.typed" in members
    assert "durabletask/internal/proto/orchestrator_service_pb2.pyi" in members
    # The dashboard's page ships as package data: no build step for users.
    for page_file in ("index.html", "app.js", "entities.js", "style.css"):
        assert f"durabletask/sidecar/dashboard/page-assets/{page_file}" in members


def test_provider_wheel_holds_only_its_namespace_portion(build: Build) -> None:
    members = build.members("durabletask_azuremanaged")
    assert "durabletask/azuremanaged/py.typed" in members
    assert all(m.startswith("durabletask/azuremanaged/") for m in members), members


def test_building_prints_no_deprecation_warnings(build: Build) -> None:
    assert "deprecat" not in build.output.lower(), build.output


@pytest.mark.parametrize("distribution", ["durabletask", "durabletask_azuremanaged"])
def test_metadata_has_an_spdx_license_and_python_classifiers(
    build: Build, distribution: str,
) -> None:
    metadata = build.metadata(distribution)
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Programming Language :: Python :: 3 :: Only" in metadata
