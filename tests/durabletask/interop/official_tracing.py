"""Runs under the OFFICIAL durabletask==1.12.0 with OpenTelemetry's SDK; prints its spans.

Usage (always ``python -I official_tracing.py ...`` from a temp directory, in the venv that
holds the official package and ``opentelemetry-sdk``):

* ``client --address HOST:PORT``: schedules ``traced_parent`` with the official client,
  waits for it to complete, and prints one JSON line ``{"instance_id", "status", "spans"}``.
* ``worker --address HOST:PORT``: serves ``traced_parent`` (and its activity
  ``traced_greet``) with the official worker, prints ``{"ready": true}``, and when stdin
  closes stops and prints each span it emitted as one JSON line.

A span is ``{"name", "kind", "trace_id", "span_id", "parent_id", "attributes"}`` with ids
in hex.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

WAIT_SECONDS = 60


def _install() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def _span(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "attributes": dict(span.attributes or {}),
    }


def traced_greet(ctx: Any, name: str) -> str:
    return f"Hello {name}"


def traced_parent(ctx: Any, _: Any) -> Any:
    greeting = yield ctx.call_activity(traced_greet, input="official")
    return greeting


def _client(address: str) -> int:
    exporter = _install()
    from durabletask import client

    c = client.TaskHubGrpcClient(host_address=address)
    instance_id = c.schedule_new_orchestration("traced_parent")
    state = c.wait_for_orchestration_completion(instance_id, timeout=WAIT_SECONDS)
    status = state.runtime_status.name if state is not None else None
    spans = [_span(s) for s in exporter.get_finished_spans()]
    sys.stdout.write(json.dumps({"instance_id": instance_id, "status": status,
                                 "spans": spans}) + "\n")
    return 0


def _worker(address: str) -> int:
    exporter = _install()
    from durabletask import worker

    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_orchestrator(traced_parent)
    w.add_activity(traced_greet)
    w.start()
    try:
        sys.stdout.write(json.dumps({"ready": True}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # returns when the test closes our stdin
    finally:
        w.stop()
    for span in exporter.get_finished_spans():
        sys.stdout.write(json.dumps(_span(span)) + "\n")
    sys.stdout.flush()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["client", "worker"])
    parser.add_argument("--address", required=True)
    args = parser.parse_args()
    return _client(args.address) if args.mode == "client" else _worker(args.address)


if __name__ == "__main__":
    sys.exit(main())
