"""Transport events: stable-named log lines plus an observer seam for tests and metrics.

Every resiliency decision (a channel opened, recreated, retired or closed, a stream outcome,
a reconnect delay) is emitted once as a :class:`TransportEvent`. It is logged under the
``durabletask.transport`` logger with a stable ``dt.<name>`` message prefix, and handed to
every subscribed listener. Tests subscribe instead of reading private attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TransportEvent", "emit", "subscribe"]

_logger = logging.getLogger("durabletask.transport")

# Events that signal trouble are logged at WARNING; the bookkeeping ones at DEBUG or INFO.
_LEVELS: Mapping[str, int] = {
    "transport_failure": logging.DEBUG,
    "channel_opened": logging.DEBUG,
    # A client's error, or the worker's one outage WARNING, already tells the user.
    "channel_recreated": logging.INFO,
    "channel_reconfigured": logging.INFO,
    "recreate_suppressed": logging.DEBUG,
    "recreate_failed": logging.ERROR,
    "channel_retired": logging.DEBUG,
    "channel_closed": logging.DEBUG,
    "stream_silent_disconnect": logging.WARNING,
    "stream_graceful_drain": logging.INFO,
    "stream_empty_drain": logging.WARNING,
    # The supervisor logs one WARNING per outage with the address and the next retry.
    "stream_error": logging.INFO,
    "stream_first_message": logging.DEBUG,
    "keepalive_refused": logging.WARNING,
    "drain_notice": logging.INFO,
    "auth_failed": logging.ERROR,
    "reconnect_backoff": logging.INFO,
    "call_retry": logging.INFO,
    "stop_timeout_abandon": logging.WARNING,
}


@dataclass(frozen=True, slots=True)
class TransportEvent:
    """One resiliency decision.

    Attributes:
        name: Stable event name, e.g. ``channel_recreated`` (logged as ``dt.<name>``).
        target: The gRPC target of the channel concerned, e.g. ``127.0.0.1:4001``.
        owner: Who emitted it: ``client``, ``async_client`` or ``worker``.
        generation: The channel generation concerned (1 for the first channel).
        fields: Extra structured fields (code, method, attempt, delay_s, ...).
    """

    name: str
    target: str
    owner: str
    generation: int
    fields: Mapping[str, Any] = field(default_factory=dict)


_listeners: list[Callable[[TransportEvent], None]] = []
_listeners_lock = threading.Lock()


def subscribe(listener: Callable[[TransportEvent], None]) -> Callable[[], None]:
    """Call ``listener`` with every transport event from now on, from the emitting thread.

    Listeners must be fast and must not raise (exceptions are logged and swallowed).

    Args:
        listener: The callback.

    Returns:
        A function that unsubscribes the listener; calling it twice is harmless.
    """
    with _listeners_lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _listeners_lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(name: str, target: str, owner: str, generation: int, **fields: Any) -> None:
    """Log one event under its stable name and hand it to every listener.

    Args:
        name: The stable event name (a key of the level table, or logged at INFO).
        target: The channel's gRPC target.
        owner: ``client``, ``async_client`` or ``worker``.
        generation: The channel generation concerned.
        **fields: Structured details.
    """
    event = TransportEvent(name, target, owner, generation, dict(fields))
    level = _LEVELS.get(name, logging.INFO)
    if _logger.isEnabledFor(level):
        _logger.log(
            level, "dt.%s: %s channel to %s (generation %d)%s", name, owner, target,
            generation, _summary(fields),
            extra={"dt_event": name, "dt_fields": event.fields, "dt_owner": owner,
                   "address": target, "dt_generation": generation},
        )
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            _logger.exception("A transport event listener failed on %s", name)


def _summary(fields: Mapping[str, Any]) -> str:
    """The fields worth reading in the message (all are in the record's ``dt_fields``)."""
    shown = [f"{key.replace('_', ' ')} {value}" for key, value in fields.items()
             if value not in (None, "", False)]
    return f": {', '.join(shown)}" if shown else ""
