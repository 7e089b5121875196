"""Completions on a stream (our sidecar's CompletionStream): negotiated, and safe under faults.

Real sockets: our embedded sidecar behind the test TCP proxy, our worker with DEFAULT
resiliency options. A completion sent on the stream but not acknowledged when the connection
breaks is resent as its unary call; a duplicate is a stale token the sidecar ignores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from bench.fault_procs import our_sidecar, probe_worker
from durabletask import client, task, worker
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from durabletask.testing import VirtualClock
from tests.durabletask.faults.conftest import RestartableSidecar
from tests.durabletask.helpers.proxy import TcpProxy, tcp_proxy
from tests.durabletask.helpers.wait import poll_until

pytestmark = pytest.mark.slow

_N = 12
_OPT_OUT = "DURABLETASK_COMPLETION_STREAM"


@pytest.fixture
def proxy(pinging_sidecar: RestartableSidecar) -> Iterator[TcpProxy]:
    with tcp_proxy(pinging_sidecar.port) as running:
        yield running


class _Gate:
    """An activity that records its runs and waits for the test to open the gate."""

    def __init__(self) -> None:
        self.runs: list[int] = []
        self.opened = threading.Event()
        self._lock = threading.Lock()

    def activity(self, ctx: task.ActivityContext, value: int) -> int:
        with self._lock:
            self.runs.append(value)
        self.opened.wait(30)
        return value * 2


def _start_worker(address: str, gate: _Gate, clock: VirtualClock | None = None
                  ) -> worker.TaskHubGrpcWorker:
    def gated(ctx: task.OrchestrationContext, value: int):
        result = yield ctx.call_activity(gate.activity, input=value)
        return result

    # DEFAULT resiliency options; threads enough for every gated activity at once.
    w = worker.TaskHubGrpcWorker(
        host_address=address, clock=clock,
        concurrency_options=worker.ConcurrencyOptions(maximum_thread_pool_workers=_N))
    w.add_orchestrator(gated)
    w.add_activity(gate.activity)
    w.start()
    return w


def _schedule(c: client.TaskHubGrpcClient, count: int) -> list[str]:
    return [c.schedule_new_orchestration("gated", input=value) for value in range(count)]


def _all_completed_once(sidecar_address: str, c: client.TaskHubGrpcClient,
                        ids: list[str]) -> None:
    """Every instance COMPLETED with its own output, and completed exactly once."""
    with grpc.insecure_channel(sidecar_address) as channel:
        stub = pb_grpc.TaskHubSidecarServiceStub(channel)
        for value, instance_id in enumerate(ids):
            state = c.wait_for_orchestration_completion(instance_id, timeout=60)
            assert state is not None
            assert state.runtime_status == client.OrchestrationStatus.COMPLETED
            assert state.get_output() == value * 2
            chunks = stub.StreamInstanceHistory(
                pb.StreamInstanceHistoryRequest(instanceId=instance_id), timeout=10)
            events = [event for chunk in chunks for event in chunk.events]
            assert sum(event.HasField("executionCompleted") for event in events) == 1


@pytest.mark.parametrize("opt_out", [False, True])
def test_worker_streams_its_completions_unless_the_environment_opts_out(
    pinging_sidecar: RestartableSidecar, monkeypatch: pytest.MonkeyPatch, opt_out: bool,
):
    if opt_out:
        monkeypatch.setenv(_OPT_OUT, "0")
    gate = _Gate()
    gate.opened.set()
    w = _start_worker(pinging_sidecar.address, gate)
    try:
        with client.TaskHubGrpcClient(host_address=pinging_sidecar.address) as c:
            ids = _schedule(c, 3)
            _all_completed_once(pinging_sidecar.address, c, ids)
        # Per orchestration: two orchestrator completions and one activity completion.
        assert w.resiliency_stats()["streamed_completions"] == (0 if opt_out else 9)
    finally:
        w.stop()


def test_completions_in_flight_when_the_connection_resets_complete_exactly_once(
    pinging_sidecar: RestartableSidecar, proxy: TcpProxy, caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO, logger="durabletask.worker.stream")
    gate = _Gate()
    w = _start_worker(proxy.address, gate)
    try:
        with client.TaskHubGrpcClient(host_address=pinging_sidecar.address) as c:
            ids = _schedule(c, _N)
            poll_until(lambda: len(gate.runs) == _N, timeout=30,
                       message="every activity to start")
            sent = w.resiliency_stats()["streamed_completions"]
            proxy.set_mode("delay", delay_seconds=1.0)  # acknowledgements cannot come back
            gate.opened.set()
            poll_until(lambda: w.resiliency_stats()["streamed_completions"] >= sent + _N,
                       timeout=10, message="the activity results on the stream")
            proxy.set_mode("pass")
            proxy.reset_all()
            _all_completed_once(pinging_sidecar.address, c, ids)
        assert "as unary calls" in caplog.text  # they were in flight, and were resent
        assert len(gate.runs) >= _N  # at least once (the reset may requeue some)
    finally:
        gate.opened.set()
        w.stop()


def test_completions_in_flight_when_the_connection_is_blackholed_complete_exactly_once(
    pinging_sidecar: RestartableSidecar, proxy: TcpProxy,
):
    gate = _Gate()
    clock = VirtualClock()  # the silence window ends when the test advances it
    w = _start_worker(proxy.address, gate, clock=clock)
    try:
        with client.TaskHubGrpcClient(host_address=pinging_sidecar.address) as c:
            ids = _schedule(c, _N)
            poll_until(lambda: len(gate.runs) == _N, timeout=30,
                       message="every activity to start")
            sent = w.resiliency_stats()["streamed_completions"]
            proxy.blackhole_existing()
            gate.opened.set()
            poll_until(lambda: w.resiliency_stats()["streamed_completions"] >= sent + _N,
                       timeout=10, message="the activity results on the stream")
            silent = w.resiliency_stats()["silent_disconnects"]
            clock.advance(120)  # past any silence window: no health ping came
            poll_until(lambda: w.resiliency_stats()["silent_disconnects"] > silent,
                       timeout=10, message="the worker to see the silent connection")
            _all_completed_once(pinging_sidecar.address, c, ids)
    finally:
        gate.opened.set()
        w.stop()


@pytest.mark.parametrize("crash", [False, True])
def test_orchestrations_across_a_restart_of_the_sqlite_sidecar_process_all_complete(
    tmp_path: Path, crash: bool,
):
    # Real processes: our sidecar program on SQLite, a probe worker (our SDK, DEFAULT options).
    with our_sidecar(db_path=tmp_path / "state.db") as sidecar, \
            probe_worker(sidecar.address, tmp_path) as probe:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            ids = [c.schedule_new_orchestration("run_slow", input=0.2) for _ in range(_N)]
            poll_until(lambda: probe.runs("end") >= 2, timeout=30,
                       message="the first activities to finish")
            if crash:
                sidecar.kill()  # SIGKILL: completions in flight are lost with the process
                sidecar.start()
            else:
                sidecar.restart()  # SIGTERM, then a new process on the same file
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            for instance_id in ids:
                state = c.wait_for_orchestration_completion(instance_id, timeout=60)
                assert state is not None
                assert state.runtime_status == client.OrchestrationStatus.COMPLETED
                assert state.get_output() == 0.2
        report = probe.finish()
    assert report["stats"]["streamed_completions"] > 0  # the stream was in use
