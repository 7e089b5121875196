"""``SidecarOptions``: every tunable of the embedded sidecar, with its default."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class SidecarOptions:
    """Limits and intervals of the embedded sidecar."""

    max_history_size: int = 10000
    """An instance whose history would exceed this many events fails."""
    health_ping_interval_seconds: float = 5.0
    """Each idle worker stream gets a ``healthPing`` this often. The interval is advertised
    to our workers, which then declare a stream dead after three intervals of silence."""
    keepalive_time_seconds: float = 10.0
    """The server pings every connection this often (HTTP/2 keepalive)."""
    keepalive_timeout_seconds: float = 5.0
    """A connection whose ping stays unanswered this long is closed, and the work items of
    its streams are redelivered (a worker behind a dead connection, or a stopped process)."""
    min_client_ping_interval_seconds: float = 5.0
    """Client keepalive pings are accepted this often (advertised to our workers); more
    frequent ones are answered with GOAWAY ``too_many_pings``."""
    max_recovery_attempts: int = 5
    """Redeliveries after lost workers before a work item is failed with ``WorkerLost``."""
    max_message_bytes: int = 4 * 1024 * 1024
    """Largest gRPC message accepted or sent; larger work items fail their instance."""
    abandon_backoff_base_seconds: float = 0.1
    """Delay before redelivering a work item abandoned once; doubles per abandon."""
    abandon_backoff_cap_seconds: float = 5.0
    """Maximum redelivery delay after abandons."""
    default_wait_timeout_seconds: float | None = None
    """How long WaitForInstance* waits when the caller sets no deadline; None (the default)
    waits until the caller cancels or its connection dies, as durabletask-go does."""
    lease_timeout_seconds: float = 300.0
    """A delivered work item not completed or abandoned within this time is taken back
    from its (hung) worker, redelivered and counted as a lost worker."""
    fan_in_batch_window_seconds: float = 0.02
    """While an instance still has activities out, a result waits up to this long for more
    results to share one episode (a fan-in then takes tens of episodes, not thousands).
    The last outstanding result is dispatched at once; 0 disables batching."""
    group_commit_spacing_seconds: float = 0.0
    """On a store that flushes each commit to disk (SQLite), the least time between the
    starts of two commits; what arrives in between is gathered and committed together
    (group commit). At 0 (the default) a commit starts at the end of the loop turn in
    which the first change arrived, and everything that arrived in that turn (under load,
    everything that queued up while the last commit ran) shares it: measured, a spacing
    of 1 ms gathered no more per commit and only added its wait to each answer."""

    max_orphan_events: int = 10000
    """Most events kept for instance ids that do not exist (yet); beyond it ``RaiseEvent``
    for an unknown id is refused with ``RESOURCE_EXHAUSTED`` until some are purged."""

    taskhubs: tuple[str, ...] = ()
    """Task hub names, each with its own isolated state; the ``taskhub`` request header picks
    one. Empty: a single hub that accepts any (or no) ``taskhub`` header."""
    require_token: bool | str = False
    """True: refuse calls without ``authorization: Bearer <non-empty token>``
    (UNAUTHENTICATED); a string: require exactly that token."""

    def __post_init__(self) -> None:
        """Validate the values; each error names the field and the constraint."""
        _check_access(self)
        if self.max_history_size < 1:
            raise ValueError(f"max_history_size must be >= 1, got {self.max_history_size}")
        if self.max_recovery_attempts < 0:
            raise ValueError(
                f"max_recovery_attempts must be >= 0, got {self.max_recovery_attempts}"
            )
        if self.fan_in_batch_window_seconds < 0:
            raise ValueError(
                "fan_in_batch_window_seconds must be >= 0, got "
                f"{self.fan_in_batch_window_seconds}"
            )
        if self.group_commit_spacing_seconds < 0:
            raise ValueError(
                "group_commit_spacing_seconds must be >= 0, got "
                f"{self.group_commit_spacing_seconds}"
            )
        if self.max_orphan_events < 0:
            raise ValueError(f"max_orphan_events must be >= 0, got {self.max_orphan_events}")
        if self.max_message_bytes < 1024:
            raise ValueError(f"max_message_bytes must be >= 1024, got {self.max_message_bytes}")
        for name in (
            "health_ping_interval_seconds",
            "abandon_backoff_base_seconds",
            "abandon_backoff_cap_seconds",
            "lease_timeout_seconds",
            "keepalive_time_seconds",
            "keepalive_timeout_seconds",
            "min_client_ping_interval_seconds",
        ):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {value}")
        wait = self.default_wait_timeout_seconds
        if wait is not None and not wait > 0:
            raise ValueError(
                f"default_wait_timeout_seconds must be > 0 seconds or None, got {wait}")


def server_options(options: SidecarOptions) -> list[tuple[str, int]]:
    """Return the gRPC server arguments of the sidecar's transport policy (resiliency R-K3).

    Args:
        options: The sidecar's options.
    """
    timeout_ms = _ms(options.keepalive_timeout_seconds)
    return [
        ("grpc.keepalive_permit_without_calls", 1),
        # (The argument gRPC core reads is this one; "min_recv_..." is not a gRPC argument.)
        ("grpc.http2.min_ping_interval_without_data_ms",
         _ms(options.min_client_ping_interval_seconds)),
        ("grpc.keepalive_time_ms", _ms(options.keepalive_time_seconds)),
        ("grpc.keepalive_timeout_ms", timeout_ms),
        # With grpcio 1.85 only this bounds the wait for a ping's ack (else 60 s and more).
        ("grpc.http2.ping_timeout_ms", timeout_ms),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def validate_hub_names(names: Iterable[str]) -> tuple[str, ...]:
    """Return the task hub names as a tuple, in order.

    Raises:
        ValueError: A name is empty, has whitespace, or appears twice.
    """
    result = tuple(names)
    for name in result:
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ValueError(
                f"task hub names must be non-empty strings without spaces, got {name!r}"
            )
    repeated = sorted({name for name in result if result.count(name) > 1})
    if repeated:
        raise ValueError(f"task hub names must be unique; repeated: {', '.join(repeated)}")
    return result


def _check_access(options: SidecarOptions) -> None:
    # frozen: normalise a list of names to the tuple the field promises
    object.__setattr__(options, "taskhubs", validate_hub_names(options.taskhubs))
    token = options.require_token
    if not isinstance(token, (bool, str)) or token == "":
        raise ValueError(
            f"require_token must be True, False or a non-empty token string, got {token!r}"
        )
