"""Traces join up with the official SDK, both ways, through our sidecar.

The official durabletask==1.12.0 runs with OpenTelemetry's SDK in its own venv and process
(``official_tracing.py``) and prints the spans it emitted; ours are read from our process's
in-memory exporter. What must match is what a trace viewer joins on: trace ids and parent
span ids (1.12.0 sends the scheduling span in ``CreateInstanceRequest.parentTraceContext``
and each orchestration's children under it, in ``parentTraceContext`` fields).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from durabletask import client, task, worker
from durabletask.testing import InMemoryOrchestrationBackend, create_test_backend
from tests.durabletask.conftest import FAST_WORKER_RESILIENCY
from tests.durabletask.helpers.otel import spans  # noqa: F401 - the fixture
from tests.durabletask.helpers.spans_view import is_child, named, one
from tests.durabletask.helpers.wait import poll_until
from tests.durabletask.interop.conftest import (
    DRIVER_RUN_TIMEOUT_SECONDS,
    SERVE_START_TIMEOUT_SECONDS,
    STDERR_TAIL_CHARS,
    _official_env,
    read_first_line,
    stop_process,
)

TRACING_DRIVER = Path(__file__).with_name("official_tracing.py")
TIMEOUT = 60


def traced_greet(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}"


def traced_parent(ctx: task.OrchestrationContext, _: Any):
    return (yield ctx.call_activity(traced_greet, input="ours"))


@pytest.fixture
def our_sidecar() -> Iterator[InMemoryOrchestrationBackend]:
    backend = create_test_backend(port=0)
    try:
        yield backend
    finally:
        backend.stop()


def _by(found: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    matches = [s for s in found if s["name"] == name and s["kind"] == kind]
    assert len(matches) == 1, f"expected one {name} {kind} span from 1.12.0, got {found}"
    return matches[0]


def test_official_client_to_our_worker_continues_the_official_trace(
    spans, official_otel_python: Path, official_workdir: Path,  # noqa: F811
    our_sidecar: InMemoryOrchestrationBackend, run_worker_on,
):
    run_worker_on(our_sidecar.address)
    result = subprocess.run(
        [str(official_otel_python), "-I", str(TRACING_DRIVER), "client",
         "--address", our_sidecar.address],
        capture_output=True, text=True, timeout=DRIVER_RUN_TIMEOUT_SECONDS,
        cwd=official_workdir, env=_official_env(), stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr[-STDERR_TAIL_CHARS:]
    official = json.loads(result.stdout.strip().splitlines()[-1])
    assert official["status"] == "COMPLETED"
    producer = _by(official["spans"], "create_orchestration:traced_parent", "PRODUCER")

    ours = poll_until(
        lambda: named(spans.get_finished_spans(), "orchestration:traced_parent",
                      instance_id=official["instance_id"]),
        timeout=TIMEOUT, message="our orchestration span")[0]
    found = spans.get_finished_spans()
    assert f"{ours.context.trace_id:032x}" == producer["trace_id"]
    assert ours.parent is not None
    assert f"{ours.parent.span_id:016x}" == producer["span_id"]
    activity_client = one(found, "activity:traced_greet", SpanKind.CLIENT)
    activity_server = one(found, "activity:traced_greet", SpanKind.SERVER)
    assert is_child(activity_client, ours)
    assert is_child(activity_server, activity_client)


def test_our_client_to_the_official_worker_continues_our_trace(
    spans, official_otel_python: Path, official_workdir: Path,  # noqa: F811
    our_sidecar: InMemoryOrchestrationBackend,
):
    official_spans = _run_official_worker(
        official_otel_python, official_workdir, our_sidecar.address, _schedule_and_wait)
    producer = one(spans.get_finished_spans(), "create_orchestration:traced_parent",
                   SpanKind.PRODUCER)

    orchestration = _by(official_spans, "orchestration:traced_parent", "SERVER")
    activity_client = _by(official_spans, "activity:traced_greet", "CLIENT")
    activity_server = _by(official_spans, "activity:traced_greet", "SERVER")
    trace_id = f"{producer.context.trace_id:032x}"
    assert orchestration["trace_id"] == trace_id
    assert orchestration["parent_id"] == f"{producer.context.span_id:016x}"
    assert activity_client["trace_id"] == activity_server["trace_id"] == trace_id
    assert activity_server["parent_id"] == activity_client["span_id"]
    assert activity_client["parent_id"] == orchestration["span_id"]


def _schedule_and_wait(address: str) -> None:
    with client.TaskHubGrpcClient(host_address=address) as c:
        instance_id = c.schedule_new_orchestration(traced_parent)
        state = c.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT)
    assert state is not None
    assert state.runtime_status is client.OrchestrationStatus.COMPLETED


def _run_official_worker(
    python: Path, workdir: Path, address: str, work: Any,
) -> list[dict[str, Any]]:
    """Serve with the official worker while ``work(address)`` runs; return its spans."""
    stderr_path = workdir / "tracing-worker.stderr"
    with stderr_path.open("w") as stderr, subprocess.Popen(
        [str(python), "-I", str(TRACING_DRIVER), "worker", "--address", address],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=workdir,
        env=_official_env(),
    ) as proc:
        try:
            ready = read_first_line(proc, SERVE_START_TIMEOUT_SECONDS)
            assert ready, f"official worker did not start: {stderr_path.read_text()[-4000:]}"
            work(address)
        finally:
            stop_process(proc)
        assert proc.stdout is not None
        lines = proc.stdout.read().strip().splitlines()
    assert proc.returncode == 0, stderr_path.read_text()[-STDERR_TAIL_CHARS:]
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture
def run_worker_on() -> Iterator[Any]:
    """Starts our worker serving ``traced_parent`` against an address."""
    started: list[worker.TaskHubGrpcWorker] = []

    def start(address: str) -> worker.TaskHubGrpcWorker:
        w = worker.TaskHubGrpcWorker(host_address=address,
                                     resiliency_options=FAST_WORKER_RESILIENCY)
        w.add_orchestrator(traced_parent)
        w.add_activity(traced_greet)
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
