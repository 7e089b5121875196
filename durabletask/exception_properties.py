"""Hook that adds custom properties to the failure details of an exception."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["ExceptionPropertiesProvider"]


@runtime_checkable
class ExceptionPropertiesProvider(Protocol):
    """Supplies extra properties recorded in ``FailureDetails.properties``."""

    def get_exception_properties(self, exception: BaseException) -> Mapping[str, Any] | None:
        """Return properties for ``exception`` (JSON-compatible values), or ``None``."""
        ...
