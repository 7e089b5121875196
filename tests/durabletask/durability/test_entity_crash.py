"""Entities across crashes of real processes: a SIGKILLed sidecar keeps its locks, a SIGKILLed
worker's batch is redelivered and applied once."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.helpers.pipes import read_line
from tests.durabletask.sidecar.conftest import Harness
from tests.durabletask.sidecar.fake_worker import (
    call_entity,
    complete,
    in_seconds,
    operations,
    success,
    ts,
)
from tests.durabletask.sidecar.test_entities import get_entity, signal
from tests.durabletask.sidecar.test_entity_locks import granted, lock, lock_holder

A, B = "@account@a", "@account@b"
COUNTER = "@counter@c"
TICKER = "@ticker@t"


@pytest.fixture
def harnesses():
    """Raw-gRPC harnesses over child sidecars (by address); closed afterwards."""
    opened: list[Harness] = []

    def open_harness(address: str) -> Harness:
        h = Harness(SimpleNamespace(address=address))
        opened.append(h)
        return h

    yield open_harness
    for h in opened:
        h.close()


@pytest.mark.slow
def test_sidecar_killed_while_locks_are_held_keeps_them_until_the_holder_ends(
    db_path, children, harnesses
):
    sidecar = children.sidecar(db_path)
    h = harnesses(sidecar.address)
    for iid in ("o1", "o2"):
        h.start(iid)
    worker = h.worker()
    lock(worker, "o1", "cs1", A, B)
    worker.complete(granted(worker, "o1", "cs1"))  # o1 is inside its critical section
    lock(worker, "o2", "cs2", B)
    signal(h, A, "ping")  # waits: A is locked by o1
    signal(h, TICKER, "tick", scheduledTime=ts(in_seconds(1.0)))  # a durable delayed signal
    worker.expect_nothing(within=0.2)

    sidecar.kill()
    sidecar = children.sidecar(db_path)
    h = harnesses(sidecar.address)
    assert (lock_holder(h, A), lock_holder(h, B)) == ("o1", "o1")
    worker = h.worker(workItemFilters=pb.WorkItemFilters(
        orchestrations=[pb.OrchestrationFilter(name="orch")],
        entities=[pb.EntityFilter(name="account")]))
    ticks = h.worker(workItemFilters=pb.WorkItemFilters(entities=[pb.EntityFilter(name="ticker")]))
    worker.expect_nothing(within=0.3)  # o2 still waits, the ping still waits

    h.stub.TerminateInstance(pb.TerminateRequest(instanceId="o1"), timeout=5)
    worker.complete(worker.orchestration("o1"), complete(1, pb.ORCHESTRATION_STATUS_TERMINATED))
    granted(worker, "o2", "cs2")
    assert [op for _, op, _ in operations(worker.entity(A))] == ["ping"]
    assert (lock_holder(h, A), lock_holder(h, B)) == (None, "o2")
    assert operations(ticks.entity(TICKER)) == [("entityOperationSignaled", "tick", None)]


@pytest.mark.slow
def test_worker_killed_mid_batch_the_batch_is_redelivered_and_applied_once(
    db_path, children, harnesses
):
    sidecar = children.sidecar(db_path)
    h = harnesses(sidecar.address)
    h.start("o1")
    orchestrations_only = pb.WorkItemFilters(orchestrations=[pb.OrchestrationFilter(name="orch")])
    orchestrator = h.worker(workItemFilters=orchestrations_only)
    orchestrator.complete(orchestrator.orchestration("o1"), call_entity(0, COUNTER, "get", "r1"))
    for _ in range(2):
        signal(h, COUNTER, "add", "1")

    doomed = children.spawn("tests.durabletask.durability.entity_worker_child", [sidecar.address])
    assert read_line(doomed.process.stdout, 20).strip() == "ready"
    held = json.loads(read_line(doomed.process.stdout, 20))
    assert held["operations"] == ["get", "add", "add"]
    doomed.kill()

    survivor = h.worker()
    batch = survivor.entity(COUNTER)
    assert [op for _, op, _ in operations(batch)] == held["operations"]
    assert batch.completionToken != held["token"]
    survivor.complete_entity(batch, [success("0"), success(), success()], state="2")
    stale = pb.EntityBatchResult(completionToken=held["token"], results=[success("99")])
    stale.entityState.value = "1000"
    h.stub.CompleteEntityTask(stale, timeout=5)  # the dead worker's token: ignored

    assert get_entity(h, COUNTER).entity.serializedState.value == "2"
    answer = orchestrator.orchestration("o1").orchestratorRequest.newEvents
    assert [e.entityOperationCompleted.output.value for e in answer
            if e.HasField("entityOperationCompleted")] == ["0"]
    orchestrator.expect_nothing(within=0.2)
    survivor.expect_nothing(within=0.1)
