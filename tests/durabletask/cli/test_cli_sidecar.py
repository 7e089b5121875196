"""``durabletask sidecar``: starts, answers, stops on signals, reports bad setups in one line."""

from __future__ import annotations

import re
import signal
import subprocess

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from tests.durabletask.process.procs import assert_reaped, cli_sidecar, run_cli

pytestmark = pytest.mark.slow

READY = re.compile(r"^durabletask sidecar listening on 127\.0\.0\.1:(\d+) \(store: (.+)\)$")


def _stub_call(address: str, method: str, request):
    with grpc.insecure_channel(address) as channel:
        return getattr(pb_grpc.TaskHubSidecarServiceStub(channel), method)(request, timeout=5)


def _assert_one_line_error(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_sidecar_serves_on_loopback_and_stops_gracefully_on(signum):
    with cli_sidecar("--memory", "--port", "0", "--log-level", "WARNING") as sidecar:
        match = READY.match(sidecar.ready_line)
        _stub_call(sidecar.address, "Hello", empty_pb2.Empty())

        sidecar.process.send_signal(signum)
        status = sidecar.process.wait(5)

    assert match is not None
    assert match.group(2) == "memory"
    assert status == 0
    assert_reaped(sidecar.process.pid)


def test_cli_sidecar_rejects_an_out_of_range_option_in_one_line():
    result = run_cli("sidecar", "--memory", "--port", "0", "--max-recovery-attempts", "-1")

    assert "--max-recovery-attempts" in _assert_one_line_error(result, 2)


def test_cli_sidecar_reports_a_taken_port_in_one_line():
    with cli_sidecar("--memory", "--port", "0", "--log-level", "ERROR") as first:
        port = first.address.rsplit(":", 1)[1]

        result = run_cli("sidecar", "--memory", "--port", port, "--log-level", "ERROR")

    assert "could not bind" in _assert_one_line_error(result, 1)


def test_cli_sidecar_keeps_its_database_in_the_working_directory_by_default(tmp_path):
    with cli_sidecar("--port", "0", "--log-level", "WARNING", cwd=tmp_path) as sidecar:
        match = READY.match(sidecar.ready_line)

    assert match is not None
    assert match.group(2) == "sqlite durabletask.db"
    assert (tmp_path / "durabletask.db").exists()


def test_cli_sidecar_state_survives_a_restart(tmp_path):
    db = str(tmp_path / "state.db")
    with cli_sidecar("--port", "0", "--db", db, "--log-level", "WARNING") as sidecar:
        _stub_call(sidecar.address, "StartInstance",
                   pb.CreateInstanceRequest(instanceId="kept", name="orch"))

    with cli_sidecar("--port", "0", "--db", db, "--log-level", "WARNING") as sidecar:
        found = _stub_call(sidecar.address, "GetInstance", pb.GetInstanceRequest(instanceId="kept"))

    assert found.exists


def test_cli_sidecar_refuses_a_corrupt_database_in_one_line_naming_the_file(tmp_path):
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not an SQLite database" * 200)

    result = run_cli("sidecar", "--port", "0", "--db", str(db))

    assert "corrupt.db" in _assert_one_line_error(result, 2)


def test_cli_sidecar_serves_isolated_task_hubs_behind_a_token(tmp_path):
    args = ("--db", str(tmp_path / "state.db"), "--port", "0", "--log-level", "WARNING")
    with cli_sidecar(*args, "--taskhub", "a", "--taskhub", "b", "--require-token", "t0k") as sc:
        request = pb.CreateInstanceRequest(instanceId="in-a", name="anything")
        with grpc.insecure_channel(sc.address) as channel:
            stub = pb_grpc.TaskHubSidecarServiceStub(channel)
            with pytest.raises(grpc.RpcError) as refused:
                stub.StartInstance(request, metadata=[("taskhub", "a")], timeout=5)
            hub_a = [("taskhub", "a"), ("authorization", "Bearer t0k")]
            hub_b = [("taskhub", "b"), ("authorization", "Bearer t0k")]
            stub.StartInstance(request, metadata=hub_a, timeout=5)
            seen_from_b = stub.GetInstance(
                pb.GetInstanceRequest(instanceId="in-a"), metadata=hub_b, timeout=5
            )

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert not seen_from_b.exists
    assert (tmp_path / "state.a.db").exists()
    assert (tmp_path / "state.b.db").exists()
