"""The shared request mapping: requests built and responses mapped, without I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from google.protobuf import wrappers_pb2

from durabletask.client import (
    OrchestrationQuery,
    OrchestrationStatus,
    Page,
    PurgeInstancesResult,
)
from durabletask.errors import PayloadTooLargeError
from durabletask.grpc_options import GrpcChannelOptions
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests import Call, ClientSettings, flows, max_send_bytes
from durabletask.internal.requests.inputs import validate_instance_id
from tests.durabletask.client.flow_driver import drive

SETTINGS = ClientSettings(address="127.0.0.1:9")


def my_orchestrator(ctx: object, value: object) -> None:
    return None


def test_schedule_builds_create_instance_request_with_all_fields() -> None:
    policy = pb.OrchestrationIdReusePolicy(replaceableStatus=[pb.ORCHESTRATION_STATUS_FAILED])
    flow = flows.schedule_new_orchestration(
        SETTINGS, my_orchestrator, input={"x": [1, 2]}, instance_id="abc",
        start_at=datetime(2030, 1, 2, 3, 4, 5), reuse_id_policy=policy,
        tags={"team": "a"}, version="2.0",
    )
    calls, result = drive(flow, [pb.CreateInstanceResponse(instanceId="abc")])
    request = calls[0].request
    assert (calls[0].method, calls[0].instance_id, result) == ("StartInstance", "abc", "abc")
    assert request.name == "my_orchestrator"
    assert request.input.value == '{"x": [1, 2]}'
    assert request.version.value == "2.0"
    assert request.scheduledStartTimestamp.ToDatetime() == datetime(2030, 1, 2, 3, 4, 5)
    assert list(request.orchestrationIdReusePolicy.replaceableStatus) == [
        pb.ORCHESTRATION_STATUS_FAILED
    ]
    assert dict(request.tags) == {"team": "a"}


def test_schedule_defaults_to_uuid4_hex_id_and_client_default_version() -> None:
    settings = ClientSettings(address="a", default_version="1.5")
    calls, result = drive(
        flows.schedule_new_orchestration(settings, "name"), [pb.CreateInstanceResponse()]
    )
    request = calls[0].request
    assert len(result) == 32
    assert int(result, 16) >= 0
    assert request.instanceId == result
    assert request.version.value == "1.5"
    assert not request.HasField("input")


def test_schedule_converts_aware_start_time_to_utc() -> None:
    aware = datetime(2030, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    calls, _ = drive(
        flows.schedule_new_orchestration(SETTINGS, "o", start_at=aware),
        [pb.CreateInstanceResponse()],
    )
    assert calls[0].request.scheduledStartTimestamp.ToDatetime() == datetime(2030, 1, 1, 10, 0)


@pytest.mark.parametrize(
    ("instance_id", "message"),
    [("", "must not be empty"), ("x" * 257, "257 characters"), ("a\nb", "control character"),
     ("a\x00", "control character"), (5, "must be a str")],
)
def test_validate_instance_id_rejects_bad_ids(instance_id: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_instance_id(instance_id)


def test_validate_instance_id_accepts_256_printable_characters() -> None:
    assert validate_instance_id("é" * 256) == "é" * 256


def test_schedule_rejects_lambda_orchestrator_before_any_call() -> None:
    with pytest.raises(ValueError, match="cannot tell the name"):
        next(flows.schedule_new_orchestration(SETTINGS, lambda ctx, x: x))


def test_schedule_unserialisable_input_raises_type_error_naming_argument_and_type() -> None:
    with pytest.raises(TypeError, match=r"cannot serialise input of type object"):
        next(flows.schedule_new_orchestration(SETTINGS, "o", input=object()))


def test_raise_event_unserialisable_data_raises_type_error_naming_data() -> None:
    with pytest.raises(TypeError, match=r"cannot serialise data of type set|data of type"):
        next(flows.raise_orchestration_event(SETTINGS, "i", "e", data={1j}))


def test_get_state_maps_missing_instance_to_none() -> None:
    calls, result = drive(
        flows.get_orchestration_state(SETTINGS, "i", fetch_payloads=False),
        [pb.GetInstanceResponse(exists=False)],
    )
    assert result is None
    assert calls[0].request.getInputsAndOutputs is False


def _state(instance_id: str, status: int = pb.ORCHESTRATION_STATUS_COMPLETED,
           **kwargs: object) -> pb.OrchestrationState:
    state = pb.OrchestrationState(instanceId=instance_id, name="o", orchestrationStatus=status,
                                  **kwargs)
    state.createdTimestamp.FromDatetime(datetime(2024, 5, 6, 7, 8, 9))
    state.lastUpdatedTimestamp.FromDatetime(datetime(2024, 5, 6, 7, 8, 10))
    return state


@dataclass
class Point:
    x: int
    y: int


def test_get_state_maps_fields_and_payloads() -> None:
    state = _state(
        "i", input=wrappers_pb2.StringValue(value='{"x": 1, "y": 2}'),
        output=wrappers_pb2.StringValue(value="42"),
        customStatus=wrappers_pb2.StringValue(value='"busy"'),
    )
    _, result = drive(flows.get_orchestration_state(SETTINGS, "i"),
                      [pb.GetInstanceResponse(exists=True, orchestrationState=state)])
    assert result.runtime_status is OrchestrationStatus.COMPLETED
    assert result.created_at == datetime(2024, 5, 6, 7, 8, 9)
    assert result.created_at.tzinfo is None
    assert result.get_input(Point) == Point(1, 2)
    assert result.get_output() == 42
    assert result.get_custom_status() == "busy"
    assert result.failure_details is None


def test_wait_for_completion_sets_long_poll_deadline_and_method() -> None:
    calls, _ = drive(
        flows.wait_for_orchestration(SETTINGS, "i", completion=True, fetch_payloads=True,
                                     timeout=2.5),
        [pb.GetInstanceResponse()],
    )
    assert (calls[0].method, calls[0].timeout) == ("WaitForInstanceCompletion", 2.5)
    assert SETTINGS.deadline(calls[0]) == 2.5


def test_wait_rejects_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout must be > 0"):
        next(flows.wait_for_orchestration(SETTINGS, "i", completion=False,
                                          fetch_payloads=False, timeout=0))


def test_default_call_timeout_applies_to_every_call_without_deadline() -> None:
    settings = ClientSettings(address="a", default_call_timeout=7.0)
    unary = Call("GetInstance", pb.GetInstanceRequest())
    stream = Call("StreamInstanceHistory", pb.StreamInstanceHistoryRequest(), streaming=True)
    timed = Call("WaitForInstanceCompletion", pb.GetInstanceRequest(), timeout=60.0)
    assert settings.deadline(unary) == 7.0
    assert settings.deadline(stream) == 7.0  # a stream on a dead connection never ends
    assert settings.deadline(timed) == 60.0


def test_get_all_states_follows_continuation_tokens_until_empty() -> None:
    query = OrchestrationQuery(runtime_status=[OrchestrationStatus.RUNNING],
                               instance_id_prefix="p", fetch_inputs_and_outputs=True)
    first = pb.QueryInstancesResponse(orchestrationState=[_state("a")],
                                      continuationToken=wrappers_pb2.StringValue(value="t1"))
    second = pb.QueryInstancesResponse(orchestrationState=[_state("b")])
    calls, result = drive(flows.get_all_orchestration_states(SETTINGS, query), [first, second])
    assert [s.instance_id for s in result] == ["a", "b"]
    assert len(calls) == 2
    wire = calls[1].request.query
    assert wire.continuationToken.value == "t1"
    assert list(wire.runtimeStatus) == [pb.ORCHESTRATION_STATUS_RUNNING]
    assert wire.instanceIdPrefix.value == "p"
    assert wire.fetchInputsAndOutputs


def test_get_all_states_stops_when_sidecar_repeats_a_token() -> None:
    page = pb.QueryInstancesResponse(continuationToken=wrappers_pb2.StringValue(value="same"))
    calls, result = drive(flows.get_all_orchestration_states(SETTINGS), [page, page])
    assert len(calls) == 2
    assert result == []


def test_list_instance_ids_maps_page_and_token() -> None:
    response = pb.ListInstanceIdsResponse(
        instanceIds=["a", "b"], lastInstanceKey=wrappers_pb2.StringValue(value="k")
    )
    calls, page = drive(
        flows.list_instance_ids(SETTINGS, [OrchestrationStatus.COMPLETED], page_size=2,
                                continuation_token="prev"),
        [response],
    )
    assert page == Page(items=["a", "b"], continuation_token="k")
    assert calls[0].request.pageSize == 2
    assert calls[0].request.lastInstanceKey.value == "prev"


def test_list_instance_ids_last_page_has_no_token() -> None:
    _, page = drive(flows.list_instance_ids(SETTINGS), [pb.ListInstanceIdsResponse()])
    assert page == Page(items=[], continuation_token=None)


def test_terminate_builds_request_with_serialised_output() -> None:
    calls, _ = drive(flows.terminate_orchestration(SETTINGS, "i", output={"r": 1},
                                                   recursive=False), [pb.TerminateResponse()])
    assert calls[0].request.output.value == '{"r": 1}'
    assert calls[0].request.recursive is False


@pytest.mark.parametrize(
    ("flow_fn", "method"),
    [(flows.suspend_orchestration, "SuspendInstance"),
     (flows.resume_orchestration, "ResumeInstance"),
     (flows.rewind_orchestration, "RewindInstance")],
)
def test_lifecycle_requests_carry_reason(flow_fn: object, method: str) -> None:
    calls, _ = drive(flow_fn(SETTINGS, "i", reason="because"), [None])  # type: ignore[operator]
    assert calls[0].method == method
    assert calls[0].request.reason.value == "because"


def test_restart_returns_the_new_instance_id() -> None:
    calls, result = drive(
        flows.restart_orchestration(SETTINGS, "i", restart_with_new_instance_id=True),
        [pb.RestartInstanceResponse(instanceId="new")],
    )
    assert result == "new"
    assert calls[0].request.restartWithNewInstanceId is True


def test_purge_by_rejects_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout must be a timedelta > 0"):
        next(flows.purge_orchestrations_by(SETTINGS, timeout=timedelta(0)))


def test_purge_by_maps_filter_and_result() -> None:
    response = pb.PurgeInstancesResponse(deletedInstanceCount=3,
                                         isComplete=wrappers_pb2.BoolValue(value=False))
    calls, result = drive(
        flows.purge_orchestrations_by(SETTINGS, created_time_from=datetime(2024, 1, 1),
                                      runtime_status=[OrchestrationStatus.FAILED],
                                      timeout=timedelta(seconds=5)),
        [response],
    )
    purge_filter = calls[0].request.purgeInstanceFilter
    assert purge_filter.timeout.ToTimedelta() == timedelta(seconds=5)
    assert list(purge_filter.runtimeStatus) == [pb.ORCHESTRATION_STATUS_FAILED]
    assert result == PurgeInstancesResult(deleted_instance_count=3, is_complete=False)


def test_purge_one_maps_missing_is_complete_to_none() -> None:
    _, result = drive(flows.purge_orchestration(SETTINGS, "i"),
                      [pb.PurgeInstancesResponse(deletedInstanceCount=1)])
    assert result == PurgeInstancesResult(1, None)


def test_check_size_refuses_request_over_limit_naming_size_and_limit() -> None:
    settings = ClientSettings(address="a", max_send_bytes=100)
    call = Call("RaiseEvent", pb.RaiseEventRequest(instanceId="i", name="x" * 200), "i")
    with pytest.raises(PayloadTooLargeError, match=r"RaiseEvent request for instance 'i' is "
                       r"\d+ bytes, larger than the gRPC message limit of 100") as info:
        settings.check_size(call)
    assert isinstance(info.value, ValueError)
    assert "max_send_message_length" in str(info.value)


def test_max_send_bytes_defaults_to_4_mib_and_honours_options() -> None:
    assert max_send_bytes(None) == 4 * 1024 * 1024
    assert max_send_bytes(GrpcChannelOptions(max_send_message_length=10)) == 10
    assert max_send_bytes(GrpcChannelOptions(max_send_message_length=-1)) is None
