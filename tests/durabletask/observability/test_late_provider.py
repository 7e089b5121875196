"""OpenTelemetry installed but configured only after the worker and client started.

Until the application sets providers the SDK takes its no-op path (no spans, no
measurements); the providers set later are honoured from the next work item on. Global
providers can be set once per process (and the other tests of this folder set them), so the
run happens in a child process of its own.
"""

from __future__ import annotations

from tests.durabletask.observability.child import HELLO, run_child

PROGRAM = HELLO + '''
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.durabletask.helpers.wait import poll_until


def histogram_counts(reader):
    counts = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    if isinstance(point, HistogramDataPoint):
                        counts[metric.name] = counts.get(metric.name, 0) + point.count
    return counts


def spans_of(exporter, instance_id):
    return sorted(
        (span.name, span.kind.name) for span in exporter.get_finished_spans()
        if (span.attributes or {}).get("durabletask.task.instance_id") == instance_id)


with EmbeddedSidecar(port=0) as sidecar:
    w = hello_worker(sidecar.address)
    try:
        with client.TaskHubGrpcClient(host_address=sidecar.address) as c:
            before = c.schedule_new_orchestration(hello)
            c.wait_for_orchestration_completion(before, timeout=60)
            # Its last completion is measured once the sidecar answered it: let it finish.
            poll_until(lambda: not any(w.health().in_flight.values()), timeout=60,
                       message="an idle worker")

            exporter = InMemorySpanExporter()
            tracer_provider = TracerProvider()
            tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(tracer_provider)
            reader = InMemoryMetricReader()
            metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

            after = c.schedule_new_orchestration(hello)
            c.wait_for_orchestration_completion(after, timeout=60)
            # The orchestration span is emitted once the sidecar accepted the last episode.
            poll_until(lambda: len(spans_of(exporter, after)) == 5, timeout=60,
                       message="the spans of the second orchestration")
    finally:
        w.stop()

print(json.dumps({
    "before": spans_of(exporter, before),
    "after": spans_of(exporter, after),
    "histograms": histogram_counts(reader),
}))
'''


def test_providers_set_after_start_are_honoured_from_the_next_work_item():
    outcome = run_child(PROGRAM)
    assert outcome["before"] == []  # nothing of the unconfigured run turns up later
    assert outcome["after"] == [
        ["activity:say", "CLIENT"], ["activity:say", "SERVER"],
        ["create_orchestration:hello", "PRODUCER"], ["orchestration:hello", "SERVER"],
        ["orchestration:hello:timer", "INTERNAL"],
    ]
    # The second orchestration only: three orchestration work items (start, timer, activity
    # result), three episodes and one activity.
    assert outcome["histograms"] == {
        "durabletask.worker.work_item.duration": 4,
        "durabletask.worker.orchestration.episode.duration": 3,
    }
