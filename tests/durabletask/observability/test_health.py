"""Worker readiness on real runs: the states a probe sees as the sidecar comes and goes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from durabletask import worker
from durabletask.health import HealthServer, StreamState, WorkerHealth
from durabletask.sidecar.hosting import EmbeddedSidecar
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.helpers.wait import poll_until

TIMEOUT = 20
PING_SECONDS = 0.2


def noop(ctx, _):
    return "ok"


@pytest.fixture
def pinging_sidecar() -> Iterator[EmbeddedSidecar]:
    """A sidecar that health-pings idle streams every 0.2 s."""
    sidecar = EmbeddedSidecar(port=0, health_ping_interval_seconds=PING_SECONDS)
    sidecar.start()
    try:
        yield sidecar
    finally:
        sidecar.stop()


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - 127.0.0.1
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _state_becomes(w: worker.TaskHubGrpcWorker, state: StreamState) -> WorkerHealth:
    return poll_until(lambda: (h := w.health()).state is state and h,
                      timeout=TIMEOUT, message=f"the worker's stream to be {state.value}")


def test_readiness_is_true_to_life_from_start_to_stop(pinging_sidecar):
    w = worker.TaskHubGrpcWorker(host_address=pinging_sidecar.address,
                                 resiliency_options=FAST_WORKER_RESILIENCY)
    w.add_orchestrator(noop)
    assert w.health().state is StreamState.STOPPED
    assert not w.is_ready()
    endpoint = HealthServer(w, port=0)
    url = endpoint.start()
    try:
        w.start()
        connected = _state_becomes(w, StreamState.CONNECTED)
        assert w.is_ready()
        assert connected.reconnects == 0
        assert connected.in_flight == {"orchestration": 0, "activity": 0, "entity": 0}
        assert _get(f"{url}/readyz")[0] == 200

        # Idle: the sidecar's pings keep arriving and the stream keeps reading connected.
        marked = time.monotonic()

        def pinged_since_mark() -> WorkerHealth | None:
            health = w.health()
            assert health.state is StreamState.CONNECTED
            age = health.seconds_since_last_message
            return health if age is not None and age < time.monotonic() - marked else None

        poll_until(pinged_since_mark, timeout=TIMEOUT, message="a health ping on an idle stream")

        port = pinging_sidecar.port
        pinging_sidecar.stop()
        _state_becomes(w, StreamState.BACKOFF)
        status, body = _get(f"{url}/readyz")
        assert status == 503
        assert body["ready"] is False
        assert _get(f"{url}/healthz")[0] == 200, "alive while it reconnects"

        restarted = EmbeddedSidecar(port=port, health_ping_interval_seconds=PING_SECONDS)
        restarted.start()
        try:
            again = _state_becomes(w, StreamState.CONNECTED)
            assert again.reconnects >= 1
        finally:
            w.stop()
            restarted.stop()
        assert w.health().state is StreamState.STOPPED
        assert not w.is_ready()
        assert _get(f"{url}/healthz")[0] == 503
        assert _get(f"{url}/readyz")[0] == 503
    finally:
        w.stop()
        endpoint.stop()


def test_health_endpoint_answers_json_and_404(make_worker):
    w = make_worker([noop])
    w.start()
    _state_becomes(w, StreamState.CONNECTED)
    with HealthServer(w, port=0) as endpoint:
        status, body = _get(f"{endpoint.url}/readyz")
        missing, error = _get(f"{endpoint.url}/metrics")

    assert status == 200
    assert body["state"] == "connected"
    assert body["ready"] is True
    assert body["inFlight"] == {"orchestration": 0, "activity": 0, "entity": 0}
    assert missing == 404
    assert "/readyz" in error["error"]
