"""The sidecar's side of worker liveness and clean stops (issue 11 items 1, 6, 7).

Scripted workers on real streams: what the sidecar advertises on ``Hello``, hung workers,
workers that reconnect, stopping workers that send a drain notice, and workers behind a
connection that went dead (through the real TCP proxy).
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.dialect import WORKER_ID_KEY, DrainNotice, SidecarTraits
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.testing import VirtualClock
from tests.durabletask.helpers.proxy import tcp_proxy
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.sidecar.fake_worker import FakeWorker, complete

WORKER = ((WORKER_ID_KEY, "worker-1"),)
COMPLETED = pb.ORCHESTRATION_STATUS_COMPLETED
FAILED = pb.ORCHESTRATION_STATUS_FAILED


def test_hello_advertises_the_ping_interval_the_accepted_keepalive_and_drains(make_harness):
    harness = make_harness(health_ping_interval_seconds=2.5, min_client_ping_interval_seconds=4)
    _, call = harness.stub.Hello.with_call(empty_pb2.Empty(), timeout=5)
    traits = SidecarTraits.from_metadata(call.initial_metadata())
    assert traits == SidecarTraits(health_ping_ms=2500, min_ping_interval_ms=4000, drain=True,
                                   completion_stream=True)


def test_hung_worker_gets_no_new_work_until_it_answers_again(make_harness):
    clock = VirtualClock()  # the lease (5 min by default) ends when the test advances it
    harness = make_harness(clock=clock)
    harness.start("i1")
    hung = harness.worker()
    unanswered = hung.orchestration("i1")
    standby = harness.worker()
    clock.advance(300)
    standby.complete(standby.orchestration("i1", timeout=5))  # the lease ran out: moved
    for instance_id in ("i2", "i3", "i4"):
        harness.start(instance_id)
        # Round robin would have sent one to the hung worker; answered at once, no lease ends.
        standby.complete(standby.orchestration(instance_id))
    hung.expect_nothing(within=0.1)
    hung.complete(unanswered)  # it answers late (a stale token, ignored) and is back
    harness.start("i5")
    harness.start("i6")
    assert hung.orchestration(timeout=5).orchestratorRequest.instanceId in ("i5", "i6")


def test_a_reconnecting_worker_supersedes_its_dead_stream_at_once(make_harness):
    harness = make_harness(max_recovery_attempts=1)
    harness.start("i1")
    old = harness.worker(metadata=WORKER)
    first = old.orchestration("i1")
    new = harness.worker(metadata=WORKER)  # the same worker, reconnected
    again = new.orchestration("i1", timeout=5)  # not after a keepalive or lease timeout
    assert again.completionToken != first.completionToken
    poll_until(old.ended, timeout=5, message="the superseded stream to end")
    new.complete(again, complete(1, result='"ok"'))
    assert harness.wait_done("i1").output.value == '"ok"'


def _drain(harness, grace: float) -> None:
    notice = DrainNotice("worker-1", grace).to_metadata()
    harness.stub.Hello(empty_pb2.Empty(), metadata=notice, timeout=5)


def test_a_draining_worker_keeps_its_leases_and_its_abandons_are_not_losses(make_harness):
    # With max_recovery_attempts=0 a single lost worker would fail the instance.
    harness = make_harness(max_recovery_attempts=0)
    harness.start("i1")
    harness.start("i2")
    stopping = harness.worker(metadata=WORKER)
    kept, handed_back = stopping.orchestration("i1"), stopping.orchestration("i2")
    _drain(harness, grace=5.0)
    poll_until(stopping.ended, timeout=5, message="the sidecar to end the draining stream")
    standby = harness.worker()
    harness.start("i3")
    standby.orchestration("i3")  # new work goes to the other worker
    stopping.complete(kept, complete(1, result='"kept"'))  # accepted after the stream ended
    assert harness.wait_done("i1").output.value == '"kept"'
    stopping.stub.AbandonTaskOrchestratorWorkItem(
        pb.AbandonOrchestrationTaskRequest(completionToken=handed_back.completionToken),
        timeout=5)
    standby.complete(standby.orchestration("i2", timeout=5), complete(1, result='"moved"'))
    state = harness.wait_done("i2")
    assert (state.orchestrationStatus, state.output.value) == (COMPLETED, '"moved"')


@pytest.mark.slow
def test_work_a_draining_worker_neither_finishes_nor_abandons_is_lost_after_its_grace(
    make_harness,
):
    harness = make_harness(max_recovery_attempts=0)
    harness.start("i1")
    stopping = harness.worker(metadata=WORKER)
    stopping.orchestration("i1")
    _drain(harness, grace=0.2)
    state = harness.wait_done("i1")
    assert state.orchestrationStatus == FAILED
    assert state.failureDetails.errorType == "WorkerLost"


@pytest.mark.slow
def test_server_keepalive_takes_back_the_work_of_a_worker_behind_a_dead_connection(
    make_harness,
):
    harness = make_harness(keepalive_time_seconds=0.5, keepalive_timeout_seconds=0.5)
    with tcp_proxy(harness.sidecar.port) as proxy, \
            grpc.insecure_channel(proxy.address) as channel:
        # No worker id and no client keepalive: only the sidecar can notice.
        doomed = FakeWorker(pb_grpc.TaskHubSidecarServiceStub(channel), pb.GetWorkItemsRequest())
        harness.start("i1")
        doomed.orchestration("i1")
        proxy.blackhole_existing()
        standby = harness.worker()
        standby.complete(standby.orchestration("i1", timeout=10), complete(1, result='"ok"'))
        assert harness.wait_done("i1").output.value == '"ok"'
        doomed.close()
