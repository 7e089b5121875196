"""The worker's registry of orchestrators, activities and entities, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from durabletask import task
from durabletask.internal.engine.orchestrator_kinds import check_orchestrator

__all__ = [
    "ActivityNotRegisteredError",
    "EntityNotRegisteredError",
    "OrchestratorNotRegisteredError",
    "Registry",
]


class OrchestratorNotRegisteredError(ValueError):
    """A work item named an orchestrator that this worker has not registered."""

    # Failures carry the type name 1.12.0 sends (SDKs in other languages compare it).
    __module__ = "durabletask.worker"


class ActivityNotRegisteredError(ValueError):
    """A work item named an activity that this worker has not registered."""

    # Failures carry the type name 1.12.0 sends (SDKs in other languages compare it).
    __module__ = "durabletask.worker"


class EntityNotRegisteredError(ValueError):
    """A work item named an entity that this worker has not registered."""

    # Failures carry the type name 1.12.0 sends (SDKs in other languages compare it).
    __module__ = "durabletask.worker"


# Failure details name the type as the official worker does ("durabletask.worker.
# EntityNotRegisteredError"): other SDKs and tools compare that string.
EntityNotRegisteredError.__module__ = "durabletask.worker"


def _add(kind: str, table: dict[str, Any], name: str, fn: Any) -> str:
    if not name:
        raise ValueError(f"A {kind} name must be a non-empty string.")
    if name in table:
        raise ValueError(
            f"A {kind} named '{name}' is already registered; register each name once."
        )
    table[name] = fn
    return name


def describe_registered(names: list[str]) -> str:
    """Return ``'a', 'b'`` for a message, or ``(none)`` when nothing is registered."""
    return ", ".join(f"'{name}'" for name in names) if names else "(none)"


class Registry:
    """Maps names to user functions; orchestrator and activity names are case-sensitive."""

    def __init__(self) -> None:
        self._orchestrators: dict[str, Callable[..., Any]] = {}
        self._activities: dict[str, Callable[..., Any]] = {}
        self._entities: dict[str, Any] = {}

    def add_orchestrator(self, fn: Callable[..., Any], name: str | None = None) -> str:
        """Register an orchestrator under ``name`` (default: its ``__name__``).

        Returns:
            The registered name.

        Generator functions, ``async def`` functions and plain functions can be
        orchestrators; they may be mixed in one registry.

        Raises:
            ValueError: The name is taken, or ``fn`` is a lambda and no name was given.
            TypeError: ``fn`` cannot run as an orchestrator (not callable, or an async
                generator function); the message says what to write instead.
        """
        name = name or task.get_name(fn)
        check_orchestrator(fn, name)
        return _add("orchestrator", self._orchestrators, name, fn)

    def add_activity(self, fn: Callable[..., Any], name: str | None = None) -> str:
        """Register an activity under ``name`` (default: its ``__name__``).

        Returns:
            The registered name.

        Raises:
            ValueError: The name is taken, or ``fn`` is a lambda and no name was given.
        """
        return _add("activity", self._activities, name or task.get_name(fn), fn)

    def add_entity(self, fn: Any, name: str | None = None) -> str:
        """Register an entity function or ``DurableEntity`` class; names are lower-cased.

        Returns:
            The name as given (or inferred), not lower-cased, as the official SDK returns
            it; the entity is registered and matched under its lower-cased form.

        Raises:
            ValueError: ``fn`` is None, the name is taken, contains ``@``, or cannot be
                inferred.
        """
        from durabletask.entities import EntityInstanceId

        if fn is None:
            raise ValueError("An entity function argument is required.")
        name = name or task.get_entity_name(fn)
        EntityInstanceId.validate_entity_name(name)
        _add("entity", self._entities, name.lower(), fn)
        return name

    def get_orchestrator(self, name: str) -> Callable[..., Any] | None:
        """Return the orchestrator registered as ``name``, or None."""
        return self._orchestrators.get(name)

    def get_activity(self, name: str) -> Callable[..., Any] | None:
        """Return the activity registered as ``name``, or None."""
        return self._activities.get(name)

    def get_entity(self, name: str) -> Any | None:
        """Return the entity registered as ``name`` (matched lower-cased), or None."""
        return self._entities.get(name.lower())

    @property
    def orchestrator_names(self) -> list[str]:
        """The registered orchestrator names, sorted."""
        return sorted(self._orchestrators)

    @property
    def activity_names(self) -> list[str]:
        """The registered activity names, sorted."""
        return sorted(self._activities)

    @property
    def entity_names(self) -> list[str]:
        """The registered entity names, sorted."""
        return sorted(self._entities)
