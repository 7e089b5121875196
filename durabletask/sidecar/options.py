"""``SidecarOptions``: every tunable of the embedded sidecar, with its default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class SidecarOptions:
    """Limits and intervals of the embedded sidecar."""

    max_history_size: int = 10000
    """An instance whose history would exceed this many events fails."""
    health_ping_interval_seconds: float = 15.0
    """Each idle worker stream gets a ``healthPing`` this often."""
    max_recovery_attempts: int = 5
    """Redeliveries after lost workers before a work item is failed with ``WorkerLost``."""
    max_message_bytes: int = 4 * 1024 * 1024
    """Largest gRPC message accepted or sent; larger work items fail their instance."""
    abandon_backoff_base_seconds: float = 0.1
    """Delay before redelivering a work item abandoned once; doubles per abandon."""
    abandon_backoff_cap_seconds: float = 5.0
    """Maximum redelivery delay after abandons."""
    default_wait_timeout_seconds: float = 30.0
    """How long WaitForInstance* waits when the caller sets no deadline."""

    def __post_init__(self) -> None:
        """Validate the values; each error names the field and the constraint."""
        if self.max_history_size < 1:
            raise ValueError(f"max_history_size must be >= 1, got {self.max_history_size}")
        if self.max_recovery_attempts < 0:
            raise ValueError(
                f"max_recovery_attempts must be >= 0, got {self.max_recovery_attempts}"
            )
        if self.max_message_bytes < 1024:
            raise ValueError(f"max_message_bytes must be >= 1024, got {self.max_message_bytes}")
        for name in (
            "health_ping_interval_seconds",
            "abandon_backoff_base_seconds",
            "abandon_backoff_cap_seconds",
            "default_wait_timeout_seconds",
        ):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {value}")
