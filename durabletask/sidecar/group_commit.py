"""Group commit: completions that arrive together share one store transaction.

A SQLite commit costs a disk flush, far more than the transition it makes
durable. While the sidecar's loop is busy, completions from many RPCs queue
up; :class:`GroupCommitter` applies all that are queued when it next runs,
inside one ``Store.group()``, then runs the effects that follow each of them
(dispatching work, waking waiters) and only then answers each caller. So a
worker is never told its result was taken before the result is on disk, and
no other client or worker sees state that a crash could still undo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from durabletask.sidecar.clock import SYSTEM_CLOCK, Clock
from durabletask.sidecar.store.base import Store

logger = logging.getLogger("durabletask.sidecar")

Effect = Callable[[], None]
"""Something to do once a transition is durable (dispatch, notify a waiter, ...)."""
Operation = Callable[[], None]
"""A transition: store calls, and effects registered through the effect collector."""
EffectCollector = Callable[[], AbstractContextManager[list[Effect]]]
"""Opens a scope in which effects are collected into the yielded list, not run."""


class GroupCommitter:
    """Runs the operations that queue up between two groups in one store group.

    Every method must be called on the sidecar's event loop.
    """

    def __init__(
        self,
        store: Store,
        collect_effects: EffectCollector,
        *,
        spacing_seconds: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """Bind to a store and to the owner's effect collector.

        Args:
            store: The store whose ``group()`` makes the batch one transaction.
            collect_effects: Defers the effects the operations register.
            spacing_seconds: Least time between the starts of two groups. An
                operation arriving when the last group is older is applied at the
                end of the current loop turn, together with whatever else arrived
                in that turn; a younger group makes it wait out the rest of the
                spacing, gathering what arrives meanwhile. 0 groups by loop turn.
            clock: Measures the spacing and waits it out.
        """
        self._store = store
        self._collect_effects = collect_effects
        self._spacing = spacing_seconds
        self._clock = clock
        self._last_flush = -spacing_seconds
        self._queue: list[tuple[Operation, asyncio.Future[None]]] = []

    async def run(self, operation: Operation) -> None:
        """Apply ``operation`` in the next group; return once its group is durable.

        Raises:
            Exception: What the operation raised, or what the group's commit raised
                (then nothing of the group happened).
        """
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._queue.append((operation, done))
        if len(self._queue) == 1:
            wait = self._last_flush + self._spacing - self._clock.monotonic()
            if wait > 0:
                self._clock.call_later(wait, self._flush)
            else:
                loop.call_soon(self._flush)
        await done

    @property
    def pending(self) -> bool:
        """True while operations wait for their group."""
        return bool(self._queue)

    def _flush(self) -> None:
        self._last_flush = self._clock.monotonic()
        batch, self._queue = self._queue, []
        outcomes: list[tuple[list[Effect], BaseException | None]] = []
        try:
            with self._store.group():
                for operation, _ in batch:
                    outcomes.append(self._apply(operation))
        except Exception as exc:  # the commit failed: no operation of the group happened
            # Each caller hears of it (the core logs what is delivered again).
            logger.debug("a group of %d completion(s) could not be committed: %s",
                         len(batch), exc)
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (_, done), (effects, error) in zip(batch, outcomes):
            for effect in effects:
                try:
                    effect()
                except Exception:  # a bug; the other callers of the group must still hear back
                    logger.exception("an effect of a committed completion failed")
            if done.done():  # the caller went away; the transition stands regardless
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    def _apply(self, operation: Operation) -> tuple[list[Effect], BaseException | None]:
        with self._collect_effects() as effects:
            try:
                operation()
            except Exception as exc:  # the store rolled this one back; the others stand
                return [], exc
        return effects, None
