"""Entity batch delivery: redelivery after lost workers, abandon, stale tokens, filters, limits."""

from __future__ import annotations

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.sidecar.fake_worker import call_entity, operations, success
from tests.durabletask.sidecar.test_entities import get_entity, signal

COUNTER = "@counter@c1"


def test_batch_of_a_dropped_stream_is_redelivered_and_applied_once(harness):
    first = harness.worker()
    signal(harness, COUNTER, "add", "1")
    lost = first.entity(COUNTER)
    second = harness.worker()
    first.close()
    again = second.entity(COUNTER)
    assert again.completionToken != lost.completionToken
    assert operations(again) == operations(lost)
    first.complete_entity(lost, state='"stale"')  # the lost worker's answer is ignored
    second.complete_entity(again, state="1")
    assert get_entity(harness, COUNTER).entity.serializedState.value == "1"
    second.expect_nothing(within=0.1)


def test_batch_lost_too_often_fails_its_callers_with_worker_lost(make_harness):
    h = make_harness(max_recovery_attempts=1)
    h.start("o1")
    worker = h.worker()
    worker.complete(worker.orchestration("o1"), call_entity(0, COUNTER, "crash", "r1"))
    worker.entity(COUNTER)
    doomed = h.worker()
    worker.close()  # lost once: redelivered
    doomed.entity(COUNTER)
    survivor = h.worker()
    doomed.close()  # lost twice: more than max_recovery_attempts
    failed = survivor.orchestration("o1").orchestratorRequest.newEvents[-1]
    assert failed.entityOperationFailed.requestId == "r1"
    details = failed.entityOperationFailed.failureDetails
    assert details.errorType == "WorkerLost"
    assert "max_recovery_attempts=1" in details.errorMessage
    signal(h, COUNTER, "next")  # the entity keeps working
    assert [op for _, op, _ in operations(survivor.entity(COUNTER))] == ["next"]


def test_abandoned_batch_is_redelivered(harness):
    worker = harness.worker()
    signal(harness, COUNTER, "add")
    item = worker.entity(COUNTER)
    harness.stub.AbandonTaskEntityWorkItem(
        pb.AbandonEntityTaskRequest(completionToken=item.completionToken), timeout=5
    )
    again = worker.entity(COUNTER)
    assert operations(again) == operations(item)
    assert again.completionToken != item.completionToken


def test_duplicate_or_unknown_completion_is_ignored(harness):
    worker = harness.worker()
    signal(harness, COUNTER, "set")
    item = worker.entity(COUNTER)
    worker.complete_entity(item, state="1")
    worker.complete_entity(item, state="2")  # same token again
    bogus = pb.WorkItem()
    bogus.CopyFrom(item)
    bogus.completionToken = "e:unknown"
    worker.complete_entity(bogus, state="3")
    assert get_entity(harness, COUNTER).entity.serializedState.value == "1"


def test_results_for_a_caller_that_is_gone_are_dropped(harness):
    harness.start("o1")
    worker = harness.worker()
    worker.complete(worker.orchestration("o1"), call_entity(0, COUNTER, "slow", "r1"))
    batch = worker.entity(COUNTER)
    harness.stub.TerminateInstance(pb.TerminateRequest(instanceId="o1"), timeout=5)
    worker.complete(worker.orchestration("o1"), _terminated())
    harness.wait_done("o1")
    worker.complete_entity(batch, [success('"late"')], state="1")
    worker.expect_nothing(within=0.1)
    assert get_entity(harness, COUNTER).entity.serializedState.value == "1"


def test_entity_filters_route_by_entity_name(harness):
    filters = pb.WorkItemFilters(entities=[pb.EntityFilter(name="Counter")])
    counters = harness.worker(workItemFilters=filters)
    signal(harness, "@other@k", "ping")
    signal(harness, COUNTER, "add")
    assert counters.entity(COUNTER).entityRequestV2.instanceId == COUNTER
    counters.expect_nothing(within=0.2)
    everything = harness.worker()
    assert everything.entity("@other@k").entityRequestV2.instanceId == "@other@k"


def test_max_concurrent_entity_work_items_is_honoured(harness):
    worker = harness.worker(maxConcurrentEntityWorkItems=1)
    signal(harness, "@counter@a", "x")
    signal(harness, "@counter@b", "y")
    first = worker.next()
    worker.expect_nothing(within=0.2)
    worker.complete_entity(first)
    second = worker.next()
    assert {first.entityRequestV2.instanceId, second.entityRequestV2.instanceId} == {
        "@counter@a", "@counter@b"}


def _terminated() -> pb.OrchestratorAction:
    action = pb.OrchestratorAction(id=1)
    action.completeOrchestration.orchestrationStatus = pb.ORCHESTRATION_STATUS_TERMINATED
    return action


def test_oversized_batches_are_split_and_an_oversized_operation_fails(make_harness):
    h = make_harness(max_message_bytes=64 * 1024)
    h.start("o1")
    worker = h.worker()
    signal(h, COUNTER, "first")
    first = worker.entity(COUNTER)  # out while four 20 KB operations queue up
    for n in range(1, 5):
        signal(h, COUNTER, f"op{n}", '"' + "x" * 20_000 + '"')
    worker.complete_entity(first)
    second = worker.entity(COUNTER)
    assert [op for _, op, _ in operations(second)] == ["op1", "op2"]  # four would not fit
    worker.complete_entity(second)
    third = worker.entity(COUNTER)
    assert [op for _, op, _ in operations(third)] == ["op3", "op4"]
    worker.complete_entity(third, state='"' + "s" * 50_000 + '"')
    worker.complete(worker.orchestration("o1"),
                    call_entity(0, COUNTER, "grow", "r1", '"' + "y" * 15_000 + '"'))
    failed = worker.orchestration("o1").orchestratorRequest.newEvents[-1].entityOperationFailed
    assert failed.requestId == "r1"
    assert failed.failureDetails.errorType == "WorkItemTooLarge"
    assert "max_message_bytes" in failed.failureDetails.errorMessage
    worker.expect_nothing(within=0.1)
