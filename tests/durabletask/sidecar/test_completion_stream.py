"""The CompletionStream extension on the sidecar: advertised, and acknowledged as unary would be."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask import client, task, worker
from durabletask.internal.dialect import COMPLETION_STREAM_KEY
from durabletask.internal.proto import durabletask_extensions_pb2 as ext
from durabletask.internal.proto import durabletask_extensions_pb2_grpc as ext_grpc
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from tests.durabletask.sidecar.fake_worker import complete, kinds, schedule_task


def _stream(harness, *completions: ext.Completion) -> list[ext.Ack]:
    """Send the completions as one batch, half-close, and return every acknowledgement."""
    stub = ext_grpc.CompletionStreamStub(harness.channel)
    answers = stub.Complete(iter([ext.CompletionBatch(completions=completions)]), timeout=5)
    return sorted((ack for batch in answers for ack in batch.acks), key=lambda ack: ack.id)


def _orchestrator(ident: int, item: pb.WorkItem, *actions: pb.OrchestratorAction,
                  token: str | None = None) -> ext.Completion:
    response = pb.OrchestratorResponse(
        instanceId=item.orchestratorRequest.instanceId,
        completionToken=item.completionToken if token is None else token, actions=actions)
    return ext.Completion(id=ident, orchestrator=response)


def test_hello_advertises_the_completion_stream(harness):
    _, call = harness.stub.Hello.with_call(empty_pb2.Empty(), timeout=5)
    assert (COMPLETION_STREAM_KEY, "1") in tuple(call.initial_metadata())


def test_streamed_completions_apply_and_a_duplicate_is_acknowledged_ok_without_effect(harness):
    harness.start("i1")
    worker = harness.worker()
    item = worker.orchestration("i1")
    acks = _stream(harness, _orchestrator(7, item, complete(1, result='"a"')),
                   _orchestrator(8, item, complete(1, result='"b"')))
    # Both OK, as two unary calls with the same token are (test_delivery.py).
    assert [(ack.id, ack.code) for ack in acks] == [(7, 0), (8, 0)]
    assert harness.wait_done("i1").output.value == '"a"'
    assert kinds(harness.history("i1")).count("executionCompleted") == 1


def test_activity_result_on_the_stream_reaches_the_orchestration(harness):
    harness.start("i1")
    worker = harness.worker()
    worker.complete(worker.orchestration("i1"), schedule_task(1, "act"))
    activity = worker.activity("i1")
    response = pb.ActivityResponse(instanceId="i1", taskId=activity.activityRequest.taskId,
                                   completionToken=activity.completionToken)
    response.result.value = '"done"'
    acks = _stream(harness, ext.Completion(id=1, activity=response))
    assert [(ack.id, ack.code) for ack in acks] == [(1, 0)]
    episode = worker.orchestration("i1")
    completed = [e for e in episode.orchestratorRequest.newEvents if e.HasField("taskCompleted")]
    assert completed[0].taskCompleted.result.value == '"done"'


@pytest.mark.parametrize("token", ["", "o:not-a-token"])
def test_a_refused_or_stale_completion_is_acknowledged_with_the_unary_outcome(harness, token):
    harness.start("i1")
    worker = harness.worker()
    item = worker.orchestration("i1")
    streamed = _orchestrator(1, item, complete(1), token=token)
    try:
        harness.stub.CompleteOrchestratorTask(streamed.orchestrator, timeout=5)
        unary = (grpc.StatusCode.OK.value[0], "")
    except grpc.RpcError as exc:
        unary = (exc.code().value[0], exc.details())
    (ack,) = _stream(harness, streamed)
    assert (ack.code, ack.message) == unary
    if token:  # a stale token is ignored: the instance did not move
        assert harness.status("i1") == pb.ORCHESTRATION_STATUS_PENDING


def test_a_completion_without_a_response_is_refused_as_invalid(harness):
    (ack,) = _stream(harness, ext.Completion(id=3))
    assert ack.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "orchestrator, activity or entity" in ack.message


def test_the_stream_is_refused_like_any_call_without_a_hub_or_token(make_harness):
    named = make_harness(taskhubs=("a", "b"))
    with pytest.raises(grpc.RpcError) as no_hub:
        _stream(named, ext.Completion(id=1))
    assert no_hub.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no task hub selected" in (no_hub.value.details() or "")
    guarded = make_harness(require_token="secret")
    with pytest.raises(grpc.RpcError) as no_token:
        _stream(guarded, ext.Completion(id=1))
    assert no_token.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_our_worker_streams_its_completions_to_the_hub_it_serves(make_harness):
    named = make_harness(taskhubs=("a", "b"))
    hub_b = [("taskhub", "b")]

    def echo(ctx: task.ActivityContext, value: int) -> int:
        return value

    def calls_echo(ctx: task.OrchestrationContext, value: int):
        return (yield ctx.call_activity(echo, input=value))

    w = worker.TaskHubGrpcWorker(host_address=named.sidecar.address, metadata=hub_b)
    w.add_orchestrator(calls_echo)
    w.add_activity(echo)
    with w:
        w.start()
        with client.TaskHubGrpcClient(host_address=named.sidecar.address, metadata=hub_b) as c:
            state = c.wait_for_orchestration_completion(
                c.schedule_new_orchestration(calls_echo, input=5), timeout=30)
        assert state is not None
        assert state.get_output() == 5
        assert w.resiliency_stats()["streamed_completions"] == 3
