"""The metrics half of the facade: OpenTelemetry instruments (loaded only with the extra).

Instruments are created once per process on the global meter provider (through the API's
proxy, so a provider set later still receives them). Counters that a component already keeps
(cache hits, reconnects, backlog) are observed from registered sources at collection time
rather than counted twice; a source that goes away leaves its totals behind, so observed
counters never go down. docs/observability.md lists every instrument.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.environment_variables import OTEL_PYTHON_METER_PROVIDER
from opentelemetry.metrics import CallbackOptions, Observation

from durabletask.internal.observability.names import METER_NAME
from durabletask.internal.observability.providers import ProviderWatch

_Proxy: Any
_api: Any
try:  # the API's stand-in until the application sets a meter provider
    from opentelemetry.metrics import _internal as _api
    from opentelemetry.metrics._internal import _ProxyMeterProvider as _Proxy
except ImportError:  # pragma: no cover - another API version: always record
    _api = _Proxy = None

__all__ = ["SidecarMetrics", "WorkerMetrics", "register_sidecar", "register_worker"]

KIND = "durabletask.work_item.kind"
OUTCOME = "durabletask.work_item.outcome"
DIRECTION = "durabletask.payload.direction"
CACHE_RESULT = "durabletask.cache.result"
QUEUE = "durabletask.queue"
TASK_HUB = "durabletask.task_hub"
STATUS = "durabletask.orchestration.status"
OWNER = "durabletask.channel.owner"
REASON = "durabletask.redelivery.reason"

DURATION = "durabletask.worker.work_item.duration"
EPISODE_DURATION = "durabletask.worker.orchestration.episode.duration"
HISTOGRAMS_ENV = "DURABLETASK_OTEL_HISTOGRAMS"
"""Which per-work-item histograms the worker records: ``all`` (the default), ``none``, or a
comma-separated list of their names. A measurement costs about as much as a span in
OpenTelemetry's SDK (docs/observability.md, "What it costs"); the counters stay."""

Totals = dict[tuple[str, tuple[tuple[str, str], ...]], int]
"""Monotonic counts a worker reports: (instrument name, attributes) -> count."""

# The observed counters, with their unit and description.
_TOTAL_UNITS = {
    "durabletask.worker.work_items": (
        "{work_item}", "Work items received from the sidecar, by kind"),
    "durabletask.worker.work_items.completed": (
        "{work_item}", "Work items completed, by kind and outcome (success or failure)"),
    "durabletask.worker.work_items.abandoned": (
        "{work_item}", "Work items handed back to the sidecar or whose completion it refused"),
    "durabletask.worker.payload.io": (
        "By", "Serialized bytes of work items received and completions sent, by kind"),
    "durabletask.worker.orchestration_cache.lookups": (
        "{lookup}", "Orchestration cache lookups, by result (hit or miss)"),
    "durabletask.worker.orchestration_cache.evictions": (
        "{orchestration}", "Orchestrations evicted from the cache"),
    "durabletask.worker.stream.reconnects": (
        "{reconnect}", "Work-item streams opened again after one ended"),
    "durabletask.worker.stream.silent_disconnects": (
        "{disconnect}", "Work-item streams ended because the sidecar fell silent"),
}

_logger = logging.getLogger("durabletask.observability")
_lock = threading.Lock()
_workers: weakref.WeakSet[Any] = weakref.WeakSet()
_retired: Totals = {}
_sidecars: weakref.WeakSet[Any] = weakref.WeakSet()
_instruments: dict[str, Any] = {}


def register_worker(source: Any) -> Callable[[], None]:
    """Observe ``source.metrics_snapshot()`` until the returned function is called.

    The snapshot is a dict with ``totals`` (:data:`Totals`), ``in_flight`` (by kind) and
    ``cache_size``; it is read from the metrics reader's thread.
    """
    _ensure_instruments()
    with _lock:
        _workers.add(source)

    def unregister() -> None:
        with _lock:
            if source not in _workers:
                return
            _workers.discard(source)
            for key, count in _snapshot(source).get("totals", {}).items():
                _retired[key] = _retired.get(key, 0) + count

    return unregister


def register_sidecar(source: Any) -> None:
    """Observe ``source.metrics_snapshot()`` (backlog and instances) while it lives."""
    _ensure_instruments()
    with _lock:
        _sidecars.add(source)


def _snapshot(source: Any) -> dict[str, Any]:
    try:
        return dict(source.metrics_snapshot())
    except Exception:  # a source that is shutting down reports nothing this time
        return {}


