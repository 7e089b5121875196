"""Orchestration versioning: match strategies, failure strategies and version comparison."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "VersionFailureStrategy",
    "VersionMatchStrategy",
    "VersioningOptions",
    "compare_versions",
    "version_mismatch",
]


class VersionMatchStrategy(Enum):
    """How an orchestration's version is compared with the worker's version."""

    NONE = 1
    """Every version is accepted."""
    STRICT = 2
    """Only the worker's exact version is accepted."""
    CURRENT_OR_OLDER = 3
    """Versions up to and including the worker's version are accepted."""


class VersionFailureStrategy(Enum):
    """What the worker does with an orchestration whose version does not match."""

    REJECT = 1
    """Abandon the work item so another worker can take it."""
    FAIL = 2
    """Fail the orchestration with error type ``VersionMismatch``."""


@dataclass
class VersioningOptions:
    """The worker's versioning settings (``TaskHubGrpcWorker.use_versioning``)."""

    version: str | None = None
    """The version of orchestrations this worker runs (compared by ``match_strategy``)."""
    default_version: str | None = None
    """The version assumed for orchestrations without one, and given to new
    sub-orchestrations started without an explicit version."""
    match_strategy: VersionMatchStrategy | None = None
    """How versions are compared; None means ``NONE``."""
    failure_strategy: VersionFailureStrategy | None = None
    """What happens on a mismatch; None means ``REJECT``."""


def _numeric_parts(version: str) -> list[int] | None:
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return [int(part) for part in parts]


def compare_versions(left: str | None, right: str | None) -> int:
    """Compare two versions: negative, zero or positive like ``left - right``.

    Dotted numeric versions compare numerically (``1.10 > 1.9``, ``1.0 == 1``); anything
    else falls back to string comparison. An empty version is older than any other.
    """
    if not left and not right:
        return 0
    if not left:
        return -1
    if not right:
        return 1
    left_parts, right_parts = _numeric_parts(left), _numeric_parts(right)
    if left_parts is not None and right_parts is not None:
        width = max(len(left_parts), len(right_parts))
        left_parts += [0] * (width - len(left_parts))
        right_parts += [0] * (width - len(right_parts))
        return (left_parts > right_parts) - (left_parts < right_parts)
    return (left > right) - (left < right)


def version_mismatch(options: VersioningOptions, orchestration_version: str | None) -> str | None:
    """Return why ``orchestration_version`` is not accepted, or None if it is."""
    strategy = options.match_strategy or VersionMatchStrategy.NONE
    if strategy is VersionMatchStrategy.NONE:
        return None
    actual = orchestration_version or options.default_version or ""
    worker = options.version or ""
    difference = compare_versions(actual, worker)
    # The messages are 1.12.0's, word for word.
    if strategy is VersionMatchStrategy.STRICT and difference != 0:
        return (
            f"The orchestration version '{actual}' does not match the worker version "
            f"'{worker}'."
        )
    if strategy is VersionMatchStrategy.CURRENT_OR_OLDER and difference > 0:
        return (
            f"The orchestration version '{actual}' is greater than the worker version "
            f"'{worker}'."
        )
    return None
