"""The client's single call path over real gRPC: errors, deadlines, metadata, ownership."""

from __future__ import annotations

import pickle
import socket
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import grpc.aio
import pytest

from durabletask import client
from durabletask.errors import (
    ClientClosedError,
    DurableTaskError,
    SidecarError,
    SidecarUnavailableError,
)
from durabletask.history import EventRaisedEvent
from tests.durabletask.client.scripted_sidecar import ScriptedSidecar


@pytest.fixture
def scripted() -> Iterator[ScriptedSidecar]:
    server = ScriptedSidecar()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dead_address() -> str:
    # A port that was just bound and released without listening: connections are refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def test_unreachable_sidecar_raises_sidecar_unavailable_naming_address_and_rpc(
    dead_address: str,
) -> None:
    with client.TaskHubGrpcClient(host_address=dead_address) as c:
        with pytest.raises(SidecarUnavailableError) as info:
            c.schedule_new_orchestration("orch", instance_id="abc")
    error = info.value
    assert f"cannot reach the Durable Task sidecar at {dead_address} (StartInstance" in str(error)
    assert "'abc'" in str(error)
    assert "Is the sidecar running" in str(error)
    assert isinstance(error, grpc.RpcError)
    assert isinstance(error, DurableTaskError)
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert error.transport_failure
    assert isinstance(error.__cause__, grpc.RpcError)
    assert not isinstance(error.__cause__, SidecarError)


async def test_async_unreachable_sidecar_is_catchable_as_grpc_rpc_error(
    dead_address: str,
) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=dead_address) as c:
        with pytest.raises(grpc.RpcError) as info:
            await c.get_orchestration_state("abc")
    assert isinstance(info.value, SidecarUnavailableError)
    assert "(GetInstance for instance 'abc')" in str(info.value)


def test_error_status_keeps_its_code_and_names_method_and_instance(
    scripted: ScriptedSidecar,
) -> None:
    with client.TaskHubGrpcClient(host_address=scripted.address) as c:
        with pytest.raises(SidecarError) as info:
            c.get_orchestration_state("not-found")
    error = info.value
    assert not isinstance(error, SidecarUnavailableError)
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert error.details() == "scripted NOT_FOUND"
    assert (error.method, error.address, error.instance_id) == (
        "GetInstance", scripted.address, "not-found")
    assert str(error) == (f"the Durable Task sidecar at {scripted.address} failed GetInstance "
                          "for instance 'not-found': NOT_FOUND: scripted NOT_FOUND")


def test_sidecar_error_survives_pickling() -> None:
    error = SidecarError("msg", code=grpc.StatusCode.INTERNAL, details="d", method="M",
                         address="a", instance_id="i")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.code(), copy.details(), copy.instance_id) == (
        "msg", grpc.StatusCode.INTERNAL, "d", "i")


@pytest.mark.slow
def test_wait_for_completion_deadline_raises_builtin_timeout_error(
    scripted: ScriptedSidecar,
) -> None:
    with client.TaskHubGrpcClient(host_address=scripted.address) as c:
        with pytest.raises(TimeoutError, match=r"0.3 seconds waiting for orchestration 'i' "
                           r"to complete") as info:
            c.wait_for_orchestration_completion("i", timeout=0.3)
    assert not isinstance(info.value, grpc.RpcError)
    assert info.value.__cause__.code() is grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore


@pytest.mark.slow
async def test_async_wait_for_completion_deadline_raises_timeout_error(
    scripted: ScriptedSidecar,
) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=scripted.address) as c:
        with pytest.raises(TimeoutError, match="'i'"):
            await c.wait_for_orchestration_completion("i", timeout=0.3)


def test_metadata_is_sent_with_every_call_and_never_mutated(scripted: ScriptedSidecar) -> None:
    metadata = [("x-team", "blue")]
    with client.TaskHubGrpcClient(host_address=scripted.address, metadata=metadata) as c:
        c.raise_orchestration_event("i", "go", data=1)
        c.get_orchestration_state("i")
    assert metadata == [("x-team", "blue")]
    assert [call[2].get("x-team") for call in scripted.calls] == ["blue", "blue"]


