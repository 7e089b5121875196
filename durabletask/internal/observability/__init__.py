"""Observability: traces and metrics behind a facade that is free without the extra.

The extra is ``durabletask[otel]``. Clients, the worker and the embedded sidecar call only
the functions here. When ``opentelemetry`` cannot be imported they get no-op objects whose
methods return at once; otherwise the real ones in ``otel_tracing``/``otel_metrics``. Nothing is
exported unless the application configures OpenTelemetry providers: the SDK emits to the
global tracer and meter providers, as OpenTelemetry asks libraries to.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from durabletask.internal.observability.noop import (
    NOOP_SIDECAR_METRICS,
    NOOP_TRACING,
    NOOP_WORKER_METRICS,
)

try:
    import opentelemetry.metrics  # noqa: F401
    import opentelemetry.trace  # noqa: F401
except ImportError:
    AVAILABLE = False
else:
    AVAILABLE = True

__all__ = ["AVAILABLE", "register_sidecar", "register_worker", "sidecar_metrics", "tracing",
           "watch_transport", "worker_metrics"]

_sidecar_metrics: Any = None
_transport_watched = False


def tracing(emit: bool = True) -> Any:
    """The tracing facade; ``emit=False`` propagates context only (``emit_trace_spans``)."""
    if not AVAILABLE:
        return NOOP_TRACING
    from durabletask.internal.observability.otel_tracing import Tracing

    return Tracing(emit)


def worker_metrics() -> Any:
    """The worker's metrics facade."""
    if not AVAILABLE:
        return NOOP_WORKER_METRICS
    from durabletask.internal.observability.otel_metrics import WorkerMetrics

    watch_transport()
    return WorkerMetrics()


def sidecar_metrics() -> Any:
    """The embedded sidecar's metrics facade (one per process)."""
    global _sidecar_metrics
    if not AVAILABLE:
        return NOOP_SIDECAR_METRICS
    if _sidecar_metrics is None:
        from durabletask.internal.observability.otel_metrics import SidecarMetrics

        _sidecar_metrics = SidecarMetrics()
    return _sidecar_metrics


def register_worker(source: Any) -> Any:
    """Observe a worker's counters (``source.metrics_snapshot()``); returns an unregister."""
    if not AVAILABLE:
        return _nothing
    from durabletask.internal.observability.otel_metrics import register_worker as register

    return register(source)


def register_sidecar(source: Any) -> None:
    """Observe a sidecar core's backlog and instance counts (``metrics_snapshot()``)."""
    if AVAILABLE:
        from durabletask.internal.observability.otel_metrics import register_sidecar as register

        register(source)


def watch_transport() -> None:
    """Count channel recreations from the transport's event stream (once per process)."""
    global _transport_watched
    if not AVAILABLE or _transport_watched:
        return
    _transport_watched = True
    from durabletask.internal.observability.otel_metrics import channel_recreated
    from durabletask.internal.transport import observe

    def listener(event: observe.TransportEvent) -> None:
        if event.name == "channel_recreated":
            channel_recreated(event.owner)

    observe.subscribe(listener)


def traced_client_config(config: Any, emit: bool) -> Any:
    """A client's ``ClientConfig`` with the tracing facade in its settings."""
    if not AVAILABLE:
        return config
    watch_transport()
    settings = dataclasses.replace(config.settings, tracing=tracing(emit))
    return dataclasses.replace(config, settings=settings)


def _nothing() -> None:
    return None
