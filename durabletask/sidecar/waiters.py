"""``Waiters``: futures for WaitForInstanceStart/Completion, woken on every commit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from durabletask.internal.proto import orchestrator_service_pb2 as pb
from durabletask.sidecar.store.base import InstanceRecord

Condition = Callable[[InstanceRecord | None], bool]


def is_started(record: InstanceRecord | None) -> bool:
    """True when the instance is gone or no longer PENDING."""
    return record is None or record.status != pb.ORCHESTRATION_STATUS_PENDING


def is_finished(record: InstanceRecord | None) -> bool:
    """True when the instance is gone or terminal."""
    return record is None or record.is_terminal


class Waiters:
    """Per-instance futures resolved when a condition on the instance holds.

    Event-driven: the sidecar calls :meth:`notify` after every change to an
    instance; nothing polls.
    """

    def __init__(self) -> None:
        """Create an empty registry."""
        self._waiting: dict[str, list[tuple[Condition, asyncio.Future[InstanceRecord | None]]]]
        self._waiting = {}

    async def wait(
        self,
        instance_id: str,
        current: InstanceRecord | None,
        condition: Condition,
        wait_seconds: float | None,
    ) -> InstanceRecord | None:
        """Wait until ``condition`` holds for the instance.

        Args:
            instance_id: The instance to watch.
            current: Its record now (checked first).
            condition: Predicate on the record (None when the instance was deleted).
            wait_seconds: Seconds to wait at most; None waits until cancelled.

        Returns:
            The record that satisfied the condition (None if it was deleted).

        Raises:
            TimeoutError: The condition did not hold within ``wait_seconds``.
        """
        if condition(current):
            return current
        future: asyncio.Future[InstanceRecord | None] = asyncio.get_running_loop().create_future()
        entry = (condition, future)
        self._waiting.setdefault(instance_id, []).append(entry)
        try:
            return await asyncio.wait_for(future, wait_seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"instance '{instance_id}' did not reach the awaited state within "
                f"{wait_seconds:.1f}s"
            ) from None
        finally:
            entries = self._waiting.get(instance_id, [])
            if entry in entries:
                entries.remove(entry)
            if not entries:
                self._waiting.pop(instance_id, None)

    def notify(self, instance_id: str, record: InstanceRecord | None) -> None:
        """Resolve the waiters of ``instance_id`` whose condition now holds.

        Args:
            instance_id: The changed instance.
            record: Its new record, or None if it was deleted.
        """
        entries = self._waiting.get(instance_id)
        if not entries:
            return
        for condition, future in list(entries):
            if not future.done() and condition(record):
                future.set_result(record)

    def release_all(self) -> None:
        """Resolve every pending wait as if its instance was deleted (used by reset)."""
        for entries in self._waiting.values():
            for _, future in entries:
                if not future.done():
                    future.set_result(None)

    def close(self) -> None:
        """Cancel every pending wait."""
        for entries in self._waiting.values():
            for _, future in entries:
                future.cancel()
        self._waiting.clear()
