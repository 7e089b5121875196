"""Running the sidecar: EmbeddedSidecar lifecycle, serve() and durabletask.testing."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask import testing
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.sidecar import EmbeddedSidecar, serve
from durabletask.testing import VirtualClock
from tests.durabletask.helpers.wait import poll_until


def _hello(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        pb_grpc.TaskHubSidecarServiceStub(channel).Hello(empty_pb2.Empty(), timeout=5)


def test_embedded_sidecar_binds_loopback_and_stops_idempotently():
    sidecar = EmbeddedSidecar(port=0)
    sidecar.stop()  # safe before start
    address = sidecar.start()
    try:
        assert address == f"127.0.0.1:{sidecar.port}" == sidecar.address
        assert sidecar.port > 0
        assert sidecar.start() == address  # second start is a no-op
        _hello(address)
    finally:
        sidecar.stop()
        sidecar.stop()
    with pytest.raises(grpc.RpcError), grpc.insecure_channel(address) as channel:
        pb_grpc.TaskHubSidecarServiceStub(channel).Hello(empty_pb2.Empty(), timeout=0.5)


def test_embedded_sidecar_works_as_context_manager():
    with EmbeddedSidecar(port=0) as sidecar:
        _hello(sidecar.address)


def test_embedded_sidecar_reports_a_taken_port_clearly():
    with EmbeddedSidecar(port=0) as first:
        second = EmbeddedSidecar(port=first.port)
        with pytest.raises(RuntimeError, match="could not bind"):
            second.start()
        second.stop()


def test_stop_ends_open_worker_streams():
    clock = VirtualClock()
    sidecar = EmbeddedSidecar(port=0, clock=clock)
    sidecar.start()
    channel = grpc.insecure_channel(sidecar.address)
    try:
        stream = pb_grpc.TaskHubSidecarServiceStub(channel).GetWorkItems(
            pb.GetWorkItemsRequest(), timeout=10
        )
        poll_until(lambda: clock.next_deadline() is not None, timeout=5,
                   message="the stream to wait for its first ping")
        clock.advance(5.0)  # the default ping interval
        assert next(stream).HasField("healthPing")  # the stream is open
        sidecar.stop(grace=1.0)
        rest = list(stream)  # ends gracefully, without an error status
        assert all(item.HasField("healthPing") for item in rest)
    finally:
        channel.close()


def test_create_test_backend_is_started_and_reset_clears_instances():
    backend = testing.create_test_backend(port=0)
    try:
        assert isinstance(backend, testing.InMemoryOrchestrationBackend)
        assert backend.address.startswith("127.0.0.1:")
        with grpc.insecure_channel(backend.address) as channel:
            stub = pb_grpc.TaskHubSidecarServiceStub(channel)
            stub.StartInstance(pb.CreateInstanceRequest(instanceId="i1", name="o"), timeout=5)
            waiting = stub.WaitForInstanceCompletion.future(
                pb.GetInstanceRequest(instanceId="i1"), timeout=5
            )
            backend.reset()
            response = stub.GetInstance(pb.GetInstanceRequest(instanceId="i1"), timeout=5)
            assert response.exists is False
            assert waiting.result().exists is False
    finally:
        backend.stop()


def test_testing_module_exports_match_the_official_names():
    assert testing.__all__ == ["InMemoryOrchestrationBackend", "create_test_backend"]


async def test_serve_runs_in_the_current_loop_until_cancelled():
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(port=0, on_ready=ready.set_result))
    address = await asyncio.wait_for(ready, 5)
    async with grpc.aio.insecure_channel(address) as channel:
        await pb_grpc.TaskHubSidecarServiceStub(channel).Hello(empty_pb2.Empty(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
