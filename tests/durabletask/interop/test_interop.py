"""Interop with the official durabletask==1.12.0: the kitchen sink across SDK boundaries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import durabletask
from durabletask.testing import InMemoryOrchestrationBackend
from tests.durabletask.interop import kitchen_sink
from tests.durabletask.interop.conftest import (
    OFFICIAL_VENV,
    OFFICIAL_VERSION,
    PROVISION_LOCK_TIMEOUT_SECONDS,
)

# Whichever test runs first may provision the official venv; every step inside is bounded.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(PROVISION_LOCK_TIMEOUT_SECONDS + 120)]


def _assert_all_match(outcomes: list[dict[str, Any]], target: str) -> None:
    names = [outcome["name"] for outcome in outcomes]
    assert names == [scenario.name for scenario in kitchen_sink.SCENARIOS]
    excluded = {o["name"]: o["excluded"] for o in outcomes if "excluded" in o}
    expected_excluded = {
        s.name: s.exclusions[target] for s in kitchen_sink.SCENARIOS if target in s.exclusions}
    assert excluded == expected_excluded
    assert kitchen_sink.check_outcomes(outcomes) == []


def test_official_client_and_worker_pass_kitchen_sink_when_on_official_sidecar(
    run_official: Callable[..., Any], official_sidecar_address: str,
) -> None:
    # Sanity check of the harness itself: official on both sides must pass the table.
    outcomes = run_official(
        "run", "--address", official_sidecar_address, "--target", kitchen_sink.OFFICIAL_SIDECAR)

    _assert_all_match(outcomes, kitchen_sink.OFFICIAL_SIDECAR)


def test_official_client_and_worker_pass_kitchen_sink_when_on_our_sidecar(
    run_official: Callable[..., Any], sidecar: InMemoryOrchestrationBackend,
) -> None:
    outcomes = run_official(
        "run", "--address", sidecar.address, "--target", kitchen_sink.OUR_SIDECAR)

    _assert_all_match(outcomes, kitchen_sink.OUR_SIDECAR)


def test_our_client_and_worker_pass_kitchen_sink_when_on_official_sidecar(
    official_sidecar_address: str,
) -> None:
    outcomes = kitchen_sink.run_scenarios(
        official_sidecar_address, with_worker=True, target=kitchen_sink.OFFICIAL_SIDECAR)

    _assert_all_match(outcomes, kitchen_sink.OFFICIAL_SIDECAR)


def test_our_client_drives_official_worker_when_on_our_sidecar(
    official_worker: Callable[[str], Any], sidecar: InMemoryOrchestrationBackend,
) -> None:
    with official_worker(sidecar.address):
        outcomes = kitchen_sink.run_scenarios(
            sidecar.address, with_worker=False, target=kitchen_sink.OUR_SIDECAR)

    _assert_all_match(outcomes, kitchen_sink.OUR_SIDECAR)


def test_our_worker_serves_official_client_when_on_official_sidecar(
    run_official: Callable[..., Any], official_sidecar_address: str,
) -> None:
    ours = kitchen_sink.new_worker(official_sidecar_address)
    ours.start()
    try:
        outcomes = run_official(
            "run", "--no-worker", "--address", official_sidecar_address,
            "--target", kitchen_sink.OFFICIAL_SIDECAR)
    finally:
        ours.stop()

    _assert_all_match(outcomes, kitchen_sink.OFFICIAL_SIDECAR)


def test_official_driver_imports_only_the_official_package(
    run_official: Callable[..., Any],
) -> None:
    identity = run_official("identify")

    assert identity["version"] == OFFICIAL_VERSION
    assert Path(identity["file"]).resolve().is_relative_to(OFFICIAL_VENV.resolve())
    assert not Path(durabletask.__file__).resolve().is_relative_to(OFFICIAL_VENV.resolve())
