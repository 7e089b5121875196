"""Metrics of real runs, read with OpenTelemetry's in-memory metric reader.

The reader is cumulative for the whole process, so each test compares readings taken
before and after what it does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from durabletask import client, task, worker
from durabletask.sidecar.hosting import EmbeddedSidecar
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.helpers.wait import poll_until

TIMEOUT = 30
Key = tuple[str, frozenset]


def read(reader: InMemoryMetricReader) -> dict[Key, float]:
    """Every data point as (name, attributes) -> value (a histogram's count)."""
    points: dict[Key, float] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = point.count if isinstance(point, HistogramDataPoint) else point.value
                    points[(metric.name, frozenset((point.attributes or {}).items()))] = value
    return points


def value(points: dict[Key, float], name: str, **attributes: str) -> float:
    """The sum of ``name``'s points whose attributes include ``attributes``."""
    wanted = set(attributes.items())
    return sum(v for (n, attrs), v in points.items() if n == name and wanted <= attrs)


def say(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}"


def hello(ctx: task.OrchestrationContext, _: object):
    return (yield ctx.call_activity(say, input="metrics"))


def run_hello(metric_reader, run_worker, dt_client) -> tuple[dict[Key, float], dict[Key, float]]:
    """Readings before and after one ``hello`` run by a new worker (once it is all counted)."""
    before = read(metric_reader)
    run_worker([hello], [say])
    instance_id = dt_client.schedule_new_orchestration(hello)
    state = dt_client.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
    assert state is not None
    assert state.runtime_status is client.OrchestrationStatus.COMPLETED
    after = poll_until(
        lambda: (points := read(metric_reader)) and value(
            points, "durabletask.worker.work_items.completed",
            **{"durabletask.work_item.kind": "orchestration"}) >= value(
            before, "durabletask.worker.work_items.completed",
            **{"durabletask.work_item.kind": "orchestration"}) + 2 and points,
        timeout=TIMEOUT, message="the last episode's completion to be counted")
    return before, after


def test_a_run_is_counted_by_kind_timed_and_sized(metric_reader, run_worker, dt_client):
    before, after = run_hello(metric_reader, run_worker, dt_client)

    def grew(name: str, **attributes: str) -> float:
        return value(after, name, **attributes) - value(before, name, **attributes)

    kind = "durabletask.work_item.kind"
    assert grew("durabletask.worker.work_items", **{kind: "orchestration"}) == 2
    assert grew("durabletask.worker.work_items", **{kind: "activity"}) == 1
    assert grew("durabletask.worker.work_items.completed", **{
        kind: "activity", "durabletask.work_item.outcome": "success"}) == 1
    assert grew("durabletask.worker.work_item.duration", **{kind: "activity"}) == 1
    assert grew("durabletask.worker.orchestration.episode.duration") == 2
    assert grew("durabletask.worker.payload.io", **{
        kind: "activity", "durabletask.payload.direction": "received"}) > 20, "bytes"
    assert grew("durabletask.worker.payload.io", **{
        kind: "activity", "durabletask.payload.direction": "sent"}) > 0
    assert grew("durabletask.worker.orchestration_cache.lookups") >= 1
    assert value(after, "durabletask.sidecar.instances",
                 **{"durabletask.orchestration.status": "COMPLETED"}) >= 1
    assert {dict(attrs)["durabletask.queue"] for name, attrs in after
            if name == "durabletask.sidecar.backlog"} == {"orchestration", "activity", "entity"}


def test_histograms_left_out_by_the_environment_cost_nothing_and_counters_stay(
        metric_reader, run_worker, dt_client, monkeypatch):
    monkeypatch.setenv("DURABLETASK_OTEL_HISTOGRAMS",
                       "durabletask.worker.orchestration.episode.duration")
    before, after = run_hello(metric_reader, run_worker, dt_client)

    def grew(name: str) -> float:
        return value(after, name) - value(before, name)

    assert grew("durabletask.worker.work_item.duration") == 0
    assert grew("durabletask.worker.orchestration.episode.duration") == 2
    assert grew("durabletask.worker.work_items") == 3
    assert grew("durabletask.worker.work_items.completed") == 3


@pytest.fixture
def short_lease_sidecar() -> Iterator[EmbeddedSidecar]:
    """A sidecar whose leases expire after half a second without an answer."""
    sidecar = EmbeddedSidecar(port=0, lease_timeout_seconds=0.5)
    sidecar.start()
    try:
        yield sidecar
    finally:
        sidecar.stop()


def test_an_expired_lease_is_counted_and_redelivered(metric_reader, short_lease_sidecar):
    release = threading.Event()
    attempts: list[int] = []

    def slow(ctx: task.ActivityContext, _: object) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            release.wait(TIMEOUT)  # hung past its lease until the test saw it expire
        return "done"

    def calls_slow(ctx: task.OrchestrationContext, _: object):
        return (yield ctx.call_activity(slow))

    expirations = "durabletask.sidecar.lease.expirations"
    redeliveries = "durabletask.sidecar.redeliveries"
    before = read(metric_reader)
    w = worker.TaskHubGrpcWorker(host_address=short_lease_sidecar.address,
                                 resiliency_options=FAST_WORKER_RESILIENCY)
    w.add_orchestrator(calls_slow)
    w.add_activity(slow)
    w.start()
    try:
        with client.TaskHubGrpcClient(host_address=short_lease_sidecar.address) as c:
            instance_id = c.schedule_new_orchestration(calls_slow)
            poll_until(lambda: value(read(metric_reader), expirations,
                                     **{"durabletask.queue": "activity"})
                       > value(before, expirations, **{"durabletask.queue": "activity"}),
                       timeout=TIMEOUT, message="the activity's lease to expire")
            release.set()
            state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
    finally:
        release.set()
        w.stop()

    after = read(metric_reader)
    assert state is not None
    assert state.runtime_status is client.OrchestrationStatus.COMPLETED
    assert len(attempts) == 2
    assert value(after, redeliveries, **{"durabletask.queue": "activity",
                                         "durabletask.redelivery.reason": "lost"}) > value(
        before, redeliveries, **{"durabletask.queue": "activity",
                                 "durabletask.redelivery.reason": "lost"})
