"""Fixtures for process tests: a launcher that stands in for a child that ignores SIGTERM."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

STUBBORN_SCRIPT = Path(__file__).with_name("stubborn_sidecar.py")


@pytest.fixture
def stubborn_python(tmp_path: Path) -> str:
    """A ``python`` for SidecarProcess whose child serves but ignores SIGTERM."""
    wrapper = tmp_path / "stubborn-python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STUBBORN_SCRIPT}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)
