"""Requests the sidecar cannot use get INVALID_ARGUMENT, and answers it refuses fail at once.

* Undecodable request bytes, on every RPC of the service (entity RPCs included, and our
  admin extension's), get
  INVALID_ARGUMENT naming the RPC, never UNKNOWN with a Python class name.
* An orchestrator answer with actions the sidecar refuses (a 300-character or multi-line
  sub-orchestration id, a multi-line event name, a control character in an activity name,
  two actions with one id) fails the instance at once with the validation message: it is
  not a lost worker, and redelivering the episode could not fix it.
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import sidecar_admin_pb2 as admin
from tests.durabletask.sidecar.fake_worker import (
    schedule_task,
    send_event,
    sub_orchestration,
)

SERVICE = pb.DESCRIPTOR.services_by_name["TaskHubSidecarService"]
ADMIN = admin.DESCRIPTOR.services_by_name["SidecarAdmin"]
# A length-delimited field 1 whose length runs past the end: no message decodes it.
UNDECODABLE = b"\x0a\xff\xff\xff\x0f"


def _call_raw(channel: grpc.Channel, method, metadata=()) -> grpc.RpcError:
    path = f"/{method.containing_service.full_name}/{method.name}"
    if method.server_streaming:
        call = channel.unary_stream(path)

        def send() -> object:
            return list(call(UNDECODABLE, timeout=5, metadata=metadata))
    else:
        unary = channel.unary_unary(path)

        def send() -> object:
            return unary(UNDECODABLE, timeout=5, metadata=metadata)
    with pytest.raises(grpc.RpcError) as info:
        send()
    return info.value


def test_undecodable_bytes_are_invalid_argument_on_every_rpc(harness):
    methods = [*SERVICE.methods, *ADMIN.methods]
    assert len(SERVICE.methods) >= 29  # the orchestration and entity RPCs of the service

    refused = {m.name: _call_raw(harness.channel, m) for m in methods}

    assert {name: e.code() for name, e in refused.items()} == dict.fromkeys(
        refused, grpc.StatusCode.INVALID_ARGUMENT)
    for name, error in refused.items():
        assert error.details().startswith(f"{name}: the request could not be decoded")
    assert harness.stub.Hello(empty_pb2.Empty(), timeout=5) == empty_pb2.Empty()


def test_undecodable_bytes_are_invalid_argument_behind_the_token_check(make_harness):
    harness = make_harness(require_token="s3cret")
    method = SERVICE.methods_by_name["GetWorkItems"]
    unary = SERVICE.methods_by_name["SignalEntity"]

    authorized = (("authorization", "Bearer s3cret"),)
    assert _call_raw(harness.channel, method, authorized).code() == (
        grpc.StatusCode.INVALID_ARGUMENT)
    assert _call_raw(harness.channel, unary, authorized).code() == (
        grpc.StatusCode.INVALID_ARGUMENT)
    assert _call_raw(harness.channel, unary).code() == grpc.StatusCode.UNAUTHENTICATED


REFUSED_ACTIONS = {
    "sub-orchestration id of 300 characters": (
        sub_orchestration(1, "child", instance_id="c" * 300), "300 characters long"),
    "sub-orchestration id with a newline": (
        sub_orchestration(1, "child", instance_id="a\nb"), "control characters"),
    "event name with a newline": (send_event(1, "other", "a\nb"), "control characters"),
    "activity named bad\\x01name": (schedule_task(1, "bad\x01name"), "control characters"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_ACTIONS))
def test_an_answer_with_a_refused_action_fails_the_instance_at_once(harness, case):
    action, fragment = REFUSED_ACTIONS[case]
    worker = harness.worker()
    harness.start("refused")
    item = worker.orchestration("refused")

    with pytest.raises(grpc.RpcError) as info:
        worker.complete(item, action)

    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in info.value.details()
    assert "instance 'refused' was failed" in info.value.details()
    state = harness.wait_done("refused")
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
    assert state.failureDetails.errorType == "InvalidAction"
    assert fragment in state.failureDetails.errorMessage
    worker.expect_nothing()


def test_two_actions_with_one_id_are_refused_and_fail_the_instance(harness):
    worker = harness.worker()
    harness.start("twice")
    item = worker.orchestration("twice")

    with pytest.raises(grpc.RpcError) as info:
        worker.complete(item, schedule_task(1, "a"), schedule_task(1, "b"))

    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    state = harness.wait_done("twice")
    assert state.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
    assert "reuses the id of another action" in state.failureDetails.errorMessage
    assert not [e for e in harness.history("twice") if e.HasField("taskScheduled")]
    worker.expect_nothing()
