"""The worker's side of liveness on real sockets (issue 11 items 1, 4, 5).

Against our sidecar the worker adopts what ``Hello`` advertises (a silent window of three
health-ping intervals, a short keepalive); against a sidecar that never pings it probes a
silent stream with ``Hello``. Either way a connection proven dead is replaced at once.
The sidecars here ping and keep alive every fraction of a second, so the worker's DEFAULT
options react within about a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from durabletask import client, task, worker
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from durabletask.sidecar import EmbeddedSidecar
from tests.durabletask.faults.conftest import RestartableSidecar
from tests.durabletask.helpers.proxy import tcp_proxy
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.transport.fake_sidecar import FakeSidecar
from tests.durabletask.transport.recorder import EventRecorder, recording

pytestmark = pytest.mark.slow

# A sidecar whose liveness signals come every fraction of a second (its advertised ping
# interval and accepted keepalive are what the worker adopts).
QUICK_SIDECAR = dict(health_ping_interval_seconds=0.3, keepalive_time_seconds=0.5,
                     keepalive_timeout_seconds=0.5, min_client_ping_interval_seconds=0.25)
# Against a sidecar that never pings: probe after 1 s of silence, 0.67 s to answer.
PROBING = GrpcWorkerResiliencyOptions(silent_disconnect_timeout_seconds=8.0,
                                      reconnect_backoff_base_seconds=0.1,
                                      reconnect_backoff_cap_seconds=0.5)


def double(ctx: task.ActivityContext, value: int) -> int:
    return value * 2


def calls_double(ctx: task.OrchestrationContext, value: int):
    return (yield ctx.call_activity(double, input=value))


@pytest.fixture
def quick_sidecar() -> Iterator[EmbeddedSidecar]:
    with EmbeddedSidecar(**QUICK_SIDECAR) as sidecar:
        yield sidecar


def _started_worker(address: str, **kwargs: object) -> worker.TaskHubGrpcWorker:
    w = worker.TaskHubGrpcWorker(host_address=address, **kwargs)  # type: ignore[arg-type]
    w.add_orchestrator(calls_double)
    w.add_activity(double)
    w.start()
    return w


def _run(c: client.TaskHubGrpcClient, value: int) -> client.OrchestrationState | None:
    instance_id = c.schedule_new_orchestration(calls_double, input=value)
    return c.wait_for_orchestration_completion(instance_id, timeout=30)


def test_blackholed_idle_worker_recovers_and_work_sent_into_the_dead_stream_completes(
    quick_sidecar: EmbeddedSidecar,
):
    with tcp_proxy(quick_sidecar.port) as proxy, recording(proxy.address) as events, \
            client.TaskHubGrpcClient(host_address=quick_sidecar.address) as c:
        w = _started_worker(proxy.address)  # DEFAULT options
        try:
            assert _run(c, 1).get_output() == 2
            proxy.blackhole_existing()
            # The sidecar sends this into the dead stream; the worker finds the connection
            # dead, replaces its channel, and its new stream gets the work redelivered.
            state = _run(c, 21)
            assert state is not None
            assert state.get_output() == 42
            noticed = (events.count("stream_silent_disconnect", "worker")
                       + events.count("stream_error", "worker"))
            assert noticed >= 1
            assert events.count("channel_recreated", "worker") >= 1
        finally:
            w.stop()


def test_keepalive_adopted_from_our_sidecar_ends_a_blackholed_stream_on_its_own(
    quick_sidecar: EmbeddedSidecar,
):
    # No silent window (and no probe): only the keepalive the sidecar advertised can tell.
    options = GrpcWorkerResiliencyOptions(silent_disconnect_timeout_seconds=0)
    with tcp_proxy(quick_sidecar.port) as proxy, recording(proxy.address) as events:
        w = _started_worker(proxy.address, resiliency_options=options)
        try:
            poll_until(lambda: events.count("stream_first_message", "worker"), timeout=10,
                       message="the worker's stream")
            assert w.resiliency_stats()["reconfigurations"] == 1  # moved to the keepalive
            connections = proxy.accepted
            proxy.blackhole_existing()
            errors = poll_until(lambda: events.events("stream_error", "worker"), timeout=10,
                                message="the keepalive to fail")
            assert "ping timeout" in str(errors[0].fields["details"]).lower()
            poll_until(lambda: proxy.accepted > connections, timeout=10,
                       message="a new connection")
        finally:
            w.stop()


@pytest.fixture
def silent_sidecar() -> Iterator[FakeSidecar]:
    fake = FakeSidecar()  # answers Hello, never pings, advertises nothing
    try:
        yield fake
    finally:
        fake.stop()


def test_idle_stream_to_a_sidecar_that_never_pings_is_probed_and_kept(
    silent_sidecar: FakeSidecar,
):
    with recording(silent_sidecar.address) as events:
        w = _started_worker(silent_sidecar.address, resiliency_options=PROBING)
        try:
            poll_until(lambda: silent_sidecar.count("Hello") >= 4, timeout=15,
                       message="three probes after the connect Hello")
            assert silent_sidecar.count("GetWorkItems") == 1  # never reconnected
            assert events.count("stream_silent_disconnect", "worker") == 0
        finally:
            w.stop()


def test_probe_finds_a_blackholed_connection_to_a_sidecar_that_never_pings(
    silent_sidecar: FakeSidecar,
):
    with tcp_proxy(silent_sidecar.port) as proxy, recording(proxy.address) as events:
        w = _started_worker(proxy.address, resiliency_options=PROBING)
        try:
            poll_until(lambda: silent_sidecar.count("GetWorkItems") == 1, timeout=10,
                       message="the stream")
            proxy.blackhole_existing()
            poll_until(lambda: events.count("stream_silent_disconnect", "worker"), timeout=10,
                       message="an unanswered probe")
            poll_until(lambda: silent_sidecar.count("GetWorkItems") == 2, timeout=10,
                       message="a new stream")
            assert events.count("channel_recreated", "worker") == 1  # at once, no Hello wait
        finally:
            w.stop()


def _delays(events: EventRecorder) -> list[float]:
    return [float(e.fields["delay_s"]) for e in events.events("reconnect_backoff", "worker")]


def test_streams_ended_at_once_by_the_sidecar_space_reconnects_out(
    silent_sidecar: FakeSidecar,
):
    silent_sidecar.stream_mode = "one_then_end"  # a ping, then a clean end, every time
    with recording(silent_sidecar.address) as events:
        w = _started_worker(silent_sidecar.address)  # DEFAULT options: 1 s base
        try:
            poll_until(lambda: len(_delays(events)) >= 3, timeout=15,
                       message="three reconnect delays")
            # Never below half the bound, and growing while streams end at once: at most
            # four reconnects in any 5 s (the official worker: hundreds per second).
            first, second, third = _delays(events)[:3]
            assert (first >= 0.5, second >= 1.0, third >= 2.0) == (True, True, True)
            assert w.resiliency_stats()["consecutive_failures"] == 0  # drains are no failures
        finally:
            w.stop()


def test_failure_count_resets_on_the_first_message_of_a_healthy_stream(
    pinging_sidecar: RestartableSidecar,
):
    fast = GrpcWorkerResiliencyOptions(hello_timeout_seconds=1.0,
                                       reconnect_backoff_base_seconds=0.1,
                                       reconnect_backoff_cap_seconds=0.5)
    with recording(pinging_sidecar.address) as events:
        w = _started_worker(pinging_sidecar.address, resiliency_options=fast)
        try:
            pinging_sidecar.stop()
            poll_until(lambda: w.resiliency_stats().get("consecutive_failures", 0) >= 2,
                       timeout=10, message="failures while the sidecar is down")
            first_messages = events.count("stream_first_message", "worker")
            pinging_sidecar.start()
            poll_until(lambda: events.count("stream_first_message", "worker") > first_messages,
                       timeout=10, message="a stream that delivers")
            stats = w.resiliency_stats()
            # Reported at once, while the stream is still open (not when it ends).
            assert (stats["state"], stats["consecutive_failures"]) == ("streaming", 0)
        finally:
            w.stop()


def test_stop_while_an_activity_runs_keeps_its_result_and_counts_no_loss():
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def held(ctx: task.ActivityContext, value: int) -> int:
        runs.append(value)
        started.set()
        release.wait(10)
        return value + 1

    def calls_held(ctx: task.OrchestrationContext, value: int):
        return (yield ctx.call_activity(held, input=value))

    # max_recovery_attempts=0: a single lost worker would fail the instance.
    with EmbeddedSidecar(max_recovery_attempts=0) as sidecar, \
            recording(sidecar.address) as events, \
            client.TaskHubGrpcClient(host_address=sidecar.address) as c:
        workers = []
        for _ in range(2):
            w = worker.TaskHubGrpcWorker(host_address=sidecar.address)  # DEFAULT options
            w.add_orchestrator(calls_held)
            w.add_activity(held)
            workers.append(w)
        workers[0].start()
        try:
            instance_id = c.schedule_new_orchestration(calls_held, input=41)
            assert started.wait(10)
            stopper = threading.Thread(target=workers[0].stop)
            stopper.start()
            poll_until(lambda: events.count("drain_notice", "worker"), timeout=10,
                       message="the drain notice")
            release.set()  # the activity finishes during the stop
            stopper.join(30)
            assert not stopper.is_alive()
            workers[1].start()  # runs the episode that consumes the kept result
            state = c.wait_for_orchestration_completion(instance_id, timeout=30)
        finally:
            release.set()
            for w in workers:
                w.stop()
    assert state is not None
    assert state.runtime_status == client.OrchestrationStatus.COMPLETED
    assert (state.get_output(), runs) == (42, [41])
