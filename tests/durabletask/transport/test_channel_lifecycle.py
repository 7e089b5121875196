"""Retired channels on real gRPC: close after drain, linger ceiling, close wins, no leaks."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import grpc
import pytest

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.internal.transport.channel import ChannelSpec
from durabletask.internal.transport.inflight import LeaseClosedError, LeaseState
from durabletask.internal.transport.manager import ManagerPolicy, SyncChannelManager
from durabletask.internal.clock import SYSTEM_CLOCK, Clock
from durabletask.testing import VirtualClock
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.transport.fake_sidecar import FakeSidecar
from tests.durabletask.transport.recorder import EventRecorder

REQ = pb.GetInstanceRequest(instanceId="i")


def _manager(address: str, *, linger: float = 3.0, max_linger: float = 6.0,
             open_channel: Any = None, clock: Clock = SYSTEM_CLOCK) -> SyncChannelManager:
    spec = ChannelSpec.from_args(address)
    return SyncChannelManager(
        target=address, owner="client",
        policy=ManagerPolicy(threshold=3, cooldown_seconds=0.0, linger_seconds=linger,
                             max_linger_seconds=max_linger, default_call_timeout=5.0),
        stub_factory=pb_grpc.TaskHubSidecarServiceStub,
        open_channel=open_channel or (lambda first: spec.open_sync(first)),
        scheduler=clock.start_timer, clock=clock.monotonic,
    )


@pytest.mark.slow
def test_long_poll_in_flight_survives_recreation_and_old_channel_closes_after_it(
    fake: FakeSidecar, events: EventRecorder
):
    manager = _manager(fake.address, clock=VirtualClock())  # linger timers that never fire
    try:
        old = manager.current
        future = old.stub.WaitForInstanceCompletion.future(REQ, timeout=5)
        poll_until(lambda: fake.calls.get("WaitForInstanceCompletion"), timeout=5)
        assert manager.recreate_now() is not None
        assert old.lease.state is LeaseState.RETIRED
        assert manager.current.stub.GetInstance(REQ, timeout=5).exists is False
        assert events.count("channel_closed") == 0
        fake.release.set()
        response = future.result(timeout=5)
        assert response.orchestrationState.orchestrationStatus == (
            pb.ORCHESTRATION_STATUS_COMPLETED)
        # Closed by the drain of its last call: its linger timer (on a clock that never
        # moved) cannot have fired.
        poll_until(lambda: events.count("channel_closed") == 1, timeout=5)
        assert manager.stats()["retired_open"] == 0
    finally:
        manager.close()


@pytest.mark.slow
def test_retired_channel_is_closed_at_the_max_linger_and_the_cut_call_is_neutral(
    fake: FakeSidecar, events: EventRecorder
):
    clock = VirtualClock()
    manager = _manager(fake.address, linger=0.2, max_linger=0.5, clock=clock)
    try:
        old = manager.current
        future = old.stub.WaitForInstanceCompletion.future(REQ, timeout=60)
        poll_until(lambda: fake.calls.get("WaitForInstanceCompletion"), timeout=5)
        manager.recreate_now()
        clock.advance(0.499)  # past the linger, the call's deadline keeps it open...
        assert not future.done()
        assert old.lease.state is LeaseState.RETIRED
        clock.advance(0.001)  # ...until the max linger
        with pytest.raises(grpc.RpcError) as info:
            future.result(timeout=5)
        assert info.value.code() is grpc.StatusCode.CANCELLED
        assert old.lease.state is LeaseState.CLOSED
        assert manager.stats()["consecutive_failures"] == 0
    finally:
        manager.close()


@pytest.mark.slow
def test_close_during_a_slow_recreation_returns_quickly_and_leaks_nothing(fake: FakeSidecar):
    spec = ChannelSpec.from_args(fake.address)
    opened: list[grpc.Channel] = []
    recreating, release = threading.Event(), threading.Event()

    def slow_open(first: Sequence[Any]) -> grpc.Channel:
        if opened:  # the recreation under test: held until close() has begun
            recreating.set()
            release.wait(10)
        channel = spec.open_sync(first)
        opened.append(channel)
        return channel

    manager = _manager(fake.address, open_channel=slow_open)
    assert manager.request_recreate()
    assert recreating.wait(5)
    closer = threading.Thread(target=manager.close)
    closer.start()
    poll_until(lambda: manager.closing, timeout=5)
    assert closer.is_alive()  # close() waits for the recreation rather than racing it...
    release.set()
    closer.join(5)
    assert not closer.is_alive()  # ...and returns once it ended
    assert manager.current.generation == 1
    assert len(opened) == 2
    with pytest.raises(LeaseClosedError):
        manager.current.stub.GetInstance(REQ, timeout=1)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_one_hundred_recreation_cycles_return_fds_and_threads_to_baseline(
    fake: FakeSidecar, events: EventRecorder
):
    fake.get_delay = 0.05
    warmup = _manager(fake.address)
    warmup.current.stub.GetInstance(REQ, timeout=5)
    warmup.close()
    baseline_fds, baseline_threads = _fds(), threading.active_count()
    manager = _manager(fake.address)
    try:
        for cycle in range(100):
            stub = manager.current.stub
            futures = [stub.GetInstance.future(REQ, timeout=5) for _ in range(cycle % 3)]
            assert manager.recreate_now() is not None
            for future in futures:
                assert future.result(timeout=5).exists is False
        poll_until(lambda: events.count("channel_closed") >= 100, timeout=10,
                   message=f"closes {events.count('channel_closed')} {manager.stats()}")
        assert manager.stats()["retired_open"] == 0
    finally:
        manager.close()
    poll_until(lambda: threading.active_count() <= baseline_threads + 1, timeout=5,
               message="threads back to baseline")
    poll_until(lambda: _fds() <= baseline_fds + 2, timeout=5, message="fds back to baseline")
