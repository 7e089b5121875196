"""Ending child processes in bounded steps: ask, SIGTERM, SIGKILL; every one is reaped."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

_logger = logging.getLogger("durabletask.worker")


@dataclass(frozen=True)
class ReapSteps:
    """How long each step of :func:`reap` waits for the children to exit."""

    ask_seconds: float = 1.0
    terminate_seconds: float = 1.0
    kill_seconds: float = 1.0

    @property
    def bound(self) -> float:
        """The longest :func:`reap` takes."""
        return self.ask_seconds + self.terminate_seconds + self.kill_seconds


def reap(processes: Sequence[BaseProcess], steps: ReapSteps, *, asked: bool) -> None:
    """Wait for ``processes`` to exit, escalating to SIGTERM then SIGKILL; join them all.

    Args:
        processes: Started children of this process.
        steps: The bound of each step.
        asked: True when the children were asked to exit (then the first step waits for
            them); False skips straight to SIGTERM.
    """
    alive = list(processes)
    if asked:
        alive = _wait_exit(alive, steps.ask_seconds)
    for signal_them, seconds in ((_terminate, steps.terminate_seconds),
                                 (_kill, steps.kill_seconds)):
        if not alive:
            break
        for process in alive:
            signal_them(process)
        alive = _wait_exit(alive, seconds)
    for process in processes:
        process.join(0)
        if process.exitcode is None:
            _logger.error("activity process %s did not exit after SIGKILL", process.pid)


def _terminate(process: BaseProcess) -> None:
    process.terminate()


def _kill(process: BaseProcess) -> None:
    process.kill()


def _wait_exit(processes: list[BaseProcess], seconds: float) -> list[BaseProcess]:
    """Wait up to ``seconds`` for ``processes`` to exit; return those still running."""
    deadline = time.monotonic() + seconds
    alive = [p for p in processes if p.exitcode is None]
    while alive:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        wait([p.sentinel for p in alive], remaining)
        alive = [p for p in alive if p.exitcode is None]
    return alive
