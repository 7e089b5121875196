"""An orchestration's critical section: which entities it locked, and what it may do with them.

The rules (and their messages) are the official SDK's:

* no critical section inside another;
* inside one, calls go only to locked entities, one call per entity at a time, and only
  once the locks are granted; locked entities cannot be signalled;
* the lock set is sorted and deduplicated, so that every orchestration acquires locks in
  the same global order (no deadlocks between critical sections).

Unlocks are emitted in the official order: the lock set, where an entity that was called
moves to the end when its call returns. Unlike the official SDK, an entity whose call is
still pending when the section ends is unlocked too (last); the official one forgets it and
leaves it locked. And a second call to a locked entity whose first call is pending fails
with the message that says so (the official SDK, which forgets the entity the same way,
says it is "not one of the locked entities").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from durabletask.entities import EntityInstanceId

__all__ = ["CriticalSection", "EntityLockRules"]


@dataclass
class CriticalSection:
    """The section an orchestration is in: its id and locked entities (sorted)."""

    section_id: str
    locked: list[EntityInstanceId]
    granted: bool = False
    calls_pending: list[EntityInstanceId] = field(default_factory=list)
    available: list[EntityInstanceId] = field(default_factory=list)

    def unlock_order(self) -> list[EntityInstanceId]:
        """The entities to unlock, in the order the official SDK unlocks them."""
        if not self.granted:
            return list(self.locked)
        return [*self.available, *self.calls_pending]


class EntityLockRules:
    """Tracks the current critical section and checks each entity request against it."""

    def __init__(self) -> None:
        self.section: CriticalSection | None = None

    @property
    def is_inside_critical_section(self) -> bool:
        """True from ``lock_entities`` until the section is exited."""
        return self.section is not None

    def check_call(self, entity: EntityInstanceId) -> None:
        """Allow a call to ``entity`` and mark it busy until :meth:`call_returned`.

        Raises:
            RuntimeError: The call breaks a critical-section rule.
        """
        section = self.section
        if section is None:
            return
        if not section.granted:
            raise RuntimeError(
                "Must await the completion of the lock request prior to calling any entity."
            )
        if entity not in section.locked:
            raise RuntimeError(
                "Must not call an entity from a critical section if it is not one of the "
                "locked entities."
            )
        if entity in section.calls_pending:
            raise RuntimeError(
                "Must not call an entity from a critical section while a prior call to the "
                "same entity is still pending."
            )
        section.available.remove(entity)
        section.calls_pending.append(entity)

    def check_signal(self, entity: EntityInstanceId) -> None:
        """Allow a signal to ``entity``.

        Raises:
            RuntimeError: ``entity`` is locked by the current critical section.
        """
        if self.section is not None and entity in self.section.locked:
            raise RuntimeError("Must not signal a locked entity from a critical section.")

    def check_acquire(self) -> None:
        """Allow a lock request.

        Raises:
            RuntimeError: Already inside a critical section.
        """
        if self.section is not None:
            raise RuntimeError(
                "Must not enter another critical section from within a critical section."
            )

    def begin(self, section_id: str, entities: Sequence[EntityInstanceId]) -> list[str]:
        """Enter a critical section over ``entities``; return its lock set (wire form).

        Raises:
            RuntimeError: Already inside a critical section, or ``entities`` is empty.
        """
        self.check_acquire()
        locked = sorted(set(entities))
        if not locked:
            raise RuntimeError("Failed to create entity lock request.")
        self.section = CriticalSection(section_id, locked)
        return [str(entity) for entity in locked]

    def granted(self, section_id: str) -> bool:
        """Record that the locks of ``section_id`` were granted; False if it is not current."""
        if self.section is None or self.section.section_id != section_id:
            return False
        self.section.granted = True
        self.section.available = list(self.section.locked)
        return True

    def call_returned(self, entity: EntityInstanceId) -> None:
        """Make ``entity`` callable again after its call completed or failed."""
        section = self.section
        if section is not None and entity in section.calls_pending:
            section.calls_pending.remove(entity)
            section.available.append(entity)

    def end(self) -> CriticalSection | None:
        """Leave the critical section; return it (None when not inside one)."""
        section, self.section = self.section, None
        return section
