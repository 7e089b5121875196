"""Channel, retry and resiliency options for clients and workers: every default lives here."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import grpc

__all__ = [
    "GrpcChannelOptions",
    "GrpcClientResiliencyOptions",
    "GrpcRetryPolicyOptions",
    "GrpcWorkerResiliencyOptions",
    "KeepalivePolicy",
]

_logger = logging.getLogger("durabletask.grpc_options")

_STATUS_CODE_NAMES = frozenset(code.name for code in grpc.StatusCode)
_SERVICE_NAME = "TaskHubSidecarService"


def _require(condition: bool, owner: str, name: str, constraint: str, value: Any) -> None:
    if not condition:
        raise ValueError(f"{owner}.{name} must be {constraint}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(value: float) -> str:
    # gRPC service configs spell durations as decimal seconds with an "s" suffix.
    return f"{value:.9f}".rstrip("0").rstrip(".") + "s"


@dataclass(slots=True, kw_only=True)
class GrpcRetryPolicyOptions:
    """A gRPC channel-level retry policy, sent as the channel's service config.

    gRPC itself retries a failed call with exponential backoff when its status is one of
    ``retryable_status_codes`` and no response data has arrived yet.
    """

    max_attempts: int = 4
    """Total attempts, the first one included; at least 2 (gRPC caps it at 5)."""

    initial_backoff_seconds: float = 0.05
    """Upper bound of the randomised delay before the first retry; > 0."""

    max_backoff_seconds: float = 0.25
    """Cap on the delay between two attempts; > 0."""

    backoff_multiplier: float = 2.0
    """Growth factor of the backoff bound after each attempt; > 0."""

    retryable_status_codes: list[str] = field(default_factory=lambda: ["UNAVAILABLE"])
    """gRPC status code names (e.g. ``"UNAVAILABLE"``) that make a call retryable."""

    methods: list[str] | None = None
    """RPC method names (e.g. ``["GetInstance"]``) the policy applies to.

    ``None`` applies it to every method, mutating ones included, as the official SDK does;
    a retried ``StartInstance`` or ``RaiseEvent`` may then run twice, so a WARNING is logged.
    """

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _require(_is_int(self.max_attempts) and self.max_attempts >= 2, owner,
                 "max_attempts", "an int >= 2", self.max_attempts)
        for name in ("initial_backoff_seconds", "max_backoff_seconds", "backoff_multiplier"):
            value = getattr(self, name)
            _require(_is_number(value) and value > 0, owner, name, "a number > 0", value)
        codes = self.retryable_status_codes
        _require(bool(codes) and all(str(c).upper() in _STATUS_CODE_NAMES for c in codes),
                 owner, "retryable_status_codes",
                 "a non-empty list of gRPC status code names such as 'UNAVAILABLE'", codes)
        if self.methods is not None:
            _require(all(isinstance(m, str) and m for m in self.methods), owner, "methods",
                     "None or a list of RPC method names such as 'GetInstance'", self.methods)

    def to_service_config(self) -> dict[str, Any]:
        """Return the gRPC service config (a JSON-ready dict) that enables this policy."""
        if self.methods is None:
            _logger.warning(
                "GrpcRetryPolicyOptions without 'methods' retries every RPC, including "
                "non-idempotent ones such as StartInstance and RaiseEvent; list the "
                "read-only methods to retry in 'methods' to avoid duplicates"
            )
            names: list[dict[str, str]] = [{}]
        else:
            names = [{"service": _SERVICE_NAME, "method": m} for m in self.methods]
        return {
            "methodConfig": [
                {
                    "name": names,
                    "retryPolicy": {
                        "maxAttempts": self.max_attempts,
                        "initialBackoff": _seconds(self.initial_backoff_seconds),
                        "maxBackoff": _seconds(self.max_backoff_seconds),
                        "backoffMultiplier": self.backoff_multiplier,
                        "retryableStatusCodes": [
                            str(c).upper() for c in self.retryable_status_codes
                        ],
                    },
                }
            ]
        }


_CHANNEL_ARG_NAMES = {
    "max_receive_message_length": "grpc.max_receive_message_length",
    "max_send_message_length": "grpc.max_send_message_length",
    "keepalive_time_ms": "grpc.keepalive_time_ms",
    "keepalive_timeout_ms": "grpc.keepalive_timeout_ms",
    "ping_timeout_ms": "grpc.http2.ping_timeout_ms",
    "reconnect_backoff_max_ms": "grpc.max_reconnect_backoff_ms",
}


@dataclass(slots=True, kw_only=True)
class GrpcChannelOptions:
    """Settings for the gRPC channels the SDK creates (never applied to a caller's channel)."""

    max_receive_message_length: int | None = None
    """Largest message the channel accepts, in bytes; -1 for no limit; None = gRPC's 4 MiB."""

    max_send_message_length: int | None = None
    """Largest message the channel sends, in bytes; -1 for no limit.

    None means 4 MiB, the default receive limit of the sidecars: the client refuses a larger
    request up front with ``PayloadTooLargeError`` instead of letting the sidecar reject it.
    """

    keepalive_time_ms: int | None = None
    """Interval of client keepalive pings; None lets the SDK choose (docs/resiliency.md).

    With None, SDK-owned channels ping every 6 minutes during calls (what default gRPC
    servers accept), or every 10 s towards a sidecar that advertises allowing it (ours).
    Only set it when the server permits pings that often: a default gRPC server answers
    pings more frequent than every 5 minutes with GOAWAY ``too_many_pings``.
    """

    keepalive_timeout_ms: int | None = None
    """How long to wait for a keepalive ping's acknowledgement; None = gRPC default."""

    keepalive_permit_without_calls: bool | None = None
    """Send keepalive pings even when no call is active; None = gRPC default (no)."""

    retry_policy: GrpcRetryPolicyOptions | None = None
    """A channel-level retry policy; None sends no service config (no gRPC retries)."""

    ping_timeout_ms: int | None = None
    """``grpc.http2.ping_timeout_ms``: bounds the wait for a ping ack; None = gRPC default.

    With grpcio 1.85 ``keepalive_timeout_ms`` alone does not shorten the 60 s ack wait.
    """

    reconnect_backoff_max_ms: int | None = 5000
    """Cap on gRPC's own reconnect backoff, so a recovered sidecar is found again quickly
    (gRPC's default is 120 s); None keeps the gRPC default."""

    raw_options: list[tuple[str, Any]] = field(default_factory=list)
    """Extra gRPC channel arguments, appended last so they win over the fields above."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in ("max_receive_message_length", "max_send_message_length"):
            value = getattr(self, name)
            _require(value is None or (_is_int(value) and (value > 0 or value == -1)), owner,
                     name, "None, -1 (no limit) or an int > 0 (bytes)", value)
        for name in ("keepalive_time_ms", "keepalive_timeout_ms", "ping_timeout_ms",
                     "reconnect_backoff_max_ms"):
            value = getattr(self, name)
            _require(value is None or (_is_int(value) and value > 0), owner, name,
                     "None or an int > 0 (milliseconds)", value)
        _require(self.keepalive_permit_without_calls is None
                 or isinstance(self.keepalive_permit_without_calls, bool), owner,
                 "keepalive_permit_without_calls", "None or a bool",
                 self.keepalive_permit_without_calls)
        _require(self.retry_policy is None
                 or isinstance(self.retry_policy, GrpcRetryPolicyOptions), owner,
                 "retry_policy", "None or a GrpcRetryPolicyOptions", self.retry_policy)
        _require(all(isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str)
                     for o in self.raw_options), owner, "raw_options",
                 "a list of (name, value) tuples", self.raw_options)

    def to_grpc_options(self) -> list[tuple[str, Any]]:
        """Return the channel arguments for ``grpc.insecure_channel(options=...)`` and kin."""
        options: list[tuple[str, Any]] = []
        for name, arg in _CHANNEL_ARG_NAMES.items():
            value = getattr(self, name)
            if value is not None:
                options.append((arg, value))
        if self.reconnect_backoff_max_ms is not None:
            # gRPC's own first reconnect delay must not exceed its cap (resiliency R-B6).
            options.append(
                ("grpc.initial_reconnect_backoff_ms", min(1000, self.reconnect_backoff_max_ms))
            )
        if self.keepalive_permit_without_calls is not None:
            options.append(
                ("grpc.keepalive_permit_without_calls", int(self.keepalive_permit_without_calls))
            )
        if self.retry_policy is not None:
            options.append(("grpc.enable_retries", 1))
            options.append(
                ("grpc.service_config", json.dumps(self.retry_policy.to_service_config()))
            )
        options.extend(self.raw_options)
        return options


@dataclass(frozen=True, slots=True)
class KeepalivePolicy:
    """Client keepalive the SDK gives its own channels when ``GrpcChannelOptions`` sets none.

    Attributes:
        time_ms: Interval of the HTTP/2 keepalive pings.
        timeout_ms: How long a ping may stay unacknowledged before the connection is
            declared dead (``grpc.keepalive_timeout_ms`` and ``grpc.http2.ping_timeout_ms``:
            with grpcio 1.85 the first alone does not shorten gRPC's 60 s ack wait).
        permit_without_calls: Also ping while no call is open.
    """

    time_ms: int
    timeout_ms: int
    permit_without_calls: bool

    def to_grpc_options(self) -> list[tuple[str, Any]]:
        """Return the channel arguments of this policy."""
        return [
            ("grpc.keepalive_time_ms", self.time_ms),
            ("grpc.keepalive_timeout_ms", self.timeout_ms),
            ("grpc.http2.ping_timeout_ms", self.timeout_ms),
            ("grpc.keepalive_permit_without_calls", int(self.permit_without_calls)),
            # A worker only receives on its stream: without this, gRPC stops pinging after
            # two pings that were not followed by data sent by the client.
            ("grpc.http2.max_pings_without_data", 0),
        ]


SAFE_KEEPALIVE = KeepalivePolicy(time_ms=360_000, timeout_ms=20_000, permit_without_calls=False)
"""Keepalive towards a sidecar that does not say what it permits (the official in-memory
sidecar, durabletask-go, the Durable Task Scheduler). Default gRPC servers (grpcio, gRPC-Go)
answer pings more frequent than every 5 minutes with GOAWAY ``too_many_pings``, and gRPC-Go
also pings made while no call is open; 6 minutes, only during calls, is accepted by both and
still ends a half-open worker stream within about 6.5 minutes."""

KEEPALIVE_INTERVAL_FACTOR = 2
"""Towards a sidecar that advertises the shortest client ping interval it accepts (ours: 5 s),
the worker pings at this many times that interval (10 s) and allows one interval for the ack:
a dead connection is noticed within 15 s, by gRPC itself, even while the stream is busy."""

SILENT_DISCONNECT_PINGS = 3
"""Against a sidecar that advertises its health-ping interval, the silent-disconnect window is
this many intervals (capped by ``silent_disconnect_timeout_seconds``)."""


LIVENESS_PROBE_FRACTION = 1 / 8
"""Against a sidecar not known to send health pings, a stream silent for this fraction of
``silent_disconnect_timeout_seconds`` (15 s by default) is probed with a ``Hello`` on the same
connection: any sidecar answers it, and a request is never refused as too many pings."""

LIVENESS_PROBE_TIMEOUT_FRACTION = 1 / 12
"""Deadline of that probe, as a fraction of the window (10 s by default); a probe without an
answer proves the connection dead."""

HEALTHY_STREAM_SECONDS = 5.0
"""A stream that delivered messages and stayed open this long resets the reconnect backoff;
one that ends sooner (a sidecar ending every stream at once) keeps backing off."""

DRAIN_NOTICE_TIMEOUT_SECONDS = 1.0
"""Deadline of the notice a stopping worker sends a sidecar that honours it (our dialect)."""


def negotiated_keepalive(min_ping_interval_ms: int | None) -> KeepalivePolicy:
    """Return the keepalive to use towards a sidecar that advertised its ping policy.

    Args:
        min_ping_interval_ms: The shortest client ping interval the sidecar accepts, or None
            when it advertised nothing.

    Returns:
        Pings at :data:`KEEPALIVE_INTERVAL_FACTOR` times the accepted interval, each allowed
        one interval for its ack; :data:`SAFE_KEEPALIVE` when nothing was advertised.
    """
    if min_ping_interval_ms is None:
        return SAFE_KEEPALIVE
    return KeepalivePolicy(time_ms=KEEPALIVE_INTERVAL_FACTOR * min_ping_interval_ms,
                           timeout_ms=min_ping_interval_ms, permit_without_calls=True)


@dataclass(slots=True, kw_only=True)
class GrpcWorkerResiliencyOptions:
    """How a worker detects a broken connection, reconnects and stops."""

    hello_timeout_seconds: float = 30.0
    """Deadline of the ``Hello`` handshake on every (re)connect; > 0."""

    silent_disconnect_timeout_seconds: float = 120.0
    """Longest gap allowed between two stream messages (health pings included); >= 0, 0
    disables the check.

    The window is armed once the sidecar is known to send health pings: it advertised its
    ping interval (then the window is the smaller of this and 3 intervals: 15 s with our
    sidecar's defaults), or a health ping arrived. A sidecar that never pings (the official
    in-memory one, durabletask-go) is probed instead: after 15 s of silence (1/8 of this)
    the worker sends ``Hello`` on the same connection and reconnects only if it gets no
    answer, so an idle worker is not reconnected every two minutes."""

    channel_recreate_failure_threshold: int = 5
    """Consecutive connection failures after which an SDK-owned channel is replaced;
    >= 0, 0 disables recreation."""

    reconnect_backoff_base_seconds: float = 1.0
    """Full-jitter reconnect backoff base; > 0."""

    reconnect_backoff_cap_seconds: float = 30.0
    """Full-jitter reconnect backoff cap; >= ``reconnect_backoff_base_seconds``."""

    retired_channel_max_linger_seconds: float = 300.0
    """Longest a replaced SDK-owned channel stays open for in-flight work items; >= 0."""

    stop_timeout_seconds: float = 20.0
    """How long ``stop()`` waits for in-flight work before abandoning the rest; >= 0."""

    abandon_timeout_seconds: float = 5.0
    """Deadline of each best-effort ``AbandonTask*WorkItem`` call; > 0."""

    completion_retry_max_attempts: int = 10
    """Attempts of a ``Complete*``/``Abandon*`` call failing transiently; >= 1."""

    completion_retry_base_seconds: float = 0.2
    """Base delay between completion retries; > 0."""

    completion_retry_cap_seconds: float = 15.0
    """Cap on the delay between completion retries; > 0."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in ("hello_timeout_seconds", "reconnect_backoff_base_seconds",
                     "abandon_timeout_seconds", "completion_retry_base_seconds",
                     "completion_retry_cap_seconds"):
            value = getattr(self, name)
            _require(_is_number(value) and value > 0, owner, name, "a number > 0", value)
        for name in ("silent_disconnect_timeout_seconds", "retired_channel_max_linger_seconds",
                     "stop_timeout_seconds"):
            value = getattr(self, name)
            _require(_is_number(value) and value >= 0, owner, name, "a number >= 0", value)
        cap = self.reconnect_backoff_cap_seconds
        _require(_is_number(cap) and cap >= self.reconnect_backoff_base_seconds, owner,
                 "reconnect_backoff_cap_seconds",
                 f"a number >= reconnect_backoff_base_seconds "
                 f"({self.reconnect_backoff_base_seconds})", cap)
        _require(_is_int(self.channel_recreate_failure_threshold)
                 and self.channel_recreate_failure_threshold >= 0, owner,
                 "channel_recreate_failure_threshold", "an int >= 0 (0 disables)",
                 self.channel_recreate_failure_threshold)
        _require(_is_int(self.completion_retry_max_attempts)
                 and self.completion_retry_max_attempts >= 1, owner,
                 "completion_retry_max_attempts", "an int >= 1",
                 self.completion_retry_max_attempts)


@dataclass(slots=True, kw_only=True)
class GrpcClientResiliencyOptions:
    """When a client replaces its SDK-owned channel, and how calls are bounded in time."""

    channel_recreate_failure_threshold: int = 5
    """Consecutive transport failures of unary calls that trigger a channel recreation;
    >= 0, 0 disables recreation."""

    min_recreate_interval_seconds: float = 30.0
    """Cooldown between two recreation attempts, successful or not; >= 0."""

    retired_channel_linger_seconds: float = 30.0
    """How long a replaced channel normally stays open for its in-flight calls; >= 0."""

    retired_channel_max_linger_seconds: float = 300.0
    """Absolute ceiling on how long a replaced channel stays open;
    >= ``retired_channel_linger_seconds``."""

    default_call_timeout_seconds: float | None = 30.0
    """Deadline of every call that is not a long poll and has none, unary or streaming
    (``get_orchestration_history`` must receive the whole history within it); > 0 or None."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _require(_is_int(self.channel_recreate_failure_threshold)
                 and self.channel_recreate_failure_threshold >= 0, owner,
                 "channel_recreate_failure_threshold", "an int >= 0 (0 disables)",
                 self.channel_recreate_failure_threshold)
        for name in ("min_recreate_interval_seconds", "retired_channel_linger_seconds"):
            value = getattr(self, name)
            _require(_is_number(value) and value >= 0, owner, name, "a number >= 0", value)
        max_linger = self.retired_channel_max_linger_seconds
        _require(_is_number(max_linger) and max_linger >= self.retired_channel_linger_seconds,
                 owner, "retired_channel_max_linger_seconds",
                 f"a number >= retired_channel_linger_seconds "
                 f"({self.retired_channel_linger_seconds})", max_linger)
        timeout = self.default_call_timeout_seconds
        _require(timeout is None or (_is_number(timeout) and timeout > 0), owner,
                 "default_call_timeout_seconds", "None or a number > 0", timeout)
