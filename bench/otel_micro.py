"""The tracing and metrics calls of one ``hello`` orchestration, in process, without gRPC.

Run as ``python -s bench/otel_micro.py --mode MODE`` (``python -m bench.observability --micro``
runs it in a fresh process per mode). It makes the calls that the client and the worker make
for one ``hello`` orchestration (schedule it, two orchestration episodes, one activity, the
work-item counts and measurements) on prepared protocol messages, and prints the thread CPU
time per orchestration (best of the repeats, so the machine's neighbours matter less):

* ``absent``: the no-op facade, what runs without the extra (the harness's own cost);
* ``off``: OpenTelemetry importable, no provider set;
* ``on``: the SDK's providers (batch span processor, in-memory metric reader). It also times
  OpenTelemetry's SDK alone making the same 4 spans and 5 histogram measurements
  (``sdk_alone_us``), so ``on - absent - sdk_alone`` is the facade's own cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

ORCHESTRATIONS = 2000
REPEATS = 9
_ACTIVITY_ATTRIBUTES = {"durabletask.type": "activity", "durabletask.task.name": "say",
                        "durabletask.task.instance_id": "bench-1",
                        "durabletask.task.task_id": "0"}
_DURATION_ATTRIBUTES = {"durabletask.work_item.kind": "activity",
                        "durabletask.work_item.outcome": "success"}


def _providers() -> Any:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Dropping(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    # A queue that never fills: dropping spans (and logging it) would be another cost.
    provider.add_span_processor(BatchSpanProcessor(Dropping(), max_queue_size=1 << 20))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return provider


class _Results:
    def __init__(self, trace: Any, actions: list[Any]) -> None:
        self.trace = trace
        self.actions = actions


def _orchestration(tracing: Any, metrics: Any) -> Callable[[], None]:
    """One ``hello`` orchestration's observability calls, in the order the SDK makes them."""
    from durabletask.internal.engine.trace_journal import TaskFinished, TraceRecord
    from durabletask.internal.proto import orchestrator_service_pb2 as pb

    def episode(request: Any, record: Any, action: Any, hit: bool) -> Any:
        if metrics.enabled:
            metrics.received("orchestration", 100)
            metrics.episode(0.001, hit)
        results = _Results(record, [action])
        trace = tracing.episode(request, results)
        if trace is not None:
            trace.stamp(results.actions)
        response = pb.OrchestratorResponse(instanceId="bench-1")
        response.actions.extend(results.actions)
        if trace is not None:
            trace.fill(response)
        if metrics.enabled:
            metrics.completed("orchestration", False, 0.001, 100)
        if trace is not None:
            trace.emit(response.actions)
        return response

    def run() -> None:
        with tracing.scheduling("hello", "bench-1", None) as parent:
            pass
        schedule = pb.OrchestratorAction(id=0)
        schedule.scheduleTask.name = "say"
        first = episode(pb.OrchestratorRequest(instanceId="bench-1"),
                        TraceRecord("hello", None, "e", parent, ()), schedule, False)
        sent = first.actions[0].scheduleTask.parentTraceContext
        activity = pb.ActivityRequest(name="say", taskId=0)
        activity.orchestrationInstance.instanceId = "bench-1"
        activity.parentTraceContext.CopyFrom(sent)
        if metrics.enabled:
            metrics.received("activity", 100)
        tracing.activity(activity).run(lambda: None)
        if metrics.enabled:
            metrics.completed("activity", False, 0.001, 100)
        second = pb.OrchestratorRequest(instanceId="bench-1")
        if first.HasField("orchestrationTraceContext"):  # the sidecar keeps it if sent
            second.orchestrationTraceContext.CopyFrom(first.orchestrationTraceContext)
        facts = ((TaskFinished("activity", "say", None, "bench-1", 0, sent, 1, 2, None),)
                 if sent.traceParent else ())
        done = pb.OrchestratorAction(id=1)
        done.completeOrchestration.orchestrationStatus = pb.ORCHESTRATION_STATUS_COMPLETED
        episode(second, TraceRecord("hello", None, "e", parent, facts), done, True)

    return run


def _sdk_alone(provider: Any) -> Callable[[], None]:
    """OpenTelemetry's SDK making the same 4 spans and 5 measurements, nothing else."""
    from opentelemetry import context, metrics, trace
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

    tracer = trace.get_tracer("bench")
    histogram = metrics.get_meter("bench").create_histogram("bench.duration", "s")
    processor = provider._active_span_processor
    remote = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1))

    def run() -> None:
        tracer.start_span("create_orchestration:hello", kind=SpanKind.PRODUCER,
                          attributes=dict(_ACTIVITY_ATTRIBUTES)).end()
        for _ in range(2):  # the orchestration SERVER and activity CLIENT spans
            processor.on_end(ReadableSpan(
                name="activity:say", context=remote, parent=remote, resource=provider.resource,
                attributes=dict(_ACTIVITY_ATTRIBUTES), kind=SpanKind.CLIENT, start_time=1,
                end_time=2))
        span = tracer.start_span(
            "activity:say", context=trace.set_span_in_context(NonRecordingSpan(remote)),
            kind=SpanKind.SERVER, attributes=dict(_ACTIVITY_ATTRIBUTES))
        context.detach(context.attach(trace.set_span_in_context(span)))
        span.end()
        for _ in range(5):
            histogram.record(0.001, _DURATION_ATTRIBUTES)

    return run


def _best_us(fn: Callable[[], None], orchestrations: int, repeats: int) -> float:
    fn()
    times = timeit.repeat(fn, number=orchestrations, repeat=repeats, timer=time.thread_time)
    return round(1e6 * min(times) / orchestrations, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["absent", "off", "on"], required=True)
    parser.add_argument("--orchestrations", type=int, default=ORCHESTRATIONS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--skip-sdk-alone", action="store_true",
                        help="time only our calls (e.g. to count instructions)")
    args = parser.parse_args()
    provider = _providers() if args.mode == "on" else None
    from durabletask.internal import observability

    if args.mode == "absent":
        tracing, metrics = observability.NOOP_TRACING, observability.NOOP_WORKER_METRICS
    else:
        tracing, metrics = observability.tracing(True), observability.worker_metrics()
    count = (args.orchestrations, args.repeats)
    result: dict[str, Any] = {
        "mode": args.mode, "us_per_orchestration": _best_us(_orchestration(tracing, metrics),
                                                            *count)}
    if provider is not None and not args.skip_sdk_alone:
        result["sdk_alone_us"] = _best_us(_sdk_alone(provider), *count)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
