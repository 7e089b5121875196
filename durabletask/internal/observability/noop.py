"""The facade without OpenTelemetry: every call returns at once and records nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["NOOP_SIDECAR_METRICS", "NOOP_TRACING", "NOOP_WORKER_METRICS"]

T = TypeVar("T")


class _NoopActivity:
    @staticmethod
    def run(fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    @staticmethod
    async def run_async(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return await fn(*args)


_NOOP_ACTIVITY = _NoopActivity()
_NOTHING = contextlib.nullcontext()  # reusable: it holds no state


class NoopTracing:
    """Tracing when OpenTelemetry is not installed."""

    enabled = False
    emit = False

    def scheduling(
        self, name: str, instance_id: str, version: str | None
    ) -> contextlib.AbstractContextManager[None]:
        """Nothing to send."""
        return _NOTHING

    def raising_event(
        self, event_name: str, instance_id: str
    ) -> contextlib.AbstractContextManager[None]:
        """No span."""
        return _NOTHING

    def current_context(self) -> None:
        """No current span."""
        return None

    def episode(self, request: Any, results: Any) -> None:
        """No episode trace."""
        return None

    def activity(self, request: Any) -> _NoopActivity:
        """Runs the activity as it is."""
        return _NOOP_ACTIVITY

    def entity_batch(self, request: Any, result: Any) -> None:
        """No spans."""


class NoopWorkerMetrics:
    """Worker metrics when OpenTelemetry is not installed."""

    available = False
    enabled = False

    def totals(self) -> dict[Any, int]:
        """Nothing counted."""
        return {}

    def received(self, kind: str, size: int) -> None:
        """Nothing recorded."""

    def completed(self, kind: str, failed: bool, seconds: float, size: int) -> None:
        """Nothing recorded."""

    def abandoned(self, kind: str, seconds: float) -> None:
        """Nothing recorded."""

    def episode(self, seconds: float, hit: bool) -> None:
        """Nothing recorded."""


class NoopSidecarMetrics:
    """Sidecar metrics when OpenTelemetry is not installed."""

    enabled = False

    def lease_expired(self, queue: str) -> None:
        """Nothing recorded."""

    def redelivered(self, queue: str, reason: str) -> None:
        """Nothing recorded."""


NOOP_TRACING = NoopTracing()
NOOP_WORKER_METRICS = NoopWorkerMetrics()
NOOP_SIDECAR_METRICS = NoopSidecarMetrics()