class _HeaderInterceptor(grpc.UnaryUnaryClientInterceptor):
    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any,
                              request: Any) -> Any:
        metadata = list(details.metadata or []) + [("x-intercepted", "sync")]
        return continuation(details._replace(metadata=metadata), request)


class _AioHeaderInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any,
                                    request: Any) -> Any:
        metadata = grpc.aio.Metadata(*(details.metadata or ()), ("x-intercepted", "aio"))
        return await continuation(details._replace(metadata=metadata), request)


def test_sync_interceptors_see_every_call(scripted: ScriptedSidecar) -> None:
    with client.TaskHubGrpcClient(host_address=scripted.address,
                                  interceptors=[_HeaderInterceptor()]) as c:
        c.get_orchestration_state("i")
    assert scripted.calls[0][2]["x-intercepted"] == "sync"


async def test_aio_interceptors_see_every_call(scripted: ScriptedSidecar) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=scripted.address,
                                             interceptors=[_AioHeaderInterceptor()]) as c:
        await c.get_orchestration_state("i")
    assert scripted.calls[0][2]["x-intercepted"] == "aio"


def test_history_streams_all_chunks(scripted: ScriptedSidecar) -> None:
    with client.TaskHubGrpcClient(host_address=scripted.address) as c:
        events = c.get_orchestration_history("i", execution_id="e1")
    assert [(type(e), e.event_id) for e in events] == [(EventRaisedEvent, 1),
                                                       (EventRaisedEvent, 2)]
    assert scripted.calls[0][1].executionId.value == "e1"


async def test_async_history_streams_all_chunks(scripted: ScriptedSidecar) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=scripted.address) as c:
        events = await c.get_orchestration_history("i")
    assert [e.name for e in events] == ["e1", "e2"]  # type: ignore[attr-defined]


def test_close_leaves_a_caller_owned_channel_open(scripted: ScriptedSidecar) -> None:
    channel = grpc.insecure_channel(scripted.address)
    try:
        c = client.TaskHubGrpcClient(channel=channel)
        c.get_orchestration_state("i")
        c.close()
        c.close()
        with pytest.raises(ClientClosedError, match="TaskHubGrpcClient is closed"):
            c.get_orchestration_state("i")
        client.TaskHubGrpcClient(channel=channel).get_orchestration_state("i")
    finally:
        channel.close()
    assert len(scripted.calls) == 2


async def test_async_close_leaves_a_caller_owned_channel_open(scripted: ScriptedSidecar) -> None:
    channel = grpc.aio.insecure_channel(scripted.address)
    try:
        c = client.AsyncTaskHubGrpcClient(channel=channel)
        await c.get_orchestration_state("i")
        await c.close()
        with pytest.raises(ClientClosedError):
            await c.get_orchestration_state("i")
        await client.AsyncTaskHubGrpcClient(channel=channel).get_orchestration_state("i")
    finally:
        await channel.close()  # noqa: ASYNC102 - asyncio has no cancel scopes


async def test_async_client_opens_no_channel_before_first_call_and_close_is_safe() -> None:
    c = client.AsyncTaskHubGrpcClient(host_address="127.0.0.1:1")
    await c.close()
    await c.close()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.get_orchestration_state(""), ValueError),
        (lambda c: c.raise_orchestration_event("i", "e", data=object()), TypeError),
        (lambda c: c.schedule_new_orchestration("o", input="x" * (5 * 1024 * 1024)),
         ValueError),
        (lambda c: c.terminate_orchestration("a\tb"), ValueError),
    ],
)
def test_bad_input_is_refused_before_any_rpc(
    scripted: ScriptedSidecar, call: Callable[[Any], Any], error: type
) -> None:
    with client.TaskHubGrpcClient(host_address=scripted.address) as c:
        with pytest.raises(error):
            call(c)
    assert scripted.calls == []


async def test_async_bad_input_is_refused_before_any_rpc(scripted: ScriptedSidecar) -> None:
    async with client.AsyncTaskHubGrpcClient(host_address=scripted.address) as c:
        with pytest.raises(ValueError, match="instance_id"):
            await c.get_orchestration_state("x" * 300)
        with pytest.raises(TypeError, match="input"):
            await c.schedule_new_orchestration("o", input={1, 2j})
    assert scripted.calls == []
