"""Our wire dialect: gRPC metadata by which our sidecar and our worker say more than the proto.

Everything here travels as gRPC metadata on standard RPCs, so other sidecars and workers
ignore it and the standard protocol stays the fallback (DESIGN.md "Protocol extensions").
Both the sidecar and the worker import this module; it needs nothing but the standard library.

Sidecar to worker, as initial metadata of every ``Hello`` answer:

* ``durabletask-health-ping-ms``: every ``GetWorkItems`` stream gets a ``HealthPing`` at
  least this often (the worker then arms a short silent-disconnect window);
* ``durabletask-min-ping-interval-ms``: the shortest client keepalive interval the server
  accepts without answering GOAWAY ``too_many_pings`` (the worker may then use a short one);
* ``durabletask-drain: 1``: the sidecar honours drain notices (below).
* ``durabletask-completion-stream: 1``: the sidecar serves the ``CompletionStream``
  extension (protos/durabletask_extensions.proto): the worker may send its completions as
  messages on one stream per connection instead of one unary ``Complete*`` call each
  (``DURABLETASK_COMPLETION_STREAM=0`` in the worker's environment opts out).

Worker to sidecar:

* ``durabletask-worker-id`` on ``GetWorkItems``: one id per running worker. A new stream
  with the id of an open stream proves the old one dead (the worker reconnected), so its
  work is redelivered at once instead of after the sidecar's keepalive gives up on it.
* a drain notice: ``Hello`` with ``durabletask-worker-id`` and ``durabletask-drain: <grace
  ms>``. The worker is stopping cleanly: the sidecar sends it nothing new, ends its stream,
  and keeps the leases it holds valid for the grace period, so that its completions are
  accepted and what it abandons is requeued without counting a lost worker.
* ``durabletask-query-order: newest-first`` and ``durabletask-query-name: <JSON string>`` on
  ``QueryInstances`` (sent by the ``durabletask`` command line): list newest first, only
  instances of that orchestrator name. A sidecar that applied them says so in its initial
  metadata (``durabletask-query-applied: 1``); others ignore them, and the command line then
  orders and filters what it receives itself.
* ``durabletask-event-waits`` on ``CompleteOrchestratorTask``: after the episode, the names
  of the external events the orchestration waits for and of the events it received that
  nothing waited for (ASCII JSON, bounded). The sidecar shows them (``durabletask show``)
  and warns once about an event nothing waits for, such as a misspelt name.
* ``durabletask-abandon-reason: process-lost`` on ``AbandonTaskActivityWorkItem``: the
  activity's process died under it (process isolation). The sidecar counts the redelivery
  as a lost worker, so a poison activity ends in ``WorkerLost`` after
  ``max_recovery_attempts`` instead of being handed back forever.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "COMPLETION_STREAM_KEY",
    "DRAIN_KEY",
    "QueryHints",
    "EVENT_WAITS_KEY",
    "HEALTH_PING_KEY",
    "MIN_PING_INTERVAL_KEY",
    "WORKER_ID_KEY",
    "DrainNotice",
    "EventWaits",
    "SidecarTraits",
    "read_worker_id",
]

HEALTH_PING_KEY = "durabletask-health-ping-ms"
MIN_PING_INTERVAL_KEY = "durabletask-min-ping-interval-ms"
DRAIN_KEY = "durabletask-drain"
COMPLETION_STREAM_KEY = "durabletask-completion-stream"
WORKER_ID_KEY = "durabletask-worker-id"
EVENT_WAITS_KEY = "durabletask-event-waits"
QUERY_ORDER_KEY = "durabletask-query-order"
QUERY_NAME_KEY = "durabletask-query-name"
QUERY_APPLIED_KEY = "durabletask-query-applied"
ABANDON_REASON_KEY = "durabletask-abandon-reason"
PROCESS_LOST = "process-lost"
PROCESS_LOST_METADATA = ((ABANDON_REASON_KEY, PROCESS_LOST),)
_NEWEST_FIRST = "newest-first"
# Bounds of an event report: metadata must stay well under gRPC's 8 KiB header limit.
_MAX_REPORTED_NAMES = 20
_MAX_REPORTED_NAME_CHARS = 100

Metadata = Iterable[tuple[str, object]]


def _lookup(metadata: Metadata | None, key: str) -> str | None:
    for name, value in metadata or ():
        if name.lower() == key and isinstance(value, str):
            return value
    return None


def _milliseconds(metadata: Metadata | None, key: str) -> int | None:
    text = _lookup(metadata, key)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value > 0 else None


@dataclass(frozen=True, slots=True)
class SidecarTraits:
    """What a sidecar advertised in its ``Hello`` answer; all unknown for other sidecars.

    Attributes:
        health_ping_ms: Longest gap between two health pings on a stream, or None.
        min_ping_interval_ms: Shortest client keepalive interval accepted, or None.
        drain: Whether drain notices are honoured.
        completion_stream: Whether the ``CompletionStream`` extension is served.
    """

    health_ping_ms: int | None = None
    min_ping_interval_ms: int | None = None
    drain: bool = False
    completion_stream: bool = False

    @classmethod
    def from_metadata(cls, metadata: Metadata | None) -> SidecarTraits:
        """Read the traits from ``Hello``'s initial metadata (anything malformed is unknown)."""
        return cls(
            health_ping_ms=_milliseconds(metadata, HEALTH_PING_KEY),
            min_ping_interval_ms=_milliseconds(metadata, MIN_PING_INTERVAL_KEY),
            drain=_lookup(metadata, DRAIN_KEY) == "1",
            completion_stream=_lookup(metadata, COMPLETION_STREAM_KEY) == "1",
        )

    def to_metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the metadata that advertises these traits."""
        pairs: list[tuple[str, str]] = []
        if self.health_ping_ms is not None:
            pairs.append((HEALTH_PING_KEY, str(self.health_ping_ms)))
        if self.min_ping_interval_ms is not None:
            pairs.append((MIN_PING_INTERVAL_KEY, str(self.min_ping_interval_ms)))
        if self.drain:
            pairs.append((DRAIN_KEY, "1"))
        if self.completion_stream:
            pairs.append((COMPLETION_STREAM_KEY, "1"))
        return tuple(pairs)


@dataclass(frozen=True, slots=True)
class DrainNotice:
    """A stopping worker's notice (sent as ``Hello`` metadata).

    Attributes:
        worker_id: The id the worker sends on its ``GetWorkItems`` streams.
        grace_seconds: How long its leases must stay valid for its completions.
    """

    worker_id: str
    grace_seconds: float

    def to_metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the metadata of the notice."""
        return ((WORKER_ID_KEY, self.worker_id),
                (DRAIN_KEY, str(max(1, round(self.grace_seconds * 1000)))))

    @classmethod
    def from_metadata(cls, metadata: Metadata | None) -> DrainNotice | None:
        """Read a notice from a call's metadata; None when it carries none."""
        worker_id = read_worker_id(metadata)
        grace = _milliseconds(metadata, DRAIN_KEY)
        if worker_id is None or grace is None:
            return None
        return cls(worker_id, grace / 1000.0)


