"""SidecarProcess: a real child sidecar is started, answers, and is always stopped and reaped."""

from __future__ import annotations

import _thread
import signal
import subprocess
import sys
import threading

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar.options import SidecarOptions
from durabletask.sidecar.child_process import SidecarProcess, SidecarProcessError
from durabletask.testing.process import create_process_backend
from tests.durabletask.helpers.pipes import read_line
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.process.procs import REPO_ROOT, assert_reaped, has_exited

pytestmark = pytest.mark.slow


def _hello(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        pb_grpc.TaskHubSidecarServiceStub(channel).Hello(empty_pb2.Empty(), timeout=5)
    return True


def test_sidecar_process_answers_and_leaves_no_child_after_stop():
    sidecar = SidecarProcess(options=SidecarOptions(max_history_size=50))
    address = sidecar.start()
    pid = sidecar.pid

    assert sidecar.port > 0
    assert address == f"127.0.0.1:{sidecar.port}"
    assert _hello(address)
    sidecar.stop()

    assert sidecar.returncode == 0
    assert sidecar.pid is None
    assert not sidecar.is_running()
    assert_reaped(pid)


def test_sidecar_process_stop_is_idempotent_and_safe_before_start():
    sidecar = SidecarProcess()
    sidecar.stop()
    sidecar.kill()

    with sidecar:
        pid = sidecar.pid
    sidecar.stop()

    assert_reaped(pid)


def test_sidecar_process_kill_reaps_and_restart_reuses_the_port():
    with SidecarProcess() as sidecar:
        first_pid, port = sidecar.pid, sidecar.port
        sidecar.kill()

        assert sidecar.returncode == -signal.SIGKILL
        assert_reaped(first_pid)

        sidecar.restart()

        assert sidecar.port == port
        assert sidecar.pid != first_pid
        assert _hello(sidecar.address)


def test_sidecar_process_stop_escalates_to_sigkill_when_sigterm_is_ignored(stubborn_python):
    sidecar = SidecarProcess(python=stubborn_python)
    sidecar.start()
    pid = sidecar.pid
    assert _hello(sidecar.address)

    sidecar.stop(timeout=0.3)

    assert sidecar.returncode == -signal.SIGKILL
    assert_reaped(pid)


def test_sidecar_process_stop_reaps_the_child_when_interrupted(stubborn_python):
    sidecar = SidecarProcess(python=stubborn_python)
    sidecar.start()
    pid = sidecar.pid
    # The child ignores SIGTERM, so stop() is still waiting when the interrupt arrives.
    # Ctrl-C's handler is installed for the test: a pytest started in the background by a
    # shell inherits SIGINT ignored, and interrupt_main() does nothing then.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupt = threading.Timer(0.3, _thread.interrupt_main)
    interrupt.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sidecar.stop(timeout=30)
    finally:
        interrupt.cancel()
        signal.signal(signal.SIGINT, previous)

    assert sidecar.returncode == -signal.SIGKILL
    assert_reaped(pid)


def test_sidecar_process_start_fails_with_the_child_error_when_the_port_is_taken():
    with SidecarProcess() as first:
        second = SidecarProcess(port=first.port)

        with pytest.raises(SidecarProcessError, match=f"could not bind.*{first.port}"):
            second.start()

        assert second.pid is None
        assert second.returncode == 1


def test_sidecar_process_restart_keeps_state_in_the_database(tmp_path):
    from durabletask.internal.proto import orchestrator_service_pb2 as pb

    with create_process_backend(db_path=tmp_path / "state.db") as sidecar:
        with grpc.insecure_channel(sidecar.address) as channel:
            stub = pb_grpc.TaskHubSidecarServiceStub(channel)
            stub.StartInstance(pb.CreateInstanceRequest(instanceId="kept", name="o"), timeout=5)
        sidecar.kill()
        sidecar.restart()

        with grpc.insecure_channel(sidecar.address) as channel:
            stub = pb_grpc.TaskHubSidecarServiceStub(channel)
            found = stub.GetInstance(pb.GetInstanceRequest(instanceId="kept"), timeout=5)

    assert found.exists


def test_sidecar_process_child_exits_when_its_parent_is_sigkilled():
    parent = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "tests/durabletask/process/orphaning_parent.py")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=REPO_ROOT,
    )
    try:
        child_pid = int(read_line(parent.stdout, 20))
        assert not has_exited(child_pid)
        parent.kill()
        parent.wait(5)

        poll_until(
            lambda: has_exited(child_pid), timeout=8, interval=0.05,
            message=f"orphaned sidecar {child_pid} to exit",
        )
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait(5)
        parent.stdout.close()


def test_create_process_backend_serves_on_loopback_until_stopped():
    sidecar = create_process_backend(port=0, max_history_size=100)
    try:
        assert sidecar.address.startswith("127.0.0.1:")
        assert _hello(sidecar.address)
    finally:
        sidecar.stop()
    assert sidecar.returncode == 0
