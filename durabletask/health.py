"""Worker health and readiness: a typed snapshot, and an optional HTTP endpoint.

An addition to the official API. ``TaskHubGrpcWorker.health()`` returns a
:class:`WorkerHealth`; ``TaskHubGrpcWorker.is_ready()`` is ``health().ready``.
:class:`HealthServer` serves ``/healthz`` and ``/readyz`` for container orchestrators
(off unless you start one). See docs/observability.md.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from durabletask.internal.observability.health_http import HealthServer

__all__ = ["HealthServer", "StreamState", "WorkerHealth"]


class StreamState(str, enum.Enum):
    """The state of a worker's work-item stream to its sidecar."""

    CONNECTED = "connected"
    """The stream is open (``Hello`` answered, ``GetWorkItems`` streaming), busy or idle."""
    CONNECTING = "connecting"
    """Saying ``Hello``, opening the stream, or replacing a dead channel."""
    BACKOFF = "backoff"
    """The last connection ended; waiting before the next attempt."""
    STOPPED = "stopped"
    """Not started, stopping or stopped."""


@dataclass(frozen=True)
class WorkerHealth:
    """A snapshot of a worker's connection and load.

    Attributes:
        state: The work-item stream's state.
        seconds_since_last_message: Time since the sidecar last sent anything (a work
            item, a health ping or a ``Hello`` answer); None before the first.
        reconnects: Streams opened again after one ended, since :meth:`start`.
        in_flight: Work items queued or running, by kind (``orchestration``,
            ``activity``, ``entity``).
        cache_size: Orchestrations kept live in the orchestration cache.
    """

    state: StreamState
    seconds_since_last_message: float | None = None
    reconnects: int = 0
    in_flight: Mapping[str, int] = field(default_factory=dict)
    cache_size: int = 0

    @property
    def ready(self) -> bool:
        """True when the worker can receive work now (its stream is connected)."""
        return self.state is StreamState.CONNECTED

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form (what :class:`HealthServer` answers)."""
        return {
            "state": self.state.value,
            "ready": self.ready,
            "secondsSinceLastMessage": self.seconds_since_last_message,
            "reconnects": self.reconnects,
            "inFlight": dict(self.in_flight),
            "cacheSize": self.cache_size,
        }
