"""OpenTelemetry's SDK capturing what our SDK emits, in memory, on real runs (fixtures).

The global tracer and meter providers can be set once per process, so they are set once
here and shared: spans reach the in-memory exporter only while a test holds the
``spans`` fixture (the rest of the suite pays nothing), and metrics are read on demand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _GatedProcessor(SpanProcessor):
    """Exports finished spans to memory only while a test records them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.recording = threading.Event()

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording.is_set():
            self.exporter.export((span,))


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _install() -> tuple[_GatedProcessor, InMemoryMetricReader]:
    with _lock:
        if not _state:
            processor = _GatedProcessor()
            provider = TracerProvider()
            provider.add_span_processor(processor)
            trace.set_tracer_provider(provider)
            reader = InMemoryMetricReader()
            metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
            _state.update(processor=processor, reader=reader)
        return _state["processor"], _state["reader"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Finished spans of this test (``spans.get_finished_spans()``)."""
    processor, _reader = _install()
    processor.exporter.clear()
    processor.recording.set()
    try:
        yield processor.exporter
    finally:
        processor.recording.clear()
        processor.exporter.clear()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    """Reads the process's metrics on demand (cumulative since the process started)."""
    return _install()[1]
