"""``Replayer``: replays recorded histories against the current orchestrator code, offline.

Record a history once (``durabletask history ID --json > h.json``, or
``json.dump([history.to_dict(e) for e in client.get_orchestration_history(id)], f)``), keep
it next to the tests, and replay it in CI: a change that would break running instances
(an activity renamed, a step added or removed, a timer changed, a different outcome) is
reported with the event index, what the history records and what the code did. No sidecar,
no network: the same replay engine the worker runs, fed the whole history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from durabletask.internal.engine import (
    DEFAULT_MAXIMUM_TIMER_INTERVAL,
    OrchestrationExecutor,
    OrchestratorNotRegisteredError,
    Registry,
)
from durabletask.internal.engine.registry import describe_registered
from durabletask.internal.engine.replay_audit import Mismatch, audit_history
from durabletask.serialization import DEFAULT_DATA_CONVERTER, DataConverter
from durabletask.task import NonDeterminismError
from durabletask.testing.history_json import load_history, to_history_events

__all__ = ["Mismatch", "ReplayResult", "Replayer"]

_LOGGER = logging.getLogger("durabletask.testing.replay")
if _LOGGER.level == logging.NOTSET:
    # After a mismatch the engine warns about every event it can no longer match; those
    # warnings follow from the reported mismatch. Set a level on this logger to see them.
    _LOGGER.setLevel(logging.ERROR)


@dataclass(frozen=True)
class ReplayResult:
    """What replaying one recorded history found.

    Attributes:
        source: The file replayed, or ``<history>`` for a history passed in memory.
        instance_id: The instance the history was recorded from.
        orchestrator: The orchestrator name in the history.
        mismatches: Every divergence between history and code, in history order (the
            first is the cause; later ones may follow from it). Empty when the code
            replays the history faithfully.
    """

    source: str
    instance_id: str
    orchestrator: str
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        """True when the code replays the history without any mismatch."""
        return not self.mismatches

    def __str__(self) -> str:
        head = f"{self.source}: orchestrator '{self.orchestrator}' (instance '{self.instance_id}')"
        if self.ok:
            return f"{head}: replays cleanly"
        count = len(self.mismatches)
        lines = [f"{head}: {count} mismatch{'es' if count != 1 else ''}"]
        lines.extend(f"  {mismatch}" for mismatch in self.mismatches)
        return "\n".join(lines)

    def raise_if_mismatched(self) -> None:
        """Raise if the code does not replay the history (for use in tests).

        Raises:
            NonDeterminismError: There is at least one mismatch; the message lists them all.
        """
        if not self.ok:
            raise NonDeterminismError(str(self))


class Replayer:
    """Replays recorded orchestration histories against orchestrator code, without a sidecar.

    Args:
        orchestrators: Orchestrator functions (generator or ``async def``), registered under
            their ``__name__`` as the worker does; add others with :meth:`add_orchestrator`.
        data_converter: The converter the worker uses (the default JSON one otherwise).
        maximum_timer_interval: The worker's longest single timer, if it is not the
            default (long timers are recorded as chunks of this length).
    """

    def __init__(
        self,
        orchestrators: Iterable[Callable[..., Any]] = (),
        *,
        data_converter: DataConverter = DEFAULT_DATA_CONVERTER,
        maximum_timer_interval: timedelta | None = DEFAULT_MAXIMUM_TIMER_INTERVAL,
    ) -> None:
        self._registry = Registry()
        self._executor = OrchestrationExecutor(
            self._registry, data_converter=data_converter,
            maximum_timer_interval=maximum_timer_interval, logger=_LOGGER,
        )
        for fn in orchestrators:
            self.add_orchestrator(fn)

    def add_orchestrator(self, fn: Callable[..., Any], name: str | None = None) -> str:
        """Register an orchestrator under ``name`` (default its ``__name__``); returns it.

        Raises:
            ValueError: The name is taken, or cannot be inferred (a lambda).
            TypeError: ``fn`` cannot run as an orchestrator.
        """
        return self._registry.add_orchestrator(fn, name)

    @property
    def orchestrator_names(self) -> list[str]:
        """The registered orchestrator names, sorted."""
        return self._registry.orchestrator_names

    def replay(self, history: Iterable[Any], *, source: str = "<history>") -> ReplayResult:
        """Replay one execution's history, oldest event first.

        Args:
            history: The events: dicts of either JSON shape, ``history.HistoryEvent``
                objects from ``get_orchestration_history``, or wire events.
            source: Where the history came from, for the report.

        Raises:
            HistoryFormatError: ``history`` is not a list of events.
            OrchestrationStateError: The history has no ``executionStarted`` event.
            OrchestratorNotRegisteredError: The history's orchestrator is not registered.
        """
        events = to_history_events(history)
        try:
            audit = audit_history(self._executor, events)
        except OrchestratorNotRegisteredError as exc:
            raise OrchestratorNotRegisteredError(
                f"{source}: {_first_sentence(str(exc))} Registered with the replayer: "
                f"{describe_registered(self.orchestrator_names)}."
            ) from exc
        return ReplayResult(source, audit.instance_id, audit.orchestrator, audit.mismatches)

    def replay_file(self, path: str | Path) -> ReplayResult:
        """Replay the history JSON file at ``path`` (see :meth:`replay`).

        Raises:
            HistoryFormatError: The file is not a history.
            OSError: The file cannot be read.
            OrchestrationStateError: The history has no ``executionStarted`` event.
            OrchestratorNotRegisteredError: The history's orchestrator is not registered.
        """
        return self.replay(load_history(path), source=str(path))


def _first_sentence(message: str) -> str:
    return message.split(". ", 1)[0] + "."
