"""Fixtures for dashboard tests: a real sidecar serving its dashboard, a worker, an HTTP client."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from durabletask import client, task, worker
from durabletask.entities import DurableEntity, EntityContext, EntityInstanceId
from durabletask.sidecar import EmbeddedSidecar
from tests.durabletask.cli.conftest import approval, broken, say_hello
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY

__all__ = [
    "Answer", "Cart", "Dashboard", "Http", "approval", "broken", "counter", "greeter",
    "holds_lock", "rewindable", "signals_later",
]


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Http:
    """A plain HTTP/1.1 client of one dashboard (stdlib, a new connection per request)."""

    url: str
    token: str | None = None
    hub: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request; ``params`` (and the client's hub) go to the query string."""
        query = dict(params or {})
        if self.hub is not None:
            query.setdefault("hub", self.hub)
        target = path + ("?" + urlencode(query) if query else "")
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.request(method, target, body=body, headers=sent)
            response = conn.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def get(self, path: str, **params: Any) -> Answer:
        """GET with query parameters."""
        return self.request("GET", path, params=params)

    def post(self, path: str, payload: Any = None, **params: Any) -> Answer:
        """POST a JSON body."""
        body = b"" if payload is None else json.dumps(payload).encode()
        return self.request("POST", path, params=params, body=body,
                            headers={"Content-Type": "application/json"})


def greeter(ctx: task.OrchestrationContext, name: str):
    greeting = yield ctx.call_activity(say_hello, input=name)
    ctx.set_custom_status({"greeted": name})
    return greeting


_flaky_calls: dict[str, int] = {}
_flaky_lock = threading.Lock()


def flaky(ctx: task.ActivityContext, key: str) -> str:
    """Fails on its first call for ``key``, succeeds afterwards (for rewind)."""
    with _flaky_lock:
        _flaky_calls[key] = _flaky_calls.get(key, 0) + 1
        first = _flaky_calls[key] == 1
    if first:
        raise RuntimeError(f"first attempt for {key} fails")
    return f"recovered {key}"


def rewindable(ctx: task.OrchestrationContext, key: str):
    result = yield ctx.call_activity(flaky, input=key)
    return result


def counter(ctx: EntityContext, amount: Any) -> int:
    """A function entity: ``add`` a number."""
    if ctx.operation == "add":
        ctx.set_state(ctx.get_state(int, 0) + amount)
    return ctx.get_state(int, 0)


class Cart(DurableEntity):
    """A class entity: a list of items."""

    def add_item(self, item: str) -> list[str]:
        items = self.get_state(list, []) + [item]
        self.set_state(items)
        return items


def holds_lock(ctx: task.OrchestrationContext, key: str):
    """Holds the lock of ``@counter@<key>`` until the event ``release`` arrives."""
    with (yield ctx.lock_entities([EntityInstanceId("counter", key)])):
        yield ctx.wait_for_external_event("release")
    return "released"


def signals_later(ctx: task.OrchestrationContext, key: str):
    """Signals ``@counter@<key>`` a day from now (a delayed signal waits in the queue)."""
    ctx.signal_entity(EntityInstanceId("counter", key), "add", 1,
                      signal_time=ctx.current_utc_datetime + timedelta(days=1))
    return None


ORCHESTRATORS = (greeter, approval, broken, rewindable, holds_lock, signals_later)
ACTIVITIES = (say_hello, flaky)
ENTITIES = (counter, Cart)


@dataclass
class Dashboard:
    """A started sidecar with its dashboard, a worker and a gRPC client."""

    sidecar: EmbeddedSidecar
    client: client.TaskHubGrpcClient
    http: Http
    workers: list[worker.TaskHubGrpcWorker] = field(default_factory=list)

    def completed(self, orchestrator: Callable, instance_id: str, data: Any = None):
        """Schedule an instance and wait until it finishes."""
        self.client.schedule_new_orchestration(orchestrator, input=data, instance_id=instance_id)
        state = self.client.wait_for_orchestration_completion(instance_id, timeout=15)
        assert state is not None
        return state

    def running(self, orchestrator: Callable, instance_id: str) -> None:
        """Schedule an instance and wait until it runs."""
        self.client.schedule_new_orchestration(orchestrator, instance_id=instance_id)
        self.client.wait_for_orchestration_start(instance_id, timeout=15)


@pytest.fixture
def make_dashboard() -> Iterator[Callable[..., Dashboard]]:
    """Starts sidecars (with the given options) serving a dashboard; all stopped after."""
    started: list[Dashboard] = []

    def factory(*, with_worker: bool = True, **options: Any) -> Dashboard:
        sidecar = EmbeddedSidecar(port=0, dashboard_port=0, **options)
        sidecar.start()
        assert sidecar.dashboard_url is not None
        c = client.TaskHubGrpcClient(host_address=sidecar.address)
        board = Dashboard(sidecar, c, Http(sidecar.dashboard_url))
        started.append(board)
        if with_worker:
            w = worker.TaskHubGrpcWorker(
                host_address=sidecar.address, resiliency_options=FAST_WORKER_RESILIENCY
            )
            for orchestrator in ORCHESTRATORS:
                w.add_orchestrator(orchestrator)
            for activity in ACTIVITIES:
                w.add_activity(activity)
            for entity in ENTITIES:
                w.add_entity(entity)
            w.start()
            board.workers.append(w)
        return board

    yield factory
    for board in started:
        for w in board.workers:
            w.stop()
        board.client.close()
        board.sidecar.stop()


@pytest.fixture
def dashboard(make_dashboard: Callable[..., Dashboard]) -> Dashboard:
    """A sidecar with default options, its dashboard and a worker."""
    return make_dashboard()
