"""The handle of an orchestration's critical section over locked entities."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

__all__ = ["EntityLock"]


class _CriticalSectionOwner(Protocol):
    """The orchestration context that opened the critical section."""

    def _exit_critical_section(self) -> None: ...


class EntityLock:
    """Releases the entities locked by ``ctx.lock_entities`` when the ``with`` block ends.

    Obtained with ``with (yield ctx.lock_entities([id1, id2])):``. Leaving the block, also
    by an exception, asks the orchestration context to unlock every entity of the section;
    the exception is not suppressed.

    Args:
        context: The orchestration context that acquired the locks.
    """

    def __init__(self, context: _CriticalSectionOwner) -> None:
        self._context = context

    def __enter__(self) -> EntityLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._context._exit_critical_section()
