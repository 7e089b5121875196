"""The official durabletask==1.12.0 client and worker use entities on our sidecar (both stores).

``entity_scenarios.py`` runs under the official interpreter, in its own process; the
expected outcomes below are what the official SDK's own e2e tests and the DTFx entity
semantics promise.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durabletask.sidecar import EmbeddedSidecar
from durabletask.sidecar.store import SqliteStore
from tests.durabletask.interop.conftest import (
    DRIVER_RUN_TIMEOUT_SECONDS,
    PROVISION_LOCK_TIMEOUT_SECONDS,
    STDERR_TAIL_CHARS,
    _official_env,
)

SCENARIOS = Path(__file__).with_name("entity_scenarios.py")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(PROVISION_LOCK_TIMEOUT_SECONDS + 120)]

EXPECTED: dict[str, Any] = {
    # signals apply in order; metadata without state; nothing locked or queued afterwards
    "client_signals": {"state": 6, "without_state": False, "locked": False, "backlog": 0},
    # a signal sent before a call to the same entity runs first
    "call_sees_signal": 2,
    # the failed operation's state change is rolled back (official runtime behaviour)
    "failing_operation": {"error": "refused after adding", "after": 1},
    # three transfers in critical sections: money is conserved, all complete
    "locked_transfers": {"statuses": ["COMPLETED"] * 3, "balances": [50, 150]},
    # an orchestration that ends inside a critical section does not keep the lock
    "lock_released_at_end": {"first": "ended holding", "second": 7, "locked_after": False},
    # an entity signals another entity and starts an orchestration
    "entity_actions": {"started_output": 5, "counter": 5},
    # a delayed signal runs after an immediate one sent after it
    "delayed_signals": {"orchestration": ["immediate", "delayed"],
                        "client": ["immediate", "delayed"]},
    # filters and pages; the emptied entity is transient and removed by clean-up
    "queries_and_clean": {"listed": ["@counter@KEY-y"], "transient": 2,
                          "removed_at_least_one": True, "locks_released": 0,
                          "after_clean": ["@counter@KEY-y"]},
}


def _run_official(python: Path, workdir: Path, address: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), "-I", str(SCENARIOS), "--address", address], capture_output=True,
        text=True, timeout=DRIVER_RUN_TIMEOUT_SECONDS, cwd=workdir, env=_official_env(),
        stdin=subprocess.DEVNULL, check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise AssertionError(
            f"entity scenarios exited {result.returncode}:\n{result.stderr[-STDERR_TAIL_CHARS:]}")
    return json.loads(lines[-1])


def _normalized(outcomes: dict[str, Any]) -> dict[str, Any]:
    clean = outcomes.get("queries_and_clean")
    if isinstance(clean, dict) and "listed" in clean:
        for field in ("listed", "after_clean"):
            clean[field] = [f"@counter@KEY-{i.rsplit('-', 1)[-1]}" for i in clean[field]]
    failing = outcomes.get("failing_operation")
    if isinstance(failing, dict) and isinstance(failing.get("error"), str):
        failing["error"] = "refused after adding" if "refused after adding" in failing[
            "error"] else failing["error"]
    return outcomes


@pytest.fixture(params=["memory", "sqlite"])
def our_sidecar(request, tmp_path) -> Iterator[str]:
    store = SqliteStore(tmp_path / "entities.db") if request.param == "sqlite" else None
    sidecar = EmbeddedSidecar(port=0, store=store)
    sidecar.start()
    try:
        yield sidecar.address
    finally:
        sidecar.stop()


def test_official_sdk_entities_on_our_sidecar(
    official_python: Path, official_workdir: Path, our_sidecar: str
) -> None:
    outcomes = _normalized(_run_official(official_python, official_workdir, our_sidecar))

    assert outcomes == EXPECTED
