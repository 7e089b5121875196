"""Entity commands of ``durabletask`` run as real processes against a CLI-started sidecar.

A raw-gRPC worker in the test answers the entity batches (the SDK's entity worker is
not needed to exercise the commands).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import grpc
import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from tests.durabletask.cli.test_cli_commands import _ok, _one_line_error
from tests.durabletask.process.procs import cli_sidecar, run_cli
from tests.durabletask.sidecar.fake_worker import FakeWorker, lock_entities, operations

pytestmark = pytest.mark.slow


class EntityTarget:
    """A CLI-started sidecar, a raw stub and a raw worker stream on it."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.stub = pb_grpc.TaskHubSidecarServiceStub(self.channel)
        self.worker = FakeWorker(self.stub, pb.GetWorkItemsRequest())

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--address", self.address)

    def run_batch(self, entity_id: str, state: str | None) -> list[tuple[str, str, str | None]]:
        """Answer the entity's next batch with ``state``; return its operations."""
        item = self.worker.entity(entity_id)
        self.worker.complete_entity(item, state=state)
        return operations(item)


@pytest.fixture(scope="module")
def target() -> Iterator[EntityTarget]:
    with cli_sidecar("--memory", "--port", "0", "--log-level", "WARNING") as sidecar:
        t = EntityTarget(sidecar.address)
        try:
            yield t
        finally:
            t.worker.close()
            t.channel.close()


def test_signal_then_show_and_list_an_entity(target):
    out = _ok(target.cli("entities", "signal", "@counter@cli-a", "add", '{"by": 5}'))
    assert "signalled 'add'" in out
    assert target.run_batch("@counter@cli-a", '{"count": 5}') == [
        ("entityOperationSignaled", "add", '{"by": 5}')]

    shown = _ok(target.cli("entities", "show", "@counter@cli-a"))
    assert "Entity ID:      @counter@cli-a" in shown
    assert '"count": 5' in shown
    document = json.loads(_ok(target.cli("entities", "show", "@counter@cli-a", "--json")))
    assert document["name"] == "counter"
    assert document["key"] == "cli-a"
    assert document["state"] == {"count": 5}
    assert document["locked_by"] is None
    assert document["backlog_queue_size"] == 0

    table = _ok(target.cli("entities", "list", "--prefix", "@counter@cli-")).splitlines()
    assert table[0].split() == ["ENTITY", "ID", "LAST", "MODIFIED", "BACKLOG", "LOCKED", "BY",
                                "STATE"]
    assert table[1].startswith("@counter@cli-a")
    listed = json.loads(_ok(target.cli("entities", "list", "--prefix", "counter", "--json")))
    assert [e["id"] for e in listed] == ["@counter@cli-a"]


def test_a_locked_entity_without_state_is_shown_as_transient(target):
    target.stub.StartInstance(pb.CreateInstanceRequest(instanceId="cli-holder", name="orch"),
                              timeout=5)
    item = target.worker.orchestration("cli-holder")
    target.worker.complete(item, lock_entities(0, "cli-holder", "cs", "@account@cli-l"))
    target.worker.orchestration("cli-holder")  # the grant arrived; leave it unanswered
    assert _ok(target.cli("entities", "list", "--prefix", "@account@")) == "no entities\n"
    listed = json.loads(_ok(target.cli("entities", "list", "--prefix", "@account@",
                                       "--transient", "--json")))
    assert [(e["id"], e["locked_by"], e["state"]) for e in listed] == [
        ("@account@cli-l", "cli-holder", None)]
    assert "Locked by:      cli-holder" in _ok(target.cli("entities", "show", "@account@cli-l"))


def test_clean_entities_removes_empty_entities(target):
    _ok(target.cli("entities", "signal", "@probe@cli-c", "delete"))
    target.run_batch("@probe@cli-c", None)
    document = json.loads(_ok(target.cli("clean-entities", "--json")))
    assert document["empty_entities_removed"] >= 1
    assert document["orphaned_locks_released"] == 0
    missing = _one_line_error(target.cli("entities", "show", "@probe@cli-c"), 1)
    assert "no entity '@probe@cli-c'" in missing
    text = _ok(target.cli("clean-entities", "--keep-locks"))
    assert text.startswith("removed 0 empty entities, released 0 orphaned locks")


def test_bad_entity_ids_and_inputs_are_usage_errors(target):
    bad_id = _one_line_error(target.cli("entities", "show", "counter"), 2)
    assert "@counter@my-key" in bad_id
    bad_input = _one_line_error(target.cli("entities", "signal", "@c@k", "op", "{"), 2)
    assert "not valid JSON" in bad_input
