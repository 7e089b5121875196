"""The resiliency interceptors and channel managers against a real gRPC server.

Covers M-11 (UNAVAILABLE burst, sync and aio), M-12 (interleaved outcomes), M-13 (long-poll
deadlines never count), R-I2 (``.future()`` stays asynchronous), R-T7, R-T8 and R-O1.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio
import pytest

from durabletask import client
from durabletask.grpc_options import GrpcClientResiliencyOptions
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.transport.channel import ChannelSpec
from durabletask.internal.transport.manager import (
    AsyncChannelManager,
    ManagerPolicy,
    SyncChannelManager,
)
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.transport.fake_sidecar import FakeSidecar
from tests.durabletask.transport.recorder import EventRecorder

U = grpc.StatusCode.UNAVAILABLE
REQ = pb.GetInstanceRequest(instanceId="i")


def _policy(**overrides: Any) -> ManagerPolicy:
    values: dict[str, Any] = dict(threshold=3, cooldown_seconds=60.0, linger_seconds=3.0,
                                  max_linger_seconds=6.0, default_call_timeout=5.0)
    values.update(overrides)
    return ManagerPolicy(**values)


def _sync_manager(address: str, **overrides: Any) -> SyncChannelManager:
    spec = ChannelSpec.from_args(address)
    return SyncChannelManager(
        target=address, owner="client", policy=_policy(**overrides),
        stub_factory=pb_grpc.TaskHubSidecarServiceStub,
        open_channel=lambda first: spec.open_sync(first),
    )


def _call_sync(manager: SyncChannelManager, **kwargs: Any) -> grpc.StatusCode:
    try:
        manager.current.stub.GetInstance(REQ, **kwargs)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_sync_unavailable_burst_recreates_once_per_cooldown(fake: FakeSidecar,
                                                            events: EventRecorder):
    fake.script.extend([U] * 9)
    manager = _sync_manager(fake.address)
    try:
        first = [_call_sync(manager) for _ in range(3)]
        poll_until(lambda: events.count("channel_recreated"), timeout=5)
        rest = [_call_sync(manager) for _ in range(6)]
        assert first + rest == [U] * 9
        assert manager.current.generation == 2
        assert events.count("channel_recreated") == 1
        assert manager.stats()["recreations_suppressed_cooldown"] >= 1
        assert _call_sync(manager) is grpc.StatusCode.OK
        assert manager.stats()["consecutive_failures"] == 0
    finally:
        manager.close()


def test_sync_failing_call_raises_its_original_error_without_waiting_for_recreation(
    fake: FakeSidecar,
):
    fake.script.extend([U])
    spec = ChannelSpec.from_args(fake.address)
    opened, release = [], threading.Event()

    def held_open(first: Sequence[Any]) -> grpc.Channel:
        if opened:  # the recreation the failure trips: held until the caller has its error
            release.wait(10)
        opened.append(spec.open_sync(first))
        return opened[-1]

    manager = SyncChannelManager(
        target=fake.address, owner="client", policy=_policy(threshold=1),
        stub_factory=pb_grpc.TaskHubSidecarServiceStub, open_channel=held_open,
    )
    try:
        with pytest.raises(grpc.RpcError) as info:
            manager.current.stub.GetInstance(REQ)
        assert info.value.code() is U
        assert info.value.details() == "scripted UNAVAILABLE"
        # The error came back while the recreation it started is still held open.
        assert manager.current.generation == 1
    finally:
        release.set()
        manager.close()


@pytest.mark.parametrize(
    ("middle", "recreations"),
    [(grpc.StatusCode.OK, 0), (grpc.StatusCode.NOT_FOUND, 0), ("long-poll", 1)],
)
def test_sync_interleaved_outcomes_reset_or_stay_neutral(fake: FakeSidecar,
                                                         events: EventRecorder,
                                                         middle: Any, recreations: int):
    manager = _sync_manager(fake.address)
    try:
        fake.script.extend([U, U])
        _call_sync(manager)
        _call_sync(manager)
        if middle == "long-poll":
            with pytest.raises(grpc.RpcError):
                manager.current.stub.WaitForInstanceCompletion(REQ, timeout=0.05)
        else:
            fake.script.append(middle)
            _call_sync(manager)
        fake.script.append(U)
        _call_sync(manager)
        if recreations:
            poll_until(lambda: events.count("channel_recreated"), timeout=5)
        assert events.count("channel_recreated") == recreations
    finally:
        manager.close()


@pytest.mark.slow
def test_sync_long_poll_deadlines_never_count_as_transport_failures(
    fake: FakeSidecar, events: EventRecorder
):
    with client.TaskHubGrpcClient(
        host_address=fake.address,
        resiliency_options=GrpcClientResiliencyOptions(channel_recreate_failure_threshold=3,
                                                       min_recreate_interval_seconds=0),
    ) as c:
        for _ in range(9):
            with pytest.raises(TimeoutError):
                c.wait_for_orchestration_completion("i", timeout=0.05)
    assert events.count("transport_failure") == 0
    assert events.count("channel_recreated") == 0


def test_sync_future_call_is_not_blocked_by_the_interceptor(fake: FakeSidecar):
    fake.get_delay = 10.0  # the server holds the call until get_release is set
    manager = _sync_manager(fake.address)
    try:
        future = manager.current.stub.GetInstance.future(REQ)
        assert not future.done()  # returned while the server still holds the call
        fake.get_release.set()
        assert future.result(timeout=5).exists is False
    finally:
        manager.close()


def test_sync_default_deadline_bounds_a_hanging_call_and_counts(fake: FakeSidecar,
                                                                events: EventRecorder):
    fake.get_delay = 10.0  # without the default deadline the call would end OK after this
    manager = _sync_manager(fake.address, default_call_timeout=0.3)
    try:
        assert _call_sync(manager) is grpc.StatusCode.DEADLINE_EXCEEDED
        assert events.count("transport_failure") == 1
    finally:
        manager.close()


def test_streaming_failures_are_not_counted(fake: FakeSidecar):
    manager = _sync_manager(fake.address, threshold=1)
    try:
        for _ in range(10):
            with pytest.raises(grpc.RpcError):
                list(manager.current.stub.StreamInstanceHistory(
                    pb.StreamInstanceHistoryRequest(instanceId="i")))
        assert manager.stats()["consecutive_failures"] == 0
        assert manager.current.generation == 1
    finally:
        manager.close()


class _CountingChannel(grpc.Channel):
    """A caller-owned channel that counts close() calls and delegates the rest."""

    def __init__(self, inner: grpc.Channel) -> None:
        self.inner = inner
        self.closes = 0

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        self.inner.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        self.inner.unsubscribe(callback)

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.unary_unary(*args, **kwargs)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.unary_stream(*args, **kwargs)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.stream_unary(*args, **kwargs)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.stream_stream(*args, **kwargs)

    def close(self) -> None:
        self.closes += 1
        self.inner.close()


@pytest.mark.slow
def test_caller_owned_channel_is_never_recreated_nor_closed(fake: FakeSidecar,
                                                            events: EventRecorder):
    channel = _CountingChannel(grpc.insecure_channel(fake.address))
    try:
        c = client.TaskHubGrpcClient(
            channel=channel, host_address=fake.address,
            resiliency_options=GrpcClientResiliencyOptions(channel_recreate_failure_threshold=1,
                                                           min_recreate_interval_seconds=0))
        fake.script.extend([U] * 9)  # reads are tried 3 times each
        for _ in range(3):
            with pytest.raises(grpc.RpcError):
                c.get_orchestration_state("i")
        c.close()
        assert channel.closes == 0
        assert events.count("channel_recreated") == 0
        assert events.count("transport_failure") == 9
        pb_grpc.TaskHubSidecarServiceStub(channel).GetInstance(REQ, timeout=5)
    finally:
        channel.inner.close()


def _aio_manager(address: str, user: Sequence[Any] = (), **overrides: Any
                 ) -> AsyncChannelManager:
    # Call from a coroutine: the manager binds to the running loop.
    spec = ChannelSpec.from_args(address)
    return AsyncChannelManager(
        target=address, owner="async_client", policy=_policy(**overrides),
        stub_factory=pb_grpc.TaskHubSidecarServiceStub,
        open_channel=lambda first: spec.open_aio([*first, *user]),
    )


async def test_aio_unavailable_burst_recreates_exactly_once(fake: FakeSidecar,
                                                            events: EventRecorder):
    fake.script.extend([U] * 9)
    manager = _aio_manager(fake.address)
    try:
        codes = []
        for _ in range(9):
            try:
                await manager.current.stub.GetInstance(REQ)
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())
        assert codes == [U] * 9
        assert manager.current.generation == 2
        assert events.count("channel_recreated") == 1
        await manager.current.stub.GetInstance(REQ)
        assert manager.stats()["consecutive_failures"] == 0
    finally:
        await manager.close()  # noqa: ASYNC102 - asyncio has no cancel scopes


@pytest.mark.slow
async def test_aio_long_poll_deadlines_never_count(fake: FakeSidecar, events: EventRecorder):
    async with client.AsyncTaskHubGrpcClient(
        host_address=fake.address,
        resiliency_options=GrpcClientResiliencyOptions(channel_recreate_failure_threshold=3,
                                                       min_recreate_interval_seconds=0),
    ) as c:
        for _ in range(9):
            with pytest.raises(TimeoutError):
                await c.wait_for_orchestration_completion("i", timeout=0.05)
    assert events.count("transport_failure") == 0
    assert events.count("channel_recreated") == 0


@pytest.mark.slow
async def test_aio_deadline_on_a_normal_call_counts(fake: FakeSidecar, events: EventRecorder):
    fake.get_delay = 1.0
    manager = _aio_manager(fake.address, default_call_timeout=0.2)
    try:
        for _ in range(3):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await manager.current.stub.GetInstance(REQ)
            assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert events.count("transport_failure") == 3
        assert manager.current.generation == 2
    finally:
        await manager.close()  # noqa: ASYNC102 - asyncio has no cancel scopes
