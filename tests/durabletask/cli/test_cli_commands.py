"""Client commands of ``durabletask`` run as real processes against a CLI-started sidecar."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid

import pytest

from durabletask.client import OrchestrationStatus
from tests.durabletask.cli.conftest import approval, broken, greeter
from tests.durabletask.process.procs import REPO_ROOT, run_cli

pytestmark = pytest.mark.slow


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _one_line_error(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_cli_list_prints_an_aligned_table_of_instances(target):
    done, failed = _new_id("list-done"), _new_id("list-failed")
    target.completed(greeter, done, "ada")
    target.completed(broken, failed)

    lines = _ok(run_cli("list", "--address", target.address)).splitlines()

    assert lines[0].split() == ["INSTANCE", "ID", "NAME", "STATUS", "CREATED", "LAST", "UPDATED"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows[done].split()[1:3] == ["greeter", "COMPLETED"]
    assert rows[failed].split()[1:3] == ["broken", "FAILED"]
    status_column = lines[0].index("STATUS")
    assert {line[status_column - 1] for line in lines} == {" "}
    assert rows[done][status_column:].startswith("COMPLETED")


def test_cli_list_filters_by_status_and_honours_the_limit(target):
    target.completed(broken, _new_id("filter-failed"))
    target.completed(greeter, _new_id("filter-done"), "x")

    failed_only = _ok(run_cli("list", "--status", "failed", "--address", target.address))
    limited = _ok(run_cli("list", "--limit", "1", "--address", target.address))

    assert {line.split()[2] for line in failed_only.splitlines()[1:]} == {"FAILED"}
    assert len(limited.splitlines()) == 3
    assert "1 instance shown; more match" in limited.splitlines()[-1]


def test_cli_list_json_is_machine_readable(target):
    instance_id = _new_id("list-json")
    target.completed(greeter, instance_id, "bob")

    document = json.loads(_ok(run_cli("list", "--json", "--address", target.address)))

    mine = next(item for item in document if item["instance_id"] == instance_id)
    assert mine["runtime_status"] == "COMPLETED"
    assert mine["output"] == "hello bob"
    assert mine["created_at"].endswith("+00:00")


def test_cli_show_prints_the_state_as_aligned_fields(target):
    instance_id = _new_id("show")
    target.completed(greeter, instance_id, "ada")

    lines = _ok(run_cli("show", instance_id, "--address", target.address)).splitlines()

    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines}
    assert fields["Instance ID"] == instance_id
    assert fields["Status"] == "COMPLETED"
    assert fields["Input"] == '"ada"'
    assert fields["Output"] == '"hello ada"'
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines if
                line.split(":", 1)[1].strip()}) == 1


def test_cli_show_json_includes_the_failure_of_a_failed_instance(target):
    instance_id = _new_id("show-failed")
    target.completed(broken, instance_id)

    document = json.loads(_ok(run_cli("show", instance_id, "--json", "--address", target.address)))

    assert document["runtime_status"] == "FAILED"
    assert "kaboom" in document["failure_details"]["message"]
    assert "ValueError" in document["failure_details"]["error_type"]


def test_cli_history_lists_the_events_oldest_first(target):
    instance_id = _new_id("history")
    target.completed(greeter, instance_id, "ada")

    table = _ok(run_cli("history", instance_id, "--address", target.address)).splitlines()
    document = json.loads(
        _ok(run_cli("history", instance_id, "--json", "--address", target.address))
    )

    assert table[0].split() == ["ID", "TIMESTAMP", "EVENT", "DETAILS"]
    kinds = [line.split()[3] for line in table[1:]]
    assert kinds.index("ExecutionStarted") < kinds.index("TaskScheduled")
    assert kinds.index("TaskCompleted") < kinds.index("ExecutionCompleted")
    assert [event["event_type"] for event in document] == [f"{k}Event" for k in kinds]
    assert any("say_hello" in line for line in table)


def test_cli_raise_delivers_the_event_data(target):
    instance_id = _new_id("raise")
    target.running(approval, instance_id)

    out = _ok(run_cli(
        "raise", instance_id, "approval", '{"by": "ada"}', "--address", target.address
    ))
    state = target.client.wait_for_orchestration_completion(instance_id, timeout=15)

    assert "approval" in out
    assert state.get_output() == {"by": "ada"}


def test_cli_suspend_and_resume_change_the_runtime_status(target):
    instance_id = _new_id("suspend")
    target.running(approval, instance_id)

    _ok(run_cli("suspend", instance_id, "--reason", "audit", "--address", target.address))
    suspended = target.client.get_orchestration_state(instance_id)
    resumed = json.loads(_ok(run_cli("resume", instance_id, "--json", "--address", target.address)))

    assert suspended.runtime_status == OrchestrationStatus.SUSPENDED
    assert resumed == {"instance_id": instance_id, "command": "resume", "ok": True}
    assert target.client.get_orchestration_state(instance_id).runtime_status == (
        OrchestrationStatus.RUNNING
    )


def test_cli_terminate_records_the_given_output(target):
    instance_id = _new_id("terminate")
    target.running(approval, instance_id)

    _ok(run_cli("terminate", instance_id, "--output", '"stopped"', "--address", target.address))
    state = target.client.wait_for_orchestration_completion(instance_id, timeout=15)

    assert state.runtime_status == OrchestrationStatus.TERMINATED
    assert state.get_output() == "stopped"


def test_cli_purge_deletes_a_finished_instance(target):
    instance_id = _new_id("purge")
    target.completed(greeter, instance_id, "x")

    document = json.loads(_ok(run_cli("purge", instance_id, "--json", "--address", target.address)))

    assert document["deleted_instance_count"] == 1
    assert target.client.get_orchestration_state(instance_id) is None
    assert "no orchestration instance" in _one_line_error(
        run_cli("show", instance_id, "--address", target.address), 1
    )


def test_cli_purge_refuses_a_running_instance_in_one_line(target):
    instance_id = _new_id("purge-running")
    target.running(approval, instance_id)

    error = _one_line_error(run_cli("purge", instance_id, "--address", target.address), 1)

    assert instance_id in error
    assert target.client.get_orchestration_state(instance_id) is not None


@pytest.mark.parametrize(
    "command",
    [["show"], ["history"], ["raise", "missing-event"], ["terminate"], ["suspend"], ["resume"],
     ["purge"]],
)
def test_cli_commands_report_a_missing_instance_in_one_line(target, command):
    name, *rest = command
    result = run_cli(name, "no-such-instance", *rest, "--address", target.address)

    assert "no orchestration instance 'no-such-instance'" in _one_line_error(result, 1)


def test_cli_raise_rejects_data_that_is_not_json_with_exit_2(target):
    result = run_cli("raise", "any", "approval", "not json", "--address", target.address)

    assert "not valid JSON" in _one_line_error(result, 2)


def test_cli_reports_an_unreachable_sidecar_in_one_line_with_exit_3():
    with socket.socket() as unused:  # bound but not listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{unused.getsockname()[1]}"

        result = run_cli("list", "--address", address, "--timeout", "5")

    error = _one_line_error(result, 3)
    assert f"cannot reach a sidecar at {address}" in error


def test_cli_without_a_command_prints_usage_and_exits_2():
    result = run_cli()

    assert result.returncode == 2
    assert "usage: durabletask" in result.stderr


def test_python_m_durabletask_is_the_same_command():
    module = subprocess.run(
        [sys.executable, "-m", "durabletask", "--help"], capture_output=True, text=True,
        timeout=30, cwd=REPO_ROOT, check=False,
    )

    assert module.returncode == 0
    assert module.stdout == _ok(run_cli("--help"))
    assert "sidecar" in module.stdout
    assert "terminate" in module.stdout
