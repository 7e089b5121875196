"""Worker lifecycle: start/stop idempotence, bounded stop, registration rules."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from durabletask import client, task, worker
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY


def noop(ctx: task.OrchestrationContext, _: None):
    return "ok"


def test_stop_is_idempotent_and_safe_before_start(make_worker):
    w = make_worker([noop])
    w.stop()
    w.start()
    w.start()
    w.stop()
    w.stop()


def test_stop_from_many_threads_returns(make_worker):
    w = make_worker([noop])
    w.start()
    threads = [threading.Thread(target=w.stop) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)


@pytest.mark.timeout(30)
def test_stop_returns_without_using_its_budget_when_idle(make_worker, caplog):
    # A budget far beyond the test's timeout: a stop that waited for it would fail the test.
    patient = dataclasses.replace(FAST_WORKER_RESILIENCY, stop_timeout_seconds=3600.0,
                                  abandon_timeout_seconds=3600.0)
    w = make_worker([noop], resiliency_options=patient)
    w.start()
    w.stop()
    assert not w.is_running
    assert "did not finish" not in caplog.text
    assert "Abandoned work items" not in caplog.text


def test_no_worker_threads_left_after_stop(make_worker):
    before = {t.name for t in threading.enumerate()}
    w = make_worker([noop])
    w.start()
    w.stop()
    leftover = {t.name for t in threading.enumerate()} - before
    assert not [name for name in leftover if name.startswith("durabletask")]


def test_registering_while_running_raises(make_worker):
    w = make_worker([noop])
    w.start()
    with pytest.raises(RuntimeError):
        w.add_orchestrator(lambda ctx, _: None)


def test_duplicate_registration_raises_value_error(make_worker):
    w = make_worker([noop])
    with pytest.raises(ValueError, match="noop"):
        w.add_orchestrator(noop)


def test_worker_restart_processes_new_work(make_worker, dt_client):
    w = make_worker([noop])
    w.start()
    w.stop()
    w.start()
    instance_id = dt_client.schedule_new_orchestration(noop)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED


def test_worker_started_before_sidecar_connects_later(sidecar, dt_client):
    address = sidecar.address
    sidecar.stop()
    from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
    from durabletask.testing import InMemoryOrchestrationBackend

    w = worker.TaskHubGrpcWorker(host_address=address, resiliency_options=FAST_WORKER_RESILIENCY)
    w.add_orchestrator(noop)
    w.start()
    port = int(address.rsplit(":", 1)[1])
    backend = InMemoryOrchestrationBackend(port=port)
    backend.start()
    try:
        with client.TaskHubGrpcClient(host_address=address) as c:
            instance_id = c.schedule_new_orchestration(noop)
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        assert state.get_output() == "ok"
    finally:
        w.stop()
        backend.stop()


def test_resiliency_stats_report_healthy_connections(make_worker, dt_client):
    w = make_worker([noop])
    assert w.resiliency_stats() == {}
    w.start()
    instance_id = dt_client.schedule_new_orchestration(noop)
    dt_client.wait_for_orchestration_completion(instance_id, timeout=30)
    client_stats = dt_client.resiliency_stats()
    worker_stats = w.resiliency_stats()
    assert client_stats["current_generation"] == 1
    assert client_stats["recreations"] == 0
    assert client_stats["transport_failures"] == 0
    # Our sidecar advertises a short keepalive: the worker's first channel (safe keepalive)
    # is replaced by one using it before the stream opens; that is no recovery.
    assert worker_stats["recreations"] == 0
    assert worker_stats["reconfigurations"] == 1
    assert worker_stats["current_generation"] == 2
    assert worker_stats["consecutive_failures"] == 0