def _live(sources: weakref.WeakSet[Any]) -> list[dict[str, Any]]:
    with _lock:
        members = list(sources)
    return [_snapshot(source) for source in members]


def _observe_totals(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        with _lock:
            summed = {key: count for key, count in _retired.items() if key[0] == name}
        for snapshot in _live(_workers):
            for key, count in snapshot.get("totals", {}).items():
                if key[0] == name:
                    summed[key] = summed.get(key, 0) + count
        return [Observation(count, dict(attrs)) for (_, attrs), count in sorted(summed.items())]

    return callback


def _observe_in_flight(options: CallbackOptions) -> Iterable[Observation]:
    totals: dict[str, int] = {}
    for snapshot in _live(_workers):
        for kind, count in snapshot.get("in_flight", {}).items():
            totals[kind] = totals.get(kind, 0) + count
    return [Observation(count, {KIND: kind}) for kind, count in sorted(totals.items())]


def _observe_cache_size(options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(sum(s.get("cache_size", 0) for s in _live(_workers)))]


def _observe_sidecar(key: str, attribute: str) -> Callable[..., Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        found = []
        for snapshot in _live(_sidecars):
            hub = snapshot.get("task_hub", "")
            for label, value in snapshot.get(key, {}).items():
                found.append(Observation(value, {attribute: label, TASK_HUB: hub}))
        return found

    return callback


def _ensure_instruments() -> Mapping[str, Any]:
    with _lock:
        if _instruments:
            return _instruments
        meter = metrics.get_meter(METER_NAME)
        made = _instruments
        made["duration"] = meter.create_histogram(
            DURATION, "s",
            "From a work item's arrival to its completion (or abandon)")
        made["episode"] = meter.create_histogram(
            EPISODE_DURATION, "s",
            "Engine time of one orchestration episode (replay plus new events)")
        made["recreations"] = meter.create_counter(
            "durabletask.channel.recreations", "{recreation}",
            "gRPC channels replaced after transport failures, by owner")
        made["lease_expirations"] = meter.create_counter(
            "durabletask.sidecar.lease.expirations", "{lease}",
            "Work-item leases that expired without an answer, by queue")
        made["redeliveries"] = meter.create_counter(
            "durabletask.sidecar.redeliveries", "{work_item}",
            "Delivered work items queued again, by queue and reason (lost or abandoned)")
        for name, (unit, description) in _TOTAL_UNITS.items():
            meter.create_observable_counter(name, [_observe_totals(name)], unit, description)
        meter.create_observable_up_down_counter(
            "durabletask.worker.work_items.in_flight", [_observe_in_flight], "{work_item}",
            "Work items queued or running in the worker, by kind")
        meter.create_observable_up_down_counter(
            "durabletask.worker.orchestration_cache.size", [_observe_cache_size],
            "{orchestration}", "Orchestrations kept live in the cache")
        meter.create_observable_up_down_counter(
            "durabletask.sidecar.backlog", [_observe_sidecar("backlog", QUEUE)], "{work_item}",
            "Work waiting for a worker, by queue (orchestration, activity, entity)")
        meter.create_observable_up_down_counter(
            "durabletask.sidecar.instances", [_observe_sidecar("instances", STATUS)],
            "{instance}", "Orchestration instances, by status")
        return made


_RECEIVED = "durabletask.worker.work_items"
_COMPLETED = "durabletask.worker.work_items.completed"
_ABANDONED = "durabletask.worker.work_items.abandoned"
_PAYLOAD = "durabletask.worker.payload.io"
meter_provider_set = ProviderWatch(_api, "_METER_PROVIDER", OTEL_PYTHON_METER_PROVIDER,
                                   metrics.get_meter_provider, _Proxy)
"""True once the application set a meter provider (before that, nothing is read)."""


def histograms_recorded() -> frozenset[str]:
    """The histogram names ``$DURABLETASK_OTEL_HISTOGRAMS`` asks for (read as a worker starts)."""
    known = frozenset((DURATION, EPISODE_DURATION))
    value = os.environ.get(HISTOGRAMS_ENV, "all").strip()
    if value in ("", "all"):
        return known
    if value == "none":
        return frozenset()
    named = frozenset(name.strip() for name in value.split(",") if name.strip())
    if named - known:
        _logger.warning("%s names no histogram %s; the worker's are %s", HISTOGRAMS_ENV,
                        sorted(named - known), sorted(known))
    return named & known


class _NotRecorded:
    """A histogram the application chose not to record (``$DURABLETASK_OTEL_HISTOGRAMS``)."""

    @staticmethod
    def record(amount: float, attributes: Any = None) -> None:
        """Nothing recorded."""


_NOT_RECORDED = _NotRecorded()


class _KindKeys:
    """Everything a worker records for one work-item kind, built once (no per-call tuples)."""

    __slots__ = ("received", "bytes_in", "bytes_out", "completed", "abandoned", "duration")

    def __init__(self, kind: str) -> None:
        by_kind = ((KIND, kind),)
        self.received = (_RECEIVED, by_kind)
        self.bytes_in = (_PAYLOAD, ((KIND, kind), (DIRECTION, "received")))
        self.bytes_out = (_PAYLOAD, ((KIND, kind), (DIRECTION, "sent")))
        self.completed = {failed: (_COMPLETED, ((KIND, kind), (OUTCOME, outcome)))
                          for failed, outcome in ((False, "success"), (True, "failure"))}
        self.abandoned = (_ABANDONED, by_kind)
        # Histogram attributes, shared by every measurement (never mutated).
        self.duration = {outcome: {KIND: kind, OUTCOME: outcome}
                         for outcome in ("success", "failure", "abandoned")}


_EPISODE_ATTRIBUTES = {hit: {CACHE_RESULT: "hit" if hit else "miss"} for hit in (True, False)}


class WorkerMetrics:
    """What the worker reports per work item (instruments shared by the process).

    Counts (and bytes) are kept as plain integers and observed at collection time
    (:meth:`totals`); only the duration histograms cost a measurement per work item.
    """

    available = True

    @property
    def enabled(self) -> bool:
        """True once the application set a meter provider (before that, nothing is read)."""
        return meter_provider_set()

    def __init__(self) -> None:
        """Bind to the process's instruments (the histograms ``$HISTOGRAMS_ENV`` names)."""
        made = _ensure_instruments()
        recorded = histograms_recorded()
        self._duration = made["duration"] if DURATION in recorded else _NOT_RECORDED
        self._episode = made["episode"] if EPISODE_DURATION in recorded else _NOT_RECORDED
        self._counts: Totals = {}
        self._kinds: dict[str, _KindKeys] = {}

    def _keys(self, kind: str) -> _KindKeys:
        keys = self._kinds.get(kind)
        if keys is None:
            keys = self._kinds[kind] = _KindKeys(kind)
        return keys

    def totals(self) -> Totals:
        """The work-item counts so far (for the observed counters)."""
        return dict(self._counts)

    def received(self, kind: str, size: int) -> None:
        """A work item of ``kind`` arrived (``size`` bytes serialized)."""
        keys, counts = self._keys(kind), self._counts
        counts[keys.received] = counts.get(keys.received, 0) + 1
        counts[keys.bytes_in] = counts.get(keys.bytes_in, 0) + size

    def completed(self, kind: str, failed: bool, seconds: float, size: int) -> None:
        """Its completion was accepted; ``failed`` when it reports a failure."""
        keys, counts = self._keys(kind), self._counts
        completed = keys.completed[failed]
        counts[completed] = counts.get(completed, 0) + 1
        counts[keys.bytes_out] = counts.get(keys.bytes_out, 0) + size
        self._duration.record(seconds, keys.duration["failure" if failed else "success"])

    def abandoned(self, kind: str, seconds: float) -> None:
        """It was handed back, or its completion was refused or could not be sent."""
        keys, counts = self._keys(kind), self._counts
        counts[keys.abandoned] = counts.get(keys.abandoned, 0) + 1
        self._duration.record(seconds, keys.duration["abandoned"])

    def episode(self, seconds: float, hit: bool) -> None:
        """One orchestration episode ran in the engine."""
        self._episode.record(seconds, _EPISODE_ATTRIBUTES[hit])


class SidecarMetrics:
    """What the embedded sidecar reports as it happens."""

    enabled = True

    def __init__(self) -> None:
        """Bind to the process's instruments."""
        made = _ensure_instruments()
        self._expirations = made["lease_expirations"]
        self._redeliveries = made["redeliveries"]

    def lease_expired(self, queue: str) -> None:
        """A lease of a ``queue`` work item expired."""
        self._expirations.add(1, {QUEUE: queue})

    def redelivered(self, queue: str, reason: str) -> None:
        """A delivered work item was queued again (reason ``lost`` or ``abandoned``)."""
        self._redeliveries.add(1, {QUEUE: queue, REASON: reason})


def channel_recreated(owner: str) -> None:
    """A channel was replaced (called from the transport's event stream)."""
    _ensure_instruments()["recreations"].add(1, {OWNER: owner})