def reports_process_lost(metadata: Metadata | None) -> bool:
    """True when an abandon says the work item's process died under it."""
    return _lookup(metadata, ABANDON_REASON_KEY) == PROCESS_LOST


def read_worker_id(metadata: Metadata | None) -> str | None:
    """Return the worker id a call carries, or None."""
    value = _lookup(metadata, WORKER_ID_KEY)
    return value or None


@dataclass(frozen=True, slots=True)
class EventWaits:
    """What an orchestration waits for after an episode, as its worker reports it.

    Attributes:
        awaited: Names of the external events it waits for.
        unclaimed: Names of the events it received that nothing waited for, with counts.
    """

    awaited: tuple[str, ...] = ()
    unclaimed: Mapping[str, int] = field(default_factory=dict)

    def to_metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the metadata of the report (bounded; JSON with non-ASCII escaped)."""
        def cut(name: str) -> str:
            return name[:_MAX_REPORTED_NAME_CHARS]

        document = {
            "awaited": [cut(name) for name in self.awaited[:_MAX_REPORTED_NAMES]],
            "unclaimed": {cut(name): count for name, count in
                          list(self.unclaimed.items())[:_MAX_REPORTED_NAMES]},
        }
        return ((EVENT_WAITS_KEY, json.dumps(document, separators=(",", ":"))),)

    @classmethod
    def from_metadata(cls, metadata: Metadata | None) -> EventWaits | None:
        """Read a report from a call's metadata; None when it carries none (or a bad one)."""
        text = _lookup(metadata, EVENT_WAITS_KEY)
        if text is None:
            return None
        try:
            document = json.loads(text)
            awaited = tuple(str(name) for name in document.get("awaited", ()))
            unclaimed = {str(name): int(count)
                         for name, count in dict(document.get("unclaimed", {})).items()}
        except (ValueError, TypeError, AttributeError):
            return None
        kept = dict(list(unclaimed.items())[:_MAX_REPORTED_NAMES])
        return cls(awaited[:_MAX_REPORTED_NAMES], kept)


@dataclass(frozen=True, slots=True)
class QueryHints:
    """How the command line wants ``QueryInstances`` answered, beyond the proto's filters.

    Attributes:
        newest_first: Order by creation time, newest first (the proto leaves order open).
        name: Only instances of this orchestrator name.
    """

    newest_first: bool = False
    name: str | None = None

    def to_metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the request metadata of the hints."""
        pairs: list[tuple[str, str]] = []
        if self.newest_first:
            pairs.append((QUERY_ORDER_KEY, _NEWEST_FIRST))
        if self.name is not None:
            pairs.append((QUERY_NAME_KEY, json.dumps(self.name)))
        return tuple(pairs)

    @classmethod
    def from_metadata(cls, metadata: Metadata | None) -> QueryHints:
        """Read the hints of a call (none when absent or malformed)."""
        name = None
        text = _lookup(metadata, QUERY_NAME_KEY)
        if text is not None:
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            name = value if isinstance(value, str) else None
        return cls(_lookup(metadata, QUERY_ORDER_KEY) == _NEWEST_FIRST, name)

    @staticmethod
    def applied(metadata: Metadata | None) -> bool:
        """True when the answer's initial metadata says the sidecar applied the hints."""
        return _lookup(metadata, QUERY_APPLIED_KEY) == "1"

    @staticmethod
    def applied_metadata() -> tuple[tuple[str, str], ...]:
        """The initial metadata by which a sidecar says it applied the hints."""
        return ((QUERY_APPLIED_KEY, "1"),)
