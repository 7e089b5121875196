"""Worker processes killed mid-activity: the work moves to another worker, or fails WorkerLost."""

from __future__ import annotations

import pytest

from durabletask import client
from durabletask.history import TaskCompletedEvent
from tests.durabletask.durability import apps
from tests.durabletask.helpers.wait import poll_until

MAX_RECOVERY_ATTEMPTS = 2


def _invocations(marker) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


@pytest.mark.slow
def test_worker_killed_mid_activity_second_worker_finishes_orchestration(
    tmp_path, db_path, children, make_sdk_worker, make_client
):
    sidecar = children.sidecar(db_path)
    marker = tmp_path / "calls"
    doomed = children.worker(sidecar.address, mode="hang", marker=marker)
    c = make_client(sidecar.address)
    instance_id = c.schedule_new_orchestration(apps.single, input=41)
    poll_until(lambda: (tmp_path / "calls.hung").exists(), timeout=15,
               message="the activity to start in the doomed worker")
    doomed.kill()

    make_sdk_worker(sidecar.address)
    state = c.wait_for_orchestration_completion(instance_id, timeout=15)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert state.serialized_output == "42"
    history = c.get_orchestration_history(instance_id)
    assert sum(1 for e in history if isinstance(e, TaskCompletedEvent)) == 1


@pytest.mark.slow
def test_activity_that_kills_every_worker_fails_with_worker_lost_after_max_attempts(
    tmp_path, db_path, children, make_client
):
    sidecar = children.sidecar(db_path, max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
    marker = tmp_path / "calls"
    c = make_client(sidecar.address)
    instance_id = c.schedule_new_orchestration(apps.single, input=1)

    def finished():
        state = c.get_orchestration_state(instance_id)
        return state is not None and state.runtime_status in (
            client.OrchestrationStatus.FAILED, client.OrchestrationStatus.COMPLETED)

    deaths = 0
    for _ in range(MAX_RECOVERY_ATTEMPTS + 3):  # bounded: one spare worker at most
        w = children.worker(sidecar.address, mode="crash", marker=marker)
        poll_until(lambda w=w: w.exited() or finished(), timeout=20,
                   message="the worker to die or the instance to finish")
        if finished():
            w.stop()
            break
        deaths += 1
    assert deaths == MAX_RECOVERY_ATTEMPTS + 1
    assert _invocations(marker) == MAX_RECOVERY_ATTEMPTS + 1
    state = c.get_orchestration_state(instance_id)
    assert state.runtime_status == client.OrchestrationStatus.FAILED
    assert state.failure_details.inner_failure.is_caused_by("WorkerLost")
    assert f"max_recovery_attempts={MAX_RECOVERY_ATTEMPTS}" in state.failure_details.message
