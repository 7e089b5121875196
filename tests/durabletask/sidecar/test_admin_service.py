"""Our sidecar's admin extension (protos/sidecar_admin.proto) over real gRPC.

* ``ListWorkers``: connected streams, their filters, limits and held work items;
* ``DescribeInstance``: the events an orchestration waits for and those nothing waits for,
  as our worker reports them (and the sidecar's one warning about a misspelt name);
* events kept for instance ids that do not exist: the store contract, and their purge.
"""

from __future__ import annotations

import logging

import pytest

from durabletask import client, task, worker
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import sidecar_admin_pb2 as admin
from durabletask.internal.proto import sidecar_admin_pb2_grpc as admin_grpc
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.sidecar.test_store_contract import event, start


def _admin(harness) -> admin_grpc.SidecarAdminStub:
    return admin_grpc.SidecarAdminStub(harness.channel)


def test_list_workers_shows_filters_limits_and_held_work(harness):
    filters = pb.WorkItemFilters(orchestrations=[pb.OrchestrationFilter(name="orch",
                                                                        versions=["2"])])
    worker_stream = harness.worker(metadata=(("durabletask-worker-id", "w-1"),),
                                   workItemFilters=filters, maxConcurrentActivityWorkItems=7)
    harness.worker(workItemFilters=pb.WorkItemFilters(activities=[pb.ActivityFilter(name="a")]))
    request = pb.CreateInstanceRequest(instanceId="held", name="orch")
    request.version.value = "2"
    harness.stub.StartInstance(request, timeout=5)
    worker_stream.orchestration("held")

    workers = _admin(harness).ListWorkers(admin.ListWorkersRequest(), timeout=5).workers

    mine = next(w for w in workers if w.worker_id == "w-1")
    assert mine.filtered
    assert [(f.kind, f.name, list(f.versions)) for f in mine.filters] == [
        ("orchestration", "orch", ["2"])]
    assert mine.max_activities == 7
    assert [(i.kind, i.instance_id, i.name) for i in mine.work_items] == [
        ("orchestration", "held", "orch")]
    assert mine.work_items[0].HasField("delivered_at")
    other = next(w for w in workers if w.worker_id == "")
    assert [(f.kind, f.name) for f in other.filters] == [("activity", "a")]
    assert not other.work_items


def approval(ctx: task.OrchestrationContext, _):
    decision = yield ctx.wait_for_external_event("approval")
    return decision


def test_describe_instance_reports_awaited_and_unclaimed_events(harness, caplog):
    w = worker.TaskHubGrpcWorker(host_address=harness.sidecar.address,
                                 resiliency_options=FAST_WORKER_RESILIENCY)
    w.add_orchestrator(approval)
    w.start()
    try:
        with client.TaskHubGrpcClient(host_address=harness.sidecar.address) as c:
            c.schedule_new_orchestration(approval, instance_id="typo")
            c.wait_for_orchestration_start("typo", timeout=10)
            stub = _admin(harness)

            def describe() -> admin.DescribeInstanceResponse:
                return stub.DescribeInstance(admin.DescribeInstanceRequest(instance_id="typo"),
                                             timeout=5)

            poll_until(lambda: describe().reported, message="the worker's first report")
            with caplog.at_level(logging.WARNING, logger="durabletask.sidecar"):
                c.raise_orchestration_event("typo", "aproval", data="yes")
                c.raise_orchestration_event("typo", "aproval", data="yes again")
                found = poll_until(
                    lambda: (d := describe()).unclaimed_events and d.unclaimed_events[0].count == 2
                    and d, message="the unclaimed events")
            c.raise_orchestration_event("typo", "approval", data="ok")
            state = c.wait_for_orchestration_completion("typo", timeout=10)
        gone = describe()
    finally:
        w.stop()

    assert list(found.awaited_events) == ["approval"]
    assert [(e.name, e.count) for e in found.unclaimed_events] == [("aproval", 2)]
    warnings = [r.getMessage() for r in caplog.records if "nothing waits for" in r.getMessage()]
    assert len(warnings) == 1
    assert "'aproval'" in warnings[0]
    assert "'approval'" in warnings[0]
    assert state.serialized_output == '"ok"'
    assert gone.exists
    assert not gone.reported


def test_describe_instance_of_a_missing_instance_says_it_does_not_exist(harness):
    response = _admin(harness).DescribeInstance(
        admin.DescribeInstanceRequest(instance_id="missing"), timeout=5)

    assert not response.exists


def test_store_keeps_lists_and_deletes_events_of_missing_instances(store):
    store.append_inbox("ghost", event(name="a"))
    store.append_inbox("ghost", event(name="b"))
    store.append_inbox("other", event(name="c"))
    start(store, "real")
    store.append_inbox("real", event(name="d"))

    rows = store.orphan_events()
    count = store.count_orphan_events()
    deleted = store.delete_orphan_events([rows[0].seq, rows[2].seq])
    start(store, "ghost")  # what is left is the new instance's, not an orphan any more

    assert [(r.instance_id, r.event.eventRaised.name) for r in rows] == [
        ("ghost", "a"), ("ghost", "b"), ("other", "c")]
    assert count == 3
    assert deleted == 2
    assert store.count_orphan_events() == 0
    assert store.orphan_events(limit=5) == []


@pytest.mark.parametrize("purge", [
    admin.PurgeOrphanEventsRequest(instance_ids=["ghost-a"]),
    admin.PurgeOrphanEventsRequest(),
])
def test_purging_kept_events_by_id_or_all(make_harness, purge):
    harness = make_harness(max_orphan_events=5)
    for target in ("ghost-a", "ghost-a", "ghost-b"):
        harness.stub.RaiseEvent(pb.RaiseEventRequest(instanceId=target, name="e"), timeout=5)
    stub = _admin(harness)

    deleted = stub.PurgeOrphanEvents(purge, timeout=5).deleted_events
    left = stub.ListOrphanEvents(admin.ListOrphanEventsRequest(), timeout=5)

    assert deleted == (2 if purge.instance_ids else 3)
    assert [g.instance_id for g in left.instances] == (["ghost-b"] if purge.instance_ids else [])
    assert left.max_events == 5
