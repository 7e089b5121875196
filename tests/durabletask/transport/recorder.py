"""Records transport events (the public-ish observer seam) for one target."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from durabletask.internal.transport.observe import TransportEvent, subscribe


class EventRecorder:
    """Collects the events whose target matches; thread-safe."""

    def __init__(self, target: str | None = None) -> None:
        self.target = target
        self._events: list[TransportEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: TransportEvent) -> None:
        if self.target is None or event.target == self.target:
            with self._lock:
                self._events.append(event)

    def events(self, name: str | None = None, owner: str | None = None) -> list[TransportEvent]:
        with self._lock:
            return [e for e in self._events
                    if (name is None or e.name == name) and (owner is None or e.owner == owner)]

    def count(self, name: str, owner: str | None = None) -> int:
        return len(self.events(name, owner))


@contextmanager
def recording(target: str | None = None) -> Iterator[EventRecorder]:
    recorder = EventRecorder(target)
    unsubscribe = subscribe(recorder)
    try:
        yield recorder
    finally:
        unsubscribe()
