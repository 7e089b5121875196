"""What running orchestrations wait for, as their workers last reported (in memory only).

Our worker reports, with each orchestration episode it completes, the names of the external
events the orchestration waits for and of the events it received that nothing waited for
(``durabletask-event-waits``, see ``internal/dialect.py``). The history cannot tell: waiting
for an event leaves no trace in it. The sidecar keeps the last report of each running
instance for ``durabletask show``, and warns once per instance and name about an event
nothing waits for, which is most often a misspelt name.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from durabletask.internal.dialect import EventWaits

logger = logging.getLogger("durabletask.sidecar")

__all__ = ["EventNotes"]

# Reports of this many instances are kept; the least recently reported go first.
_MAX_INSTANCES = 10000


class EventNotes:
    """The last event report of each running instance, and the names already warned about."""

    def __init__(self, capacity: int = _MAX_INSTANCES) -> None:
        """Create an empty registry holding at most ``capacity`` instances."""
        self._capacity = capacity
        self._reports: OrderedDict[str, EventWaits] = OrderedDict()
        self._warned: dict[str, set[str]] = {}

    def report(self, instance_id: str, waits: EventWaits | None, *, ended: bool) -> None:
        """Take a worker's report after a committed episode of ``instance_id``.

        Args:
            instance_id: The instance.
            waits: The report; None when the worker sends none (other SDKs).
            ended: The episode ended the instance (its notes are dropped).
        """
        if ended or waits is None:
            self.forget(instance_id)
            return
        self._reports[instance_id] = waits
        self._reports.move_to_end(instance_id)
        while len(self._reports) > self._capacity:
            oldest, _ = self._reports.popitem(last=False)
            self._warned.pop(oldest, None)
        warned = self._warned.setdefault(instance_id, set())
        for name, count in waits.unclaimed.items():
            if name.casefold() in warned:
                continue
            warned.add(name.casefold())
            awaited = ", ".join(repr(n) for n in waits.awaited) or "no event"
            logger.warning(
                "instance %s received %d event(s) named %r that nothing waits for (it waits "
                "for %s); they are kept until the orchestration asks for that name; check "
                "the event name", instance_id, count, name, awaited,
                extra={"instance_id": instance_id, "event_name": name},
            )

    def get(self, instance_id: str) -> EventWaits | None:
        """Return the last report of ``instance_id``, or None."""
        return self._reports.get(instance_id)

    def forget(self, instance_id: str) -> None:
        """Drop what is known of ``instance_id`` (ended, purged or replaced)."""
        self._reports.pop(instance_id, None)
        self._warned.pop(instance_id, None)
