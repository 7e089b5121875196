"""The embedded sidecar's metrics: what it counts, and what a metrics reader may observe.

Counting goes through ``durabletask.internal.observability`` (no-op without the extra).
The observed values (work waiting per queue, instances by status) are read on the
sidecar's own loop, whatever thread the metrics reader calls from: the store is not
shared across threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import weakref
from typing import TYPE_CHECKING, Any

import durabletask.internal.observability as observability
from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store.base import InstanceQuery

if TYPE_CHECKING:
    from durabletask.sidecar.task_hub import TaskHubCore

__all__ = ["SidecarTelemetry", "watch"]

_logger = logging.getLogger("durabletask.sidecar")
# A reader must not hang on a busy or stopping sidecar.
_READ_TIMEOUT_SECONDS = 2.0
_STATUS_NAMES = {value: name.removeprefix("ORCHESTRATION_STATUS_")
                 for name, value in pb.OrchestrationStatus.items()}

_kept: weakref.WeakKeyDictionary[Any, SidecarTelemetry] = weakref.WeakKeyDictionary()

metrics = observability.sidecar_metrics()
"""Counters the dispatcher reports to (lease expirations, redeliveries)."""


class SidecarTelemetry:
    """The observed metrics of one task hub's core."""

    def __init__(self, core: TaskHubCore, hub: str, loop: asyncio.AbstractEventLoop) -> None:
        """Observe ``core`` (serving task hub ``hub``) on ``loop``."""
        self._core = core
        self._hub = hub
        self._loop = loop

    def _read(self) -> dict[str, Any]:
        counts = self._core.count_by_status(InstanceQuery())
        return {
            "task_hub": self._hub,
            "backlog": self._core.dispatcher.backlog(),
            "instances": {_STATUS_NAMES.get(status, str(status)): count
                          for status, count in counts.items()},
        }

    def metrics_snapshot(self) -> dict[str, Any]:
        """Backlog per queue and instances by status (from any thread)."""
        if self._loop.is_closed():
            return {}
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return self._read()

        async def read() -> dict[str, Any]:  # noqa: ASYNC124 - run on the sidecar's loop
            return self._read()

        future = asyncio.run_coroutine_threadsafe(read(), self._loop)
        try:
            return future.result(_READ_TIMEOUT_SECONDS)
        except (concurrent.futures.TimeoutError, RuntimeError) as exc:
            future.cancel()
            _logger.debug("sidecar metrics not read: %r", exc)
            return {}


def watch(core: TaskHubCore, hub: str) -> None:
    """Let a metrics reader observe ``core``; call on the sidecar's loop."""
    if observability.AVAILABLE:
        telemetry = SidecarTelemetry(core, hub, asyncio.get_running_loop())
        _kept[core] = telemetry  # the registry holds it weakly: live as long as the core
        observability.register_sidecar(telemetry)
