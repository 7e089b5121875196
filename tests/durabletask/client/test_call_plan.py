"""The call plan alone: feed it outcomes, assert the steps it yields (no channel, no I/O)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import grpc
import grpc.aio
import pytest

from durabletask.errors import ClientClosedError, PayloadTooLargeError
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.requests.call_plan import (
    MAX_RESENDS,
    Attempt,
    Attempted,
    Offload,
    Resolve,
    Sleep,
    Step,
    call_plan,
)
from durabletask.internal.requests.calls import Call, ClientSettings
from durabletask.internal.transport.errors import SidecarError, SidecarUnavailableError
from durabletask.internal.transport.inflight import LeaseClosedError

METADATA = (("x-test", "1"),)


class _Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _status(code: grpc.StatusCode) -> grpc.RpcError:
    # A real grpc.aio error object, as a failed call raises it.
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "boom")


def _plan(method: str = "GetInstance", *, closed: list[bool] | None = None,
          payloads: bool = False, streaming: bool = False, timeout: float | None = 30.0,
          max_send_bytes: int | None = 1024) -> Generator[Step, Any, Any]:
    flag = closed if closed is not None else [False]
    call = Call(method, pb.GetInstanceRequest(instanceId="abc"), "abc", timeout, streaming)
    settings = ClientSettings(address="127.0.0.1:1", max_send_bytes=max_send_bytes)
    return call_plan(call, settings, METADATA, owner="TaskHubGrpcClient",
                     closed=lambda: flag[0], payloads=payloads, clock=_Clock(),
                     rng=lambda: 0.5)


def _finish(plan: Generator[Step, Any, Any], outcome: Any) -> Any:
    with pytest.raises(StopIteration) as done:
        plan.send(outcome)
    return done.value.value


def test_a_success_is_one_attempt_with_the_deadline_and_metadata():
    plan = _plan()
    step = plan.send(None)
    assert isinstance(step, Attempt)
    assert step.kwargs == {"timeout": 30.0, "metadata": METADATA}
    assert _finish(plan, Attempted("response")) == "response"


def test_a_retryable_status_then_success_yields_attempt_sleep_attempt():
    plan = _plan("GetInstance")
    steps = [plan.send(None)]
    steps.append(plan.send(Attempted(error=_status(grpc.StatusCode.UNAVAILABLE))))
    steps.append(plan.send(None))
    assert [type(step) for step in steps] == [Attempt, Sleep, Attempt]
    sleep = steps[1]
    assert isinstance(sleep, Sleep)
    assert 0 < sleep.seconds <= 0.1  # the first full-jitter delay (RETRY_BASE_SECONDS)
    assert (sleep.code, sleep.attempt, sleep.method) == (
        grpc.StatusCode.UNAVAILABLE, 1, "/TaskHubSidecarService/GetInstance",
    )
    assert _finish(plan, Attempted("second")) == "second"


def test_a_retired_channel_yields_a_resend_without_a_sleep():
    # A call on a state-changing method (never retried on a status) is still resent at
    # once when its channel was closed under it: the request never left the process.
    plan = _plan("RaiseEvent")
    first = plan.send(None)
    again = plan.send(Attempted(error=LeaseClosedError("retired"), retired=True))
    assert isinstance(first, Attempt)
    assert isinstance(again, Attempt)
    assert _finish(plan, Attempted("ok")) == "ok"


def test_resends_are_bounded():
    plan = _plan("RaiseEvent")
    plan.send(None)
    for _ in range(MAX_RESENDS):
        assert isinstance(plan.send(Attempted(error=ValueError("closed"), retired=True)),
                          Attempt)
    with pytest.raises(ValueError, match="closed"):
        plan.send(Attempted(error=ValueError("closed"), retired=True))


def test_a_closed_channel_that_was_not_retired_is_not_resent():
    plan = _plan("GetInstance")
    plan.send(None)
    with pytest.raises(LeaseClosedError):
        plan.send(Attempted(error=LeaseClosedError("closed"), retired=False))


def test_a_channel_closed_by_closing_the_client_raises_client_closed():
    closed = [False]
    plan = _plan(closed=closed)
    plan.send(None)
    closed[0] = True
    with pytest.raises(ClientClosedError, match="TaskHubGrpcClient is closed"):
        plan.send(Attempted(error=ValueError("closed"), retired=True))


def test_a_non_retryable_status_raises_the_translated_error():
    plan = _plan("StartInstance")
    plan.send(None)
    error = _status(grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(SidecarUnavailableError) as raised:
        plan.send(Attempted(error=error))
    assert raised.value.__cause__ is error
    assert "StartInstance" in str(raised.value)


def test_a_retryable_status_is_not_retried_once_the_client_is_closed():
    closed = [False]
    plan = _plan("GetInstance", closed=closed)
    plan.send(None)
    closed[0] = True
    with pytest.raises(SidecarUnavailableError):
        plan.send(Attempted(error=_status(grpc.StatusCode.UNAVAILABLE)))


def test_an_error_already_translated_is_neither_retried_nor_translated_again():
    # An interceptor (or an inner layer) that raised the SDK's own error decided already.
    translated = SidecarUnavailableError(
        "already said", code=grpc.StatusCode.UNAVAILABLE, details="x", method="GetInstance",
        address="127.0.0.1:1", instance_id="abc")
    plan = _plan("GetInstance")
    plan.send(None)
    with pytest.raises(SidecarUnavailableError) as raised:
        plan.send(Attempted(error=translated))
    assert raised.value is translated


def test_a_non_retryable_status_on_a_read_is_translated_at_once():
    plan = _plan("GetInstance")
    plan.send(None)
    with pytest.raises(SidecarError) as raised:
        plan.send(Attempted(error=_status(grpc.StatusCode.PERMISSION_DENIED)))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_payloads_are_offloaded_before_and_resolved_after():
    plan = _plan(payloads=True, streaming=True)
    offload = plan.send(None)
    assert isinstance(offload, Offload)
    assert offload.instance_id == "abc"
    assert isinstance(plan.send(None), Attempt)
    resolve = plan.send(Attempted(["m1", "m2"]))
    assert isinstance(resolve, Resolve)
    assert resolve.messages == ("m1", "m2")
    assert _finish(plan, None) == ["m1", "m2"]


def test_a_closed_client_sends_nothing():
    plan = _plan(closed=[True], payloads=True)
    with pytest.raises(ClientClosedError):
        plan.send(None)


def test_an_oversized_request_is_refused_before_any_attempt():
    plan = _plan(max_send_bytes=2)
    with pytest.raises(PayloadTooLargeError):
        plan.send(None)
