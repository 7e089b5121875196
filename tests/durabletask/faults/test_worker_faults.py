"""Worker faults on real sockets: sidecar restart, blackholed and reset connections."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from durabletask import client, task, worker
from durabletask.testing import VirtualClock
from tests.durabletask.faults.conftest import (
    FAST_CHANNEL,
    FAST_WORKER,
    RestartableSidecar,
)
from tests.durabletask.helpers.proxy import TcpProxy, tcp_proxy
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.transport.recorder import EventRecorder, recording

pytestmark = pytest.mark.slow


def double(ctx: task.ActivityContext, value: int) -> int:
    return value * 2


def calls_double(ctx: task.OrchestrationContext, value: int):
    result = yield ctx.call_activity(double, input=value)
    return result


@pytest.fixture
def proxy(pinging_sidecar: RestartableSidecar) -> Iterator[TcpProxy]:
    with tcp_proxy(pinging_sidecar.port) as running:
        yield running


def _worker(address: str, activities=(double,), clock=None) -> worker.TaskHubGrpcWorker:
    w = worker.TaskHubGrpcWorker(host_address=address, resiliency_options=FAST_WORKER,
                                 channel_options=FAST_CHANNEL, clock=clock)
    w.add_orchestrator(calls_double)
    for activity in activities:
        w.add_activity(activity)
    return w


def _run_one(address: str, value: int, timeout: float) -> int:
    with client.TaskHubGrpcClient(host_address=address) as c:
        instance_id = c.schedule_new_orchestration(calls_double, input=value)
        state = c.wait_for_orchestration_completion(instance_id, timeout=timeout)
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    return state.get_output()  # type: ignore[no-any-return]


def _state(w: worker.TaskHubGrpcWorker) -> str:
    return w.resiliency_stats().get("state", "")


def _backoffs_until_streaming(w: worker.TaskHubGrpcWorker, clock: VirtualClock,
                              events: EventRecorder, limit: int = 8) -> int:
    """End the worker's reconnect backoffs one by one on its clock; how many it took."""
    for ended in range(1, limit + 1):
        poll_until(lambda: _state(w) == "backoff", timeout=10, message="a backoff")
        seen = events.count("reconnect_backoff", "worker")
        clock.advance(FAST_WORKER.reconnect_backoff_cap_seconds)  # the longest backoff
        poll_until(lambda s=seen: _state(w) == "streaming"
                   or events.count("reconnect_backoff", "worker") > s,
                   timeout=10, message="a reconnect or the next backoff")
        if _state(w) == "streaming":
            return ended
    raise AssertionError(f"not streaming after {limit} backoffs: {w.resiliency_stats()}")


def test_worker_picks_up_new_work_within_a_few_backoffs_of_a_sidecar_restart(
    pinging_sidecar: RestartableSidecar,
):
    clock = VirtualClock()  # the worker's backoffs end only when the test advances it
    with recording(pinging_sidecar.address) as events:
        w = _worker(pinging_sidecar.address, clock=clock)
        w.start()
        try:
            assert _run_one(pinging_sidecar.address, 1, timeout=10) == 2
            pinging_sidecar.stop()
            poll_until(lambda: _state(w) == "backoff", timeout=5,
                       message="the worker to see the stream end and back off")
            pinging_sidecar.start()
            # Hello may still fail on the old channel until the failure threshold has the
            # channel replaced; the new channel connects at once.
            backoffs = _backoffs_until_streaming(w, clock, events)
            assert backoffs <= FAST_WORKER.channel_recreate_failure_threshold + 1
            assert _run_one(pinging_sidecar.address, 21, timeout=10) == 42
        finally:
            w.stop()


def test_worker_detects_a_blackholed_connection_and_resumes_on_a_new_one(
    pinging_sidecar: RestartableSidecar, proxy: TcpProxy,
):
    clock = VirtualClock()  # the silence window ends only when the test advances it
    with recording(proxy.address) as events:
        w = _worker(proxy.address, clock=clock)
        w.start()
        try:
            assert _run_one(pinging_sidecar.address, 1, timeout=10) == 2
            # The client sees the result once the sidecar applied the last completion; the
            # worker holds that work item until the acknowledgement arrives. Blackhole only
            # once it has, or the item keeps the old channel open (rightly) until its
            # completion's deadline.
            poll_until(lambda: not any(w.health().in_flight.values()), timeout=5,
                       message="the worker to finish its work items")
            connections = proxy.accepted
            proxy.blackhole_existing()
            assert events.count("stream_silent_disconnect", "worker") == 0
            clock.advance(FAST_WORKER.silent_disconnect_timeout_seconds)  # no ping came
            poll_until(lambda: events.count("stream_silent_disconnect", "worker"),
                       timeout=5, message="a silent disconnect")
            # The silent disconnect proves the connection dead: a new channel at once (no
            # Hello deadlines on the stale one first, no backoff: the clock stays put), and
            # a new TCP connection.
            recreated = poll_until(lambda: events.events("channel_recreated", "worker"),
                                   timeout=6, message="the worker to replace its channel")
            poll_until(lambda: proxy.accepted > connections, timeout=3,
                       message="a new TCP connection")
            assert events.count("reconnect_backoff", "worker") == 0
            # The retired channel had nothing in flight, so it was closed at once.
            retired = recreated[0].fields["previous_generation"]
            poll_until(lambda: any(e.generation == retired
                                   for e in events.events("channel_closed", "worker")),
                       timeout=3, message="the retired channel to close")
            assert events.count("channel_recreated", "worker") == 1
        finally:
            w.stop()


def test_work_item_running_when_the_stream_resets_still_completes(
    pinging_sidecar: RestartableSidecar, proxy: TcpProxy,
):
    started = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow_double(ctx: task.ActivityContext, value: int) -> int:
        runs.append(value)
        started.set()
        release.wait(10)
        return value * 2

    def calls_slow(ctx: task.OrchestrationContext, value: int):
        result = yield ctx.call_activity(slow_double, input=value)
        return result

    with recording(proxy.address) as events:
        w = worker.TaskHubGrpcWorker(host_address=proxy.address,
                                     resiliency_options=FAST_WORKER,
                                     channel_options=FAST_CHANNEL)
        w.add_orchestrator(calls_slow)
        w.add_activity(slow_double)
        w.start()
        try:
            with client.TaskHubGrpcClient(host_address=pinging_sidecar.address) as c:
                instance_id = c.schedule_new_orchestration(calls_slow, input=4)
                assert started.wait(10)
                proxy.reset_all()
                poll_until(lambda: events.count("stream_error", "worker"), timeout=5,
                           message="the worker to see the reset")
                release.set()
                state = c.wait_for_orchestration_completion(instance_id, timeout=15)
            assert state is not None
            assert state.get_output() == 8
            assert 1 <= len(runs) <= 2  # at least once; one redelivery at most
        finally:
            release.set()
            w.stop()


def test_worker_stop_ends_its_backoff_against_a_dead_sidecar(
    pinging_sidecar: RestartableSidecar, caplog: pytest.LogCaptureFixture,
):
    clock = VirtualClock()  # frozen: the backoff cannot end by itself
    with recording(pinging_sidecar.address) as events:
        w = _worker(pinging_sidecar.address, clock=clock)
        w.start()
        pinging_sidecar.stop()
        poll_until(lambda: _state(w) == "backoff", timeout=10,
                   message="the worker to back off")
        w.stop()  # bounded by its budget, past which it logs "did not finish"
        assert "did not finish" not in caplog.text
        assert events.count("reconnect_backoff", "worker") >= 1
        assert clock.monotonic() == 0.0
        pinging_sidecar.start()
