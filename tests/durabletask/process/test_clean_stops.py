"""Clean stops are not lost workers; a stopped worker process loses nothing (issue 11 items 6, 7).

Real processes: our sidecar program (``SidecarProcess``) and probe workers
(``bench.fault_worker``: our SDK with DEFAULT options). A sidecar started with
``max_recovery_attempts=0`` fails an instance at the first lost worker, so a COMPLETED
instance proves that nothing was counted as lost.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bench.fault_procs import our_sidecar, probe_worker
from durabletask import client
from tests.durabletask.helpers.wait import poll_until

pytestmark = pytest.mark.slow

ORCHESTRATOR = "run_slow"  # bench.fault_worker: one activity that sleeps its input


def _completed(c: client.TaskHubGrpcClient, instance_id: str) -> client.OrchestrationState:
    state = c.wait_for_orchestration_completion(instance_id, timeout=60)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED, state.failure_details
    return state


def test_ctrl_c_of_a_worker_keeps_its_running_activity_which_runs_once(tmp_path: Path):
    with our_sidecar(max_recovery_attempts=0) as sidecar, \
            client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        with probe_worker(sidecar.address, tmp_path, "interrupted") as first:
            instance_id = c.schedule_new_orchestration(ORCHESTRATOR, input=1.5)
            poll_until(lambda: first.runs("start") == 1, timeout=30,
                       message="the activity to start")
            first.finish(signal.SIGINT)  # Ctrl-C: the program's `with worker:` stops it
        assert first.runs("end") == 1  # it finished during the stop
        with probe_worker(sidecar.address, tmp_path, "successor"):
            state = _completed(c, instance_id)
    assert state.get_output() == 1.5
    assert first.runs("start") == 1  # its result was accepted: never delivered again


def test_sigterm_restarts_of_the_sidecar_during_an_activity_never_fail_it(tmp_path: Path):
    with our_sidecar(db_path=tmp_path / "state.db", max_recovery_attempts=0) as sidecar, \
            probe_worker(sidecar.address, tmp_path) as worker:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            instance_id = c.schedule_new_orchestration(ORCHESTRATOR, input=2.0)
            poll_until(lambda: worker.runs("start") == 1, timeout=30,
                       message="the activity to start")
        for _ in range(2):
            sidecar.restart()  # SIGTERM: a graceful stop, then a new process on the file
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            assert _completed(c, instance_id).get_output() == 2.0


def test_a_sigstopped_worker_beside_a_healthy_one_loses_no_orchestration(tmp_path: Path):
    quick = dict(keepalive_time_seconds=0.5, keepalive_timeout_seconds=0.5)
    with our_sidecar(**quick) as sidecar, \
            probe_worker(sidecar.address, tmp_path, "stopped") as stopped, \
            probe_worker(sidecar.address, tmp_path, "healthy"), \
            client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        def both_served() -> bool:  # each worker has run an activity: both are connected
            _completed(c, c.schedule_new_orchestration(ORCHESTRATOR, input=0))
            return f"start {stopped.pid}" in stopped.marker.read_text()

        poll_until(both_served, timeout=30, interval=0, message="both workers to serve")
        stopped.process.send_signal(signal.SIGSTOP)  # stream open, nobody answering
        ids = [c.schedule_new_orchestration(ORCHESTRATOR, input=0) for _ in range(6)]
        outputs = [_completed(c, instance_id).get_output() for instance_id in ids]
        stopped.process.send_signal(signal.SIGCONT)
    assert outputs == [0] * 6
