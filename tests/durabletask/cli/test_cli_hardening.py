"""The reproductions of issue 15 against a real CLI-started sidecar.

* ``list --json`` past 4 MiB of payloads (``--limit 1`` too): paged, no RESOURCE_EXHAUSTED;
* ``show`` of a 1,000-deep JSON input: no traceback;
* a 1 MB orchestration name: ``list`` prints a few KB, not 21 MB;
* token from a file or the environment, task hubs, for every client command;
* bulk purge by status and time, ``wait`` saying that no worker is connected, events for
  instances that do not exist (bounded, listed, purged), ``--version``.

Commands run in-process (``run_main``) against sidecar processes; one process run shows
the token never needs the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import grpc
import pytest

from durabletask import client
from durabletask.client import OrchestrationStatus
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from tests.durabletask.cli.conftest import broken, greeter, run_main
from tests.durabletask.process.procs import cli_sidecar, durabletask_command

pytestmark = pytest.mark.slow


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def idle_sidecar():
    """A sidecar with no worker: instances stay PENDING with their inputs."""
    with cli_sidecar("--memory", "--port", "0", "--log-level", "ERROR",
                     "--max-orphan-events", "3") as sidecar:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            yield sidecar.address, c


def test_list_json_pages_past_4_mib_of_payloads_and_limit_is_honoured(idle_sidecar):
    address, c = idle_sidecar
    prefix = _id("big")
    for i in range(6):  # 6 x 900 KB of inputs: no single page of 4 MiB holds them
        c.schedule_new_orchestration("big", input="x" * 900_000, instance_id=f"{prefix}-{i}")

    one = run_main("list", "--json", "--limit", "1", "--name", "big", "--address", address)
    every = run_main("list", "--json", "--name", "big", "--address", address)

    assert (one.status, one.err) == (0, "")
    assert [doc["instance_id"] for doc in json.loads(one.out)] == [f"{prefix}-5"]
    assert every.status == 0, every.err
    documents = json.loads(every.out)
    assert [doc["instance_id"] for doc in documents] == [f"{prefix}-{i}" for i in range(5, -1, -1)]
    assert {len(doc["input"]) for doc in documents} == {900_000}


def test_show_of_a_deeply_nested_input_prints_it_without_a_traceback(idle_sidecar):
    address, _ = idle_sidecar
    instance_id = _id("deep")
    deep = "[" * 1000 + "]" * 1000  # the serialised input itself, as another SDK may send it
    with grpc.insecure_channel(address) as channel:
        request = pb.CreateInstanceRequest(instanceId=instance_id, name="deep")
        request.input.value = deep
        pb_grpc.TaskHubSidecarServiceStub(channel).StartInstance(request, timeout=5)

    text = run_main("show", instance_id, "--address", address)
    document = run_main("show", instance_id, "--json", "--address", address)

    assert text.status == 0
    assert deep[:50] in text.out
    assert json.loads(document.out)["input"] == deep  # kept as text: too deep to decode


def test_a_1_mb_name_is_cut_in_tables_and_shown_once_in_json(idle_sidecar):
    address, c = idle_sidecar
    name = "n" * 1_000_000
    instance_id = _id("long-name")
    c.schedule_new_orchestration(name, instance_id=instance_id)

    table = run_main("list", "--address", address)
    shown = run_main("show", instance_id, "--address", address)
    as_json = run_main("list", "--json", "--name", name, "--address", address)

    assert table.status == 0
    assert len(table.out) < 50_000
    assert shown.status == 0
    assert len(shown.out) < 10_000
    assert "more characters" in shown.out
    assert json.loads(as_json.out)[0]["name"] == name


def test_wait_without_a_worker_says_so_and_exits_1(idle_sidecar):
    address, c = idle_sidecar
    instance_id = c.schedule_new_orchestration("nobody-runs-this")

    ran = run_main("wait", instance_id, "--wait-timeout", "1", "--address", address)

    assert ran.status == 1
    assert "no worker is connected to this sidecar" in ran.err


def test_events_for_missing_instances_are_bounded_listed_and_purged(idle_sidecar):
    address, _ = idle_sidecar
    ids = [_id("ghost") for _ in range(4)]
    kept = [run_main("raise", i, "hello", "--keep-if-missing", "--address", address)
            for i in ids]
    refused = run_main("raise", ids[0], "again", "--keep-if-missing", "--address", address)
    listed = run_main("orphan-events", "list", "--json", "--address", address)
    purged = run_main("orphan-events", "purge", "--all", "--address", address)
    after = run_main("orphan-events", "list", "--address", address)

    assert [r.status for r in kept] == [0, 0, 0, 1]
    assert "RESOURCE_EXHAUSTED" in kept[3].err
    assert "orphan-events purge" in kept[3].err
    assert refused.status == 1
    assert [doc["instance_id"] for doc in json.loads(listed.out)] == ids[:3]
    assert "deleted 3 events" in purged.out
    assert after.out.startswith("no events are kept")


def test_purge_by_status_and_time_keeps_what_the_filters_leave_out(target):
    done, failed = _id("old-done"), _id("old-failed")
    target.completed(greeter, done, "ada")
    target.completed(broken, failed)

    nothing = run_main("purge", "--status", "completed", "--before", "1h",
                       "--address", target.address)
    completed = run_main("purge", "--status", "completed", "--address", target.address)
    running = run_main("purge", "--status", "running", "--address", target.address)

    assert "purged 0 instances" in nothing.out
    assert completed.status == 0
    assert "purged" in completed.out
    assert target.client.get_orchestration_state(done) is None
    state = target.client.get_orchestration_state(failed)
    assert state is not None
    assert state.runtime_status == OrchestrationStatus.FAILED
    assert running.status == 2
    assert "not RUNNING" in running.err


def test_start_and_wait_run_an_orchestration_by_name(target):
    started = run_main("start", "greeter", '"cli"', "--json", "--address", target.address)
    instance_id = json.loads(started.out)["instance_id"]

    waited = run_main("wait", instance_id, "--json", "--address", target.address)

    assert waited.status == 0
    assert json.loads(waited.out)["output"] == "hello cli"


def test_token_and_task_hub_come_from_the_environment_or_a_file(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    args = ("--memory", "--port", "0", "--log-level", "ERROR", "--taskhub", "orders",
            "--require-token-file", str(token_file))
    with cli_sidecar(*args) as sidecar:
        env = {**os.environ, "DURABLETASK_TOKEN": "s3cret", "DURABLETASK_TASKHUB": "orders"}
        as_process = subprocess.run(
            [*durabletask_command(), "list", "--address", sidecar.address],
            capture_output=True, text=True, timeout=60, env=env, check=False)
        from_file = run_main("start", "anything", "--taskhub", "orders", "--token-file",
                             str(token_file), "--address", sidecar.address)
        refused = run_main("list", "--taskhub", "orders", "--address", sidecar.address)
        wrong_hub = run_main("list", "--taskhub", "billing", "--token-file", str(token_file),
                             "--address", sidecar.address)

    assert as_process.returncode == 0, as_process.stderr
    assert as_process.stdout.startswith("no orchestration instances")
    assert from_file.status == 0, from_file.err
    assert refused.status == 1
    assert "UNAUTHENTICATED" in refused.err
    assert wrong_hub.status == 1
    assert "billing" in wrong_hub.err


def test_the_bind_warning_says_what_authentication_there_is(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret")
    base = ("--memory", "--port", "0", "--host", "127.0.0.2", "--log-level", "WARNING")
    with cli_sidecar(*base, "--require-token-file", str(token_file)) as guarded:
        guarded_log = guarded.process.stderr.readline().decode()
    with cli_sidecar(*base) as open_sidecar:
        open_log = open_sidecar.process.stderr.readline().decode()

    assert "calls must carry the bearer token" in guarded_log
    assert "no authentication" not in guarded_log
    assert "without --require-token" not in guarded_log
    assert "without --require-token" in open_log


def test_version_names_the_package_and_python():
    result = subprocess.run([*durabletask_command(), "--version"], capture_output=True,
                            text=True, timeout=60, check=False)

    assert result.returncode == 0
    assert result.stdout.startswith("durabletask 1.12.0")
    assert "Python 3." in result.stdout
