"""``bench/otel_micro.py`` keeps working: each mode runs and reports its figures.

Speed is never asserted (``python -m bench.observability --micro`` measures it); the run is
tiny.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MICRO = Path(__file__).resolve().parents[2] / "bench" / "otel_micro.py"
RUN_TIMEOUT_SECONDS = 120


def _run(mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-s", str(MICRO), "--mode", mode, "--orchestrations", "50",
         "--repeats", "2"], capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("mode", ["absent", "off"])
def test_the_facade_without_providers_reports_its_cost(mode):
    figures = _run(mode)
    assert figures["mode"] == mode
    assert figures["us_per_orchestration"] > 0
    assert "sdk_alone_us" not in figures


def test_with_providers_it_reports_the_sdk_alone_beside_our_calls():
    figures = _run("on")
    assert figures["us_per_orchestration"] > 0
    assert figures["sdk_alone_us"] > 0
