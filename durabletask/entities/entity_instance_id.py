"""The identity of one entity instance: a lower-cased entity name plus a key."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["EntityInstanceId"]


@functools.total_ordering
class EntityInstanceId:
    """Identifies an entity: its name (lower-cased) and its key, written ``@name@key``.

    Unlike the official SDK, instances are immutable and hashable (``__hash__`` agrees with
    ``__eq__``), so they can be used in sets and as dictionary keys.

    Attributes:
        entity: The entity name, lower-cased; never empty and never containing ``@``.
        key: The entity key, case-sensitive; it may contain ``@``.
    """

    __slots__ = ("entity", "key")

    entity: str
    key: str

    def __init__(self, entity: str, key: str) -> None:
        EntityInstanceId.validate_entity_name(entity)
        EntityInstanceId.validate_key(key)
        object.__setattr__(self, "entity", entity.lower())
        object.__setattr__(self, "key", key)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"EntityInstanceId is immutable: cannot set {name!r}; create a new EntityInstanceId"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"EntityInstanceId is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[type[EntityInstanceId], tuple[str, str]]:
        return (EntityInstanceId, (self.entity, self.key))

    def __str__(self) -> str:
        return f"@{self.entity}@{self.key}"

    def __repr__(self) -> str:
        return f"EntityInstanceId(entity={self.entity!r}, key={self.key!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntityInstanceId):
            return NotImplemented
        return self.entity == other.entity and self.key == other.key

    def __hash__(self) -> int:
        return hash((self.entity, self.key))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, EntityInstanceId):
            return NotImplemented
        return str(self) < str(other)

    @staticmethod
    def parse(entity_id: str) -> EntityInstanceId:
        """Parse the ``@name@key`` form produced by ``str()``.

        Args:
            entity_id: The string form, e.g. ``"@counter@my-key"``.

        Returns:
            The parsed id; the name is lower-cased, the key kept as is.

        Raises:
            ValueError: The string does not start with ``@``, has no second ``@``, or its
                name or key is empty.
        """
        # The messages start with 1.12.0's.
        if not isinstance(entity_id, str) or not entity_id.startswith("@"):
            raise ValueError(
                f"Entity ID must start with '@': got {entity_id!r} (expected '@name@key')"
            )
        name, separator, key = entity_id[1:].partition("@")
        if not separator:
            raise ValueError(
                f"Invalid entity ID format: {entity_id} (expected '@name@key')"
            )
        return EntityInstanceId(name, key)

    @staticmethod
    def validate_entity_name(name: str) -> None:
        """Check that ``name`` can be an entity name.

        Args:
            name: The candidate entity name.

        Raises:
            ValueError: ``name`` is not a string, is empty, or contains ``@``.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"Entity name must be a non-empty string, got {name!r}")
        if "@" in name:
            raise ValueError(f"Entity name {name!r} must not contain '@'")

    @staticmethod
    def validate_key(key: str) -> None:
        """Check that ``key`` can be an entity key.

        Args:
            key: The candidate key: a non-empty string. Unlike the official SDK, ``@`` is
                accepted (other SDKs' ids, e.g. .NET's, may contain it).

        Raises:
            ValueError: ``key`` is not a string (for example ``None``) or is empty (as in
                the official SDK: ``@name@`` is not an entity id).
        """
        if not isinstance(key, str):
            raise ValueError(f"Entity key must be a string, got {type(key).__name__}")
        if not key:
            raise ValueError("Entity key cannot be empty.")
