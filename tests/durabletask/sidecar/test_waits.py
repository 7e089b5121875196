"""WaitForInstance* without a deadline waits for the instance; a wait no worker can end says so.

The official JavaScript SDK sends these calls without a deadline; durabletask-go then waits
until the client cancels. Ours used to cut them at 30 s with DEADLINE_EXCEEDED; now only an
operator's ``default_wait_timeout_seconds`` caps them.
"""

from __future__ import annotations

import grpc
import pytest

from durabletask import client
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.sidecar.fake_worker import complete


def _wait_request(instance_id: str) -> pb.GetInstanceRequest:
    return pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True)


def test_a_wait_without_deadline_lasts_until_the_instance_completes(harness):
    harness.start("long")
    worker = harness.worker()
    item = worker.orchestration("long")
    completion = harness.stub.WaitForInstanceCompletion.future(_wait_request("long"))
    start = harness.stub.WaitForInstanceStart.future(_wait_request("long"))

    worker.expect_nothing(within=0.3)
    assert not completion.done()

    worker.complete(item, complete(1, result='"done"'))
    assert completion.result(timeout=5).orchestrationState.output.value == '"done"'
    assert start.result(timeout=5).exists


def test_an_operator_cap_still_ends_waits_without_deadline(make_harness):
    harness = make_harness(default_wait_timeout_seconds=0.3)
    harness.start("capped")

    with pytest.raises(grpc.RpcError) as info:
        harness.stub.WaitForInstanceCompletion(_wait_request("capped"))

    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_a_client_wait_without_any_worker_says_that_no_worker_is_connected(harness):
    harness.start("nobody")
    with client.TaskHubGrpcClient(host_address=harness.sidecar.address) as c:
        with pytest.raises(TimeoutError) as info:
            c.wait_for_orchestration_completion("nobody", timeout=1)

    assert "no worker is connected to this sidecar" in str(info.value)
    assert "is still PENDING" in str(info.value)


def test_a_wait_says_when_no_connected_worker_accepts_the_orchestration(harness):
    filters = pb.WorkItemFilters(orchestrations=[pb.OrchestrationFilter(name="other")])
    harness.worker(workItemFilters=filters)
    harness.start("unwanted", name="wanted")

    with pytest.raises(grpc.RpcError) as info:
        harness.stub.WaitForInstanceStart(_wait_request("unwanted"), timeout=1)

    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "no connected worker accepts orchestration 'wanted'" in info.value.details()
