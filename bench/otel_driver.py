"""Runs the ``hello`` scenario with OpenTelemetry absent, installed but idle, or recording.

Run as ``python -s bench/otel_driver.py --mode MODE ...`` from an empty temporary directory
(``bench/observability.py`` does):

* ``absent``: started with a ``sitecustomize`` on ``PYTHONPATH`` that makes every
  ``opentelemetry`` import fail, as if the extra were not installed;
* ``off``: OpenTelemetry importable, no provider configured (the API's no-op default);
* ``on``: the SDK's tracer provider (batch span processor, spans counted then dropped) and
  meter provider (an in-memory reader, collected once at the end).

Prints the scenario's figures as one JSON line, plus ``spans`` and ``metric_points``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

# Run as a script: bench/ is sys.path[0], so the scenario driver is importable by name.
from driver import load_scenarios


def _record() -> tuple[Any, Any, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Counting(SpanExporter):
        """Counts spans and drops them (the cost of a real exporter is not ours)."""

        def __init__(self) -> None:
            self.count = 0

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.count += len(spans)
            return SpanExportResult.SUCCESS

    exporter = Counting()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return provider, exporter, reader


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["absent", "off", "on"], required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--sidecar-pid", type=int, required=True)
    args = parser.parse_args()
    recording = _record() if args.mode == "on" else None
    result = load_scenarios().measure(args.address, "hello", args.n, args.sidecar_pid)
    from durabletask.internal import observability

    result.update(mode=args.mode, otel_importable=observability.AVAILABLE)
    if recording is not None:
        provider, exporter, reader = recording
        provider.force_flush()
        data = reader.get_metrics_data()
        result["spans"] = exporter.count
        result["metric_points"] = sum(
            len(m.data.data_points) for r in data.resource_metrics for s in r.scope_metrics
            for m in s.metrics)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
